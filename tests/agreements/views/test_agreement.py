"""The register, the agreement page and the confirmation step of every action, through Django's test client.

The matrix covers every page, every role and agreements in four states. Each POST in it runs in a savepoint
that is rolled back, so every cell starts from the same register.
"""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpResponse
from django.urls import include, path, resolve
from django.utils import timezone

from agencies.choices import Role
from agreements import decisions, services
from agreements.choices import AgreementStatus, VersionState
from agreements.models import Agreement
from agreements.selectors import RegisterPaginator
from audit.choices import AuditAction
from audit.models import AuditEvent
from audit.services import record
from tests.agreements.builders import build_agreement
from tests.clients import page as browser
from tests.factories import AgencyFactory, DatasetFactory, agreement_factory, member

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER
STATES = ("draft", "submitted", "active", "suspended")
ROLES = ("anonymous", "superuser", "lead_officer", "party_officer", "party_frontline", "party_auditor", "outsider")
ACTIONS = ("submit", "sign", "reject", "amend", "suspend", "reinstate", "revoke")


def _all(status):
    return dict.fromkeys(STATES, status)


def _row(**by_role):
    """{role: {state: status}} from role=(draft, submitted, active, suspended) or role=status; `_` is the default."""
    default = by_role.pop("_", None)
    table = {}
    for role in ROLES:
        value = by_role.get(role, default)
        if role == "anonymous":
            value = 302
        table[role] = dict(zip(STATES, value, strict=True)) if isinstance(value, tuple) else _all(value)
    return table


# An outsider sees the summary of an active agreement (so may not act on it: 403) and nothing else (404).
OUT = (404, 404, 403, 404)
# page: {role: {state: status}}
MATRIX = {
    "list": _row(_=200),
    "detail": _row(_=200, outsider=(404, 404, 200, 404)),
    # Only the lead agency's officers submit and amend.
    "submit GET": _row(_=403, superuser=(200, 409, 409, 409), lead_officer=(200, 409, 409, 409), outsider=OUT),
    "submit POST": _row(_=403, superuser=(302, 409, 409, 409), lead_officer=(302, 409, 409, 409), outsider=OUT),
    "amend GET": _row(_=403, superuser=(409, 409, 200, 200), lead_officer=(409, 409, 200, 200), outsider=OUT),
    "amend POST": _row(_=403, superuser=(409, 409, 302, 302), lead_officer=(409, 409, 302, 302), outsider=OUT),
    # Each party's officers sign for their party; the lead's officer here last edited it, so a second must sign.
    "sign GET": _row(_=403, superuser=(409, 200, 409, 409), lead_officer=(409, 403, 409, 409),
                     party_officer=(409, 200, 409, 409), outsider=OUT),
    # The superuser may sign for either party, so must say which (400 with the question).
    "sign POST": _row(_=403, superuser=(409, 400, 409, 409), lead_officer=(409, 403, 409, 409),
                      party_officer=(409, 302, 409, 409), outsider=OUT),
    "reject GET": _row(_=403, superuser=(409, 200, 409, 409), lead_officer=(409, 200, 409, 409),
                       party_officer=(409, 200, 409, 409), outsider=OUT),
    "reject POST": _row(_=403, superuser=(409, 302, 409, 409), lead_officer=(409, 302, 409, 409),
                        party_officer=(409, 302, 409, 409), outsider=OUT),
    # The officers of any party to the version in force suspend and revoke.
    **{
        f"{action} {method}": _row(_=403, outsider=OUT, **dict.fromkeys(
            ("superuser", "lead_officer", "party_officer"),
            tuple(ok if allowed else 409 for allowed in allowed_in)))
        for action, allowed_in in (("suspend", (False, False, True, False)),
                                   ("revoke", (False, False, True, True)))
        for method, ok in (("GET", 200), ("POST", 302))
    },
    # Only the agency that suspended (the NHS trust, here) reinstates: the lead's officer may not lift it.
    **{
        f"reinstate {method}": _row(_=403, outsider=OUT, superuser=(409, 409, 409, ok),
                                    party_officer=(409, 409, 409, ok), lead_officer=(409, 409, 409, 403))
        for method, ok in (("GET", 200), ("POST", 302))
    },
}
EVENT_OF = {
    "submit": AuditAction.AGREEMENT_SUBMITTED, "sign": AuditAction.AGREEMENT_APPROVED,
    "reject": AuditAction.AGREEMENT_REJECTED, "amend": AuditAction.AGREEMENT_AMENDED,
    "suspend": AuditAction.AGREEMENT_SUSPENDED, "reinstate": AuditAction.AGREEMENT_REINSTATED,
    "revoke": AuditAction.AGREEMENT_REVOKED,
}


class World:
    """A lead council, an NHS trust that provides to it, an unrelated fire service; one agreement per state."""

    def __init__(self, region):
        self.region = region
        self.agreements = {
            "draft": agreement_factory(title="A draft"),
            "submitted": agreement_factory(state="submitted", title="Awaiting signatures"),
            "active": agreement_factory(state="active", title="In force"),
        }
        suspended = agreement_factory(state="active", title="On hold")
        services.agreement_suspend(actor=member(region.nhs, GO), agreement=suspended, reason="Data breach review")
        self.agreements["suspended"] = Agreement.objects.get(pk=suspended.pk)
        self.users = {
            "anonymous": None,
            "superuser": get_user_model().objects.create(username="root", is_superuser=True),
            "lead_officer": member(region.council, GO),  # the drafter: the last editor of every version
            "party_officer": member(region.nhs, GO),
            "party_frontline": member(region.nhs, Role.FRONTLINE),
            "party_auditor": member(region.nhs, Role.AUDITOR),
            "outsider": member(region.fire, GO),
        }


class _WithEditPage:
    """Our pages plus a stand-in for the edit form, which another branch builds, to test the link to it."""

    urlpatterns = [
        path("agreements/<str:reference>/edit/", lambda request, reference: HttpResponse("edit"),
             name="agreement-edit"),
        path("", include("sharing_registry.urls")),
    ]


@pytest.fixture
def edit_page(settings):
    settings.ROOT_URLCONF = _WithEditPage


@pytest.fixture
def world(region):
    return World(region)


def _request(client, page: str, reference: str):
    if page == "list":
        return client.get("/agreements/")
    if page == "detail":
        return client.get(f"/agreements/{reference}/")
    action, method = page.split()
    url = f"/agreements/{reference}/{action}/"
    # As a person fills the form: a reason where one is asked for, the declaration where one signs.
    return client.get(url) if method == "GET" else client.post(url, {"reason": "Checked with the DPO",
                                                                     "declaration": "yes"})


class PageMatrixTests:
    @pytest.mark.parametrize("role", ROLES)
    def test_every_page_in_every_state(self, world, role):
        client = browser(world.users[role])
        wrong = []
        for page, by_role in MATRIX.items():
            for state, expected in by_role[role].items():
                agreement = world.agreements[state]
                with transaction.atomic():
                    before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
                    response = _request(client, page, agreement.reference)
                    changed = AuditEvent.objects.filter(seq__gt=before).exclude(
                        action__in=[AuditAction.AGREEMENT_VIEWED, AuditAction.AGREEMENT_LISTED]
                    ).values_list("action", flat=True)
                    changed = list(changed)
                    transaction.set_rollback(True)
                if response.status_code != expected:
                    wrong.append(f"{page} on the {state} agreement: {response.status_code}, expected {expected}")
                    continue
                if expected == 302 and role == "anonymous":
                    assert response["Location"].startswith("/accounts/login/?next=")
                elif expected == 302:
                    assert response["Location"] == f"/agreements/{agreement.reference}/"
                    assert EVENT_OF[page.split()[0]] in changed, (page, state, changed)
                elif page.endswith("POST"):
                    # A refusal changes nothing; a 403 or a 404 is itself recorded, as access.denied.
                    denied = [AuditAction.ACCESS_DENIED] if expected in (403, 404) else []
                    assert changed == denied, (page, state, changed)
                if expected == 403:
                    assert "You cannot do this" in response.content.decode()
                if expected == 409:
                    assert "This cannot be done now" in response.content.decode()
        assert wrong == []

    def test_lists_show_only_what_each_role_may_see(self, world, region):
        probation = AgencyFactory(code="probation", name="Probation Service")
        other_draft = agreement_factory(lead=region.police, title="Someone else's draft", flows=[
            {"dataset": region.incidents, "provider": region.police, "recipient": probation,
             "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}])
        every = {a.reference for a in world.agreements.values()} | {other_draft.reference}

        def listed(role):
            html = browser(world.users[role]).get("/agreements/").content.decode()
            table = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
            return {ref for ref in every if ref in table}, table

        ours = {a.reference for a in world.agreements.values()}
        for role in ("party_officer", "party_frontline", "party_auditor", "lead_officer"):
            seen, table = listed(role)
            assert seen == ours, role
            assert "Someone else" not in table
        seen, table = listed("outsider")
        assert seen == {world.agreements["active"].reference}  # the summary of an active agreement only
        assert "A draft" not in table and "On hold" not in table
        assert listed("superuser")[0] == every

    def test_only_the_actions_the_user_may_take_are_offered(self, world):
        def buttons(role, state):
            html = browser(world.users[role]).get(f"/agreements/{world.agreements[state].reference}/").content
            block = html.decode().split('id="actions"', 1)
            return re.findall(r'role="button"[^>]*>([^<]+)</a>', block[1].split("</div>", 1)[0]) if len(block) > 1 \
                else []

        copy = "Copy into a new draft"  # the lead agency's officers may copy an agreement in any state
        assert buttons("party_officer", "submitted") == ["Sign", "Reject", "Ask for changes"]
        # the last editor may not sign for the lead
        assert buttons("lead_officer", "submitted") == ["Reject", "Withdraw to change it", "Ask for changes", copy]
        review = "Confirm the review"  # any party of the version in force, while it is in force or suspended
        assert buttons("lead_officer", "active") == ["Start an amendment", "Suspend", "Revoke", copy, review]
        assert buttons("party_officer", "active") == ["Suspend", "Revoke", review]
        assert buttons("party_officer", "suspended") == ["Reinstate", "Revoke", review]
        assert buttons("lead_officer", "draft") == ["Edit draft", "Send for signature", copy]
        assert buttons("party_officer", "draft") == []  # only the lead agency edits and sends a draft
        for role in ("party_frontline", "party_auditor", "outsider"):
            assert buttons(role, "active") == []


class RegisterPageTests:
    def test_past_the_cap_it_says_more_than_and_still_pages_on(self, client, region, monkeypatch):
        monkeypatch.setattr(RegisterPaginator, "cap", 2)
        monkeypatch.setattr("agreements.views.register.PAGE_SIZE", 1)
        made = [agreement_factory(state="active").reference for _ in range(4)]
        client.force_login(member(region.council, Role.FRONTLINE))
        html = client.get("/agreements/").content.decode()
        assert "More than 2 agreements, page 1" in html and made[-1] in html
        assert 'href="?page=2"' in html and 'href="?page=3"' not in html  # as far as the next page: no last
        html = client.get("/agreements/", {"page": 4}).content.decode()
        assert "More than 2 agreements, page 4" in html and made[0] in html and 'href="?page=5"' not in html
        assert made[-1] in client.get("/agreements/", {"page": 9}).content.decode()  # past the end: the first
        listed = AuditEvent.objects.filter(action="agreement.listed").order_by("seq").first()
        assert listed.detail == {"filters": {}, "count": 2, "count_exact": False}

    def test_page_last_counts_every_agreement_and_shows_the_last_page(self, client, region, monkeypatch):
        monkeypatch.setattr(RegisterPaginator, "cap", 2)
        monkeypatch.setattr("agreements.views.register.PAGE_SIZE", 2)
        made = [agreement_factory(state="active").reference for _ in range(5)]
        client.force_login(member(region.council, Role.FRONTLINE))
        html = client.get("/agreements/", {"page": "last"}).content.decode()
        assert "5 agreements, page 3 of 3" in html and made[0] in html and made[1] not in html
        assert 'href="?page=2"' in html and 'href="?page=4"' not in html
        listed = AuditEvent.objects.filter(action="agreement.listed").order_by("-seq").first()
        assert listed.detail == {"filters": {}, "count": 5}

    def test_search_and_filters(self, client, region):
        police_data = region.incidents
        one = agreement_factory(state="active", title="Hospital discharge")
        two = agreement_factory(state="active", title="Domestic abuse referrals", flows=[
            {"dataset": police_data, "provider": region.police, "recipient": region.council,
             "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18", "crime-and-disorder-act-1998-s115"]}
        ])
        client.force_login(member(region.council, Role.FRONTLINE))

        def found(**query):
            html = client.get("/agreements/", query).content.decode()
            return {a.reference for a in (one, two) if a.reference in html}

        assert found() == {one.reference, two.reference}
        assert found(q="discharge") == {one.reference}
        assert found(q=two.reference) == {two.reference}
        assert found(agency="police") == {two.reference}
        assert found(agency="NHS Provider") == {one.reference}  # by name as well as code
        assert found(agency="nhs") == {one.reference}  # or the one name that holds what was typed
        assert found(dataset="domestic-incidents") == {two.reference}
        assert found(legal_basis="crime-and-disorder-act-1998-s115") == {two.reference}
        assert found(status="active") == {one.reference, two.reference}
        assert found(status="suspended") == set()
        html = client.get("/agreements/", {"agency": "police", "q": "abuse"}).content.decode()
        assert 'value="police"' in html and 'value="abuse"' in html  # the filters are kept
        assert "1 agreement found" in html

    def test_a_name_part_that_fits_several_agencies_names_them(self, client, region):
        client.force_login(member(region.council, Role.FRONTLINE))
        response = client.get("/agreements/", {"agency": "i"})
        assert response.status_code == 400
        assert ("More than one agency has “i” in its name: Fire Service (fire), Lead Council (lead-council), "
                "NHS Provider (nhs-provider), Police (police). Enter more of the name, or its code"
                in response.content.decode())

    @pytest.mark.parametrize(("query", "message", "field"), [
        ({"status": "banana"}, "Choose a status from the list", "id_status"),
        ({"legal_basis": "magic"}, "Choose a legal basis from the list", "id_legal_basis"),
        ({"agency": "Atlantis"}, "There is no agency called or coded “Atlantis”", "id_agency"),
        ({"dataset": "nothing"}, "There is no dataset called or coded “nothing”", "id_dataset"),
        ({"q": "x" * 201}, "Keep the search to 200 characters or fewer", "id_q"),
    ])
    def test_a_bad_filter_gets_an_error_summary_not_a_500(self, client, region, query, message, field):
        client.force_login(member(region.council, Role.FRONTLINE))
        response = client.get("/agreements/", query)
        html = response.content.decode()
        assert response.status_code == 400
        assert '<h2 class="govuk-error-summary__title">There is a problem</h2>' in html
        assert f'<a href="#{field}">{message}' in html
        assert f'id="{field}-error"' in html
        assert not AuditEvent.objects.filter(action=AuditAction.AGREEMENT_LISTED).exists()

    def test_the_list_is_recorded_with_its_filters(self, client, region):
        agreement_factory(state="active")
        user = member(region.nhs, Role.AUDITOR)
        client.force_login(user)
        client.get("/agreements/", {"status": "active", "q": "", "agency": "lead-council"})
        event = AuditEvent.objects.get(action=AuditAction.AGREEMENT_LISTED)
        assert event.actor == user
        assert event.detail == {"filters": {"status": "active", "agency": "lead-council"}, "count": 1}

    def test_pages_keep_the_filters(self, client, region):
        for _ in range(26):
            build_agreement(provider=region.council)
        client.force_login(member(region.council, Role.FRONTLINE))
        html = client.get("/agreements/", {"status": "active"}).content.decode()
        assert "26 agreements found, page 1 of 2" in html
        assert 'href="?status=active&amp;page=2" rel="next"' in html
        second = client.get("/agreements/", {"status": "active", "page": "2"}).content.decode()
        assert second.count('<tr class="govuk-table__row">') == 2  # the header and one agreement
        assert client.get("/agreements/", {"page": "banana"}).status_code == 200

    @pytest.mark.parametrize("count", [3, 30])
    def test_the_register_costs_the_same_queries_for_3_or_30_rows(self, client, region, count,
                                                                   django_assert_max_num_queries):
        for _ in range(count):
            build_agreement(provider=region.council, bases=("ukgdpr-6-1-e", "ukgdpr-9-2-h"))
        client.force_login(member(region.council, GO))
        # session, user, legal bases, the agency filter, count, page, parties/flows/bases of both versions (6),
        # the list event (3: savepoint, insert, release), roles (navigation), saving the session (3)
        with django_assert_max_num_queries(19):
            response = client.get("/agreements/", {"agency": region.council.code})
        assert response.status_code == 200
        assert response.content.decode().count("Sharing for safer homes") == min(count, 25)

    def test_new_is_never_taken_for_a_reference(self):
        assert resolve("/agreements/ISA-2026-0042/").view_name == "agreements:detail"
        assert resolve("/agreements/new/").view_name == "agreements:create"


class AgreementPageTests:
    def test_a_signed_agreement_that_has_not_started_says_so(self, client, region):
        today = timezone.localdate()
        later = agreement_factory(state="active", start_date=today + dt.timedelta(days=30),
                                  end_date=today + dt.timedelta(days=400), review_date=today + dt.timedelta(days=200))
        client.force_login(member(region.council, Role.FRONTLINE))
        html = client.get(f"/agreements/{later.reference}/").content.decode()
        starts = later.in_force_version.start_date
        assert f"does not start until {starts:%-d %B %Y}. Until then, a check answers no." in " ".join(html.split())

    def test_a_party_member_sees_the_full_record(self, client, region):
        agreement = agreement_factory(state="submitted", title="Hospital discharge")
        services.agreement_approve(actor=member(region.nhs, GO), agreement=agreement)
        client.force_login(member(region.council, Role.AUDITOR))
        response = client.get(f"/agreements/{agreement.reference}/")
        html = response.content.decode()
        assert response.status_code == 200
        assert 'id="starts-later"' not in html
        signatures = html.split('id="signatures"', 1)[1].split("</table>", 1)[0]
        # No name on record: the username stands in for it (see SignatureTests for names and job titles).
        assert "Signed for NHS Provider by nhs-provider-governance_officer, on " in signatures
        assert "Lead Council (lead)" in signatures and "Not signed yet" in signatures
        assert "Discharge Summaries, from NHS Provider to Lead Council" in html
        assert "UK GDPR Article 9(2)(h)" in html
        from agreements.models import LegalBasis

        assert LegalBasis.objects.get(code="ukgdpr-9-2-h").description in html  # in plain English
        assert f'href="/agreements/{agreement.reference}/print/"' in html
        timeline = html.split('id="timeline"', 1)[1].split("</ol>", 1)[0]
        assert timeline.index("Signed version 1 for NHS Provider") < timeline.index("Sent version 1 for signature")
        assert "Drafted version 1" in timeline and "agreement.viewed" not in timeline
        event = AuditEvent.objects.get(action=AuditAction.AGREEMENT_VIEWED)
        assert event.detail["page"] == "detail" and event.object_ref == agreement.reference

    def test_an_outsider_sees_only_the_summary_of_an_active_agreement(self, client, region):
        agreement = agreement_factory(state="active", title="Hospital discharge", purpose="Plan care after hospital")
        services.agreement_amend(actor=member(region.council, GO), agreement=agreement)
        services.agreement_update(actor=member(region.council, GO), agreement=agreement, title="Secret new title")
        client.force_login(member(region.fire, Role.FRONTLINE))
        html = client.get(f"/agreements/{agreement.reference}/").content.decode()
        assert "Hospital discharge" in html and "Plan care after hospital" in html
        assert "NHS Provider" in html and "Lead Council (lead agency)" in html
        assert "UK GDPR Article 6(1)(e)" in html
        for private in ("Secret new title", 'id="signatures"', 'id="timeline"', 'id="usage"', "/print/",
                        "version 2", "governance_officer"):
            assert private not in html, private
        assert "public summary" in html

    def test_an_amendment_in_draft_leaves_the_signed_version_in_force(self, client, region):
        agreement = agreement_factory(state="active")
        services.agreement_amend(actor=member(region.council, GO), agreement=agreement)
        client.force_login(member(region.nhs, GO))
        html = client.get(f"/agreements/{agreement.reference}/").content.decode()
        amendment = html.split('id="amendment"', 1)[1].split("</div>", 1)[0]
        assert "Version 2 is an amendment, draft." in amendment
        assert "Version 1, signed by every party, stays in force until every party signs version 2." in amendment
        signatures = html.split('id="signatures"', 1)[1].split("</table>", 1)[0]
        assert "Version 1 (in force)" in signatures and "Version 1: Signed for NHS Provider by" in signatures
        assert "Not signed</strong>" in signatures

    def test_usage_counts_checks_in_the_last_30_days_and_ever(self, client, region):
        agreement = agreement_factory(state="active")
        asked = {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "discharge-summaries"}
        decisions.check(**asked)
        decisions.check(**asked)
        decisions.check(**asked, data_items=["name", "blood group"])  # not covered: a "no" naming the agreement
        decisions.check(provider="police", recipient="fire", dataset="domestic-incidents")  # another question
        # Two checks from 45 days ago: the log is append-only, so they are written with their time.
        old = timezone.now() - dt.timedelta(days=45)
        for action in (AuditAction.CHECK_ALLOWED, AuditAction.CHECK_DENIED):
            AuditEvent.objects.create(action=action, object_type="agreement", object_ref=agreement.reference,
                                      at=old, actor_name="system")
        assert AuditEvent.objects.filter(object_ref=agreement.reference, action__startswith="check.").count() == 5
        client.force_login(member(region.nhs, Role.AUDITOR))
        html = client.get(f"/agreements/{agreement.reference}/").content.decode()
        usage = html.split('id="usage"', 1)[1].split("</table>", 1)[0]
        cells = re.findall(r'numeric">(\d+)</td>', usage)
        assert cells == ["3", "2", "1", "5", "3", "2"]  # last 30 days: checks, yes, no; then all time

    def test_the_history_shows_the_latest_50_events(self, client, region):
        agreement = agreement_factory(state="active")
        for number in range(60):
            record(action=AuditAction.AGREEMENT_UPDATED, object_type="agreement", object_ref=agreement.reference,
                   detail={"version": number})
        client.force_login(member(region.nhs, GO))
        timeline = client.get(f"/agreements/{agreement.reference}/").content.decode().split('id="timeline"', 1)[1]
        assert timeline.split("</ol>", 1)[0].count("<li") == 50
        assert "Changed the draft of version 59" in timeline and "version 10<" in timeline
        assert "version 9<" not in timeline
        assert "The latest 50 events, newest first" in timeline

    @pytest.mark.usefixtures("edit_page")
    def test_edit_draft_is_offered_to_the_lead_officers_while_it_is_a_draft(self, client, region):
        draft = agreement_factory()
        submitted = agreement_factory(state="submitted")
        edit = f'href="/agreements/{draft.reference}/edit/" role="button"'
        client.force_login(member(region.council, GO))
        assert edit in client.get(f"/agreements/{draft.reference}/").content.decode()
        assert "/edit/" not in client.get(f"/agreements/{submitted.reference}/").content.decode()
        client.force_login(member(region.nhs, GO))
        assert "/edit/" not in client.get(f"/agreements/{draft.reference}/").content.decode()

    def test_a_missing_agreement_is_404(self, client, region):
        client.force_login(member(region.nhs, GO))
        assert client.get("/agreements/ISA-1999-0001/").status_code == 404
        assert client.get("/agreements/ISA-1999-0001/suspend/").status_code == 404

    @pytest.mark.parametrize(("flows", "events"), [(1, 3), (6, 30)])
    def test_the_page_costs_the_same_queries_however_big(self, client, region, flows, events,
                                                         django_assert_max_num_queries):
        datasets = [DatasetFactory(owner=region.nhs) for _ in range(flows)]
        agreement = agreement_factory(state="active", flows=[
            {"dataset": d, "provider": region.nhs, "recipient": region.council,
             "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]} for d in datasets
        ])
        for _ in range(events):
            record(action=AuditAction.AGREEMENT_UPDATED, object_type="agreement", object_ref=agreement.reference,
                   detail={"version": 1})
            record(action=AuditAction.CHECK_ALLOWED, object_type="agreement", object_ref=agreement.reference)
        client.force_login(member(region.nhs, GO))
        # session, user, the agreement, parties/flows/bases of both versions (6), permissions, timeline, usage,
        # the viewed event (3: savepoint, insert, release), roles (navigation), saving the session (3)
        with django_assert_max_num_queries(19):
            response = client.get(f"/agreements/{agreement.reference}/")
        html = response.content.decode()
        assert response.status_code == 200
        assert html.count("Changed the draft of version 1") == events
        assert html.count('class="govuk-summary-card__title"') == flows
        usage = html.split('id="usage"', 1)[1].split("</table>", 1)[0]
        assert re.findall(r'numeric">(\d+)</td>', usage)[3] == str(events)


class ActionPageTests:
    def test_suspend_asks_first_then_suspends_with_a_banner(self, client, region):
        agreement = agreement_factory(state="active")
        officer = member(region.nhs, GO)
        client.force_login(officer)
        url = f"/agreements/{agreement.reference}/suspend/"
        confirm = client.get(url).content.decode()
        assert "every “Can I share?” check that relies on it will answer no" in confirm
        assert '<label class="govuk-label govuk-label--m" for="reason">Why are you suspending it?</label>' in confirm
        assert Agreement.objects.get(pk=agreement.pk).status == AgreementStatus.ACTIVE  # a GET changes nothing
        response = client.post(url, {"reason": "Data breach under investigation"}, follow=True)
        html = response.content.decode()
        assert response.redirect_chain == [(f"/agreements/{agreement.reference}/", 302)]
        assert "govuk-notification-banner--success" in html
        assert f"{agreement.reference} is suspended. Checks will say no until it is reinstated." in html
        assert "Reason: Data breach under investigation" in html.split('id="timeline"', 1)[1]
        event = AuditEvent.objects.get(action=AuditAction.AGREEMENT_SUSPENDED)
        assert event.actor == officer and event.detail["reason"] == "Data breach under investigation"

    @pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
    def test_a_missing_or_long_reason_is_an_error_and_the_text_is_kept(self, client, region, reason):
        agreement = agreement_factory(state="active")
        client.force_login(member(region.nhs, GO))
        response = client.post(f"/agreements/{agreement.reference}/revoke/", {"reason": reason})
        html = response.content.decode()
        assert response.status_code == 400
        assert "There is a problem" in html and '<a href="#reason">' in html
        assert 'aria-describedby="reason-info reason-hint reason-error"' in html
        assert f">{reason}</textarea>" in html
        assert Agreement.objects.get(pk=agreement.pk).status == AgreementStatus.ACTIVE
        assert not AuditEvent.objects.filter(action=AuditAction.AGREEMENT_REVOKED).exists()

    def test_an_action_from_the_wrong_state_is_explained_not_a_500(self, client, region):
        agreement = agreement_factory(state="active")
        officer = member(region.nhs, GO)
        services.agreement_suspend(actor=officer, agreement=agreement, reason="Pause")
        client.force_login(officer)
        response = client.post(f"/agreements/{agreement.reference}/suspend/", {"reason": "Again"})
        assert response.status_code == 409
        assert f"{agreement.reference} is suspended: only an active agreement can be suspended." in \
            response.content.decode()

    def test_an_officer_of_several_parties_chooses_which_to_sign_for(self, client, region):
        agreement = agreement_factory(state="submitted")
        both = member(region.nhs, GO, username="both")
        member(region.council, GO, username="both")
        client.force_login(both)
        url = f"/agreements/{agreement.reference}/sign/"
        form = client.get(url).content.decode()
        assert "Which agency are you signing for?" in form
        assert 'id="agency" name="agency" type="radio" value="lead-council"' in form
        assert 'id="agency-2" name="agency" type="radio" value="nhs-provider"' in form
        missing = client.post(url, {})
        assert missing.status_code == 400
        assert "Say which agency you are signing for" in missing.content.decode()
        response = client.post(url, {"agency": "nhs-provider", "declaration": "yes"}, follow=True)
        assert "You signed version 1 of" in response.content.decode()
        event = AuditEvent.objects.get(action=AuditAction.AGREEMENT_APPROVED)
        assert event.detail["party"] == "nhs-provider" and event.actor == both
        response = client.post(url, {"agency": "lead-council", "declaration": "yes"}, follow=True)
        assert "Every party has now signed: version 1 is in force." in response.content.decode()
        assert Agreement.objects.get(pk=agreement.pk).status == AgreementStatus.ACTIVE
        assert AuditEvent.objects.filter(action=AuditAction.AGREEMENT_ACTIVATED).count() == 1

    def test_the_last_editor_is_told_a_second_officer_must_sign(self, client, region):
        agreement = agreement_factory(state="submitted")
        client.force_login(member(region.council, GO))  # the drafter
        response = client.get(f"/agreements/{agreement.reference}/sign/")
        assert response.status_code == 403
        assert "another governance officer of Lead Council must sign it" in response.content.decode()

    def test_amend_then_submit_the_new_version(self, client, region):
        agreement = agreement_factory(state="active")
        officer = member(region.council, GO)
        client.force_login(officer)
        page = client.get(f"/agreements/{agreement.reference}/amend/").content.decode()
        assert "A new draft, version 2, is made as a copy of version 1." in page
        response = client.post(f"/agreements/{agreement.reference}/amend/", follow=True)
        assert "Version 2 of" in response.content.decode() and "Version 1 stays in force" in response.content.decode()
        fresh = Agreement.objects.get(pk=agreement.pk)
        assert fresh.current_version.number == 2 and fresh.current_version.state == VersionState.DRAFT
        assert fresh.in_force_version.number == 1 and fresh.status == AgreementStatus.ACTIVE
        client.post(f"/agreements/{agreement.reference}/submit/")
        assert Agreement.objects.get(pk=agreement.pk).current_version.state == VersionState.SUBMITTED
        actions = list(AuditEvent.objects.filter(object_ref=agreement.reference, actor=officer)
                       .values_list("action", flat=True))
        assert AuditAction.AGREEMENT_AMENDED in actions and AuditAction.AGREEMENT_SUBMITTED in actions

    def test_reject_and_reinstate_record_their_reasons(self, client, region):
        submitted = agreement_factory(state="submitted")
        officer = member(region.nhs, GO)
        client.force_login(officer)
        client.post(f"/agreements/{submitted.reference}/reject/", {"reason": "Wrong dataset"})
        assert Agreement.objects.get(pk=submitted.pk).status == AgreementStatus.REJECTED
        assert AuditEvent.objects.get(action=AuditAction.AGREEMENT_REJECTED).detail["reason"] == "Wrong dataset"
        active = agreement_factory(state="active")
        services.agreement_suspend(actor=officer, agreement=active, reason="Pause")
        client.post(f"/agreements/{active.reference}/reinstate/", {"reason": "Fixed"})
        assert Agreement.objects.get(pk=active.pk).status == AgreementStatus.ACTIVE
        assert AuditEvent.objects.get(action=AuditAction.AGREEMENT_REINSTATED).detail["reason"] == "Fixed"

    def test_put_is_not_allowed(self, client, region):
        agreement = agreement_factory(state="active")
        client.force_login(member(region.nhs, GO))
        assert client.put(f"/agreements/{agreement.reference}/suspend/").status_code == 405


class NavigationLinkTests:
    def test_navigation_and_dashboard_link_to_the_register_and_agreement_pages(self, client):
        agency = AgencyFactory(name="Salford Council")
        officer = member(agency, GO)
        waiting = build_agreement(provider=agency, status=AgreementStatus.SUBMITTED, title="Sign me")
        client.force_login(officer)
        html = client.get("/").content.decode()
        assert 'href="/agreements/"' in html
        assert f'<a class="govuk-link" href="/agreements/{waiting.reference}/">{waiting.reference}</a>' in html


class NotFoundPageTests:
    def test_404_is_the_govuk_page_even_with_debug_on(self, client, settings):
        """The embedded default runs with DEBUG on; Django's technical page would list every URL pattern."""
        settings.DEBUG = True
        client.force_login(member(AgencyFactory(), Role.FRONTLINE))
        for url in ("/agreements/NOPE/", "/agreements/ISA-2026-9999/", "/no-such-page/"):
            response = client.get(url)
            html = response.content.decode()
            assert response.status_code == 404, url
            assert '<h1 class="govuk-heading-xl">Page not found</h1>' in html, url
            assert "URLconf" not in html and "urlpatterns" not in html, url
        api = client.get("/api/v1/no-such-thing/")
        assert api.status_code == 404 and api.json() == {"detail": "Not found."}
        assert client.get("/agreements").status_code == 301  # a missing slash is still added first


class AuditClientAddressTests:
    def test_the_audit_log_records_the_connecting_address_not_a_forwarded_header(self, client, settings):
        client.force_login(member(AgencyFactory(), Role.FRONTLINE))
        client.get("/agreements/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.9")
        assert AuditEvent.objects.filter(action="agreement.listed").latest("seq").client_ip == "203.0.113.5"
        # Behind one trusted proxy, the address that proxy saw: the right-most entry, not the client's own words.
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        client.get("/agreements/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9, 192.0.2.44")
        assert AuditEvent.objects.filter(action="agreement.listed").latest("seq").client_ip == "192.0.2.44"


class SigningWarningTests:
    def test_the_agreement_page_and_the_printout_both_say_what_to_check_before_signing(self, client, region):
        agreement = agreement_factory(flows=[
            {"dataset": region.tenancies, "provider": region.council, "recipient": region.police,
             "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h"]},  # Article 9 for data that is not special category
        ])
        client.force_login(member(region.council, GO))
        for url in (f"/agreements/{agreement.reference}/", f"/agreements/{agreement.reference}/print/"):
            html = " ".join(client.get(url).content.decode().split())
            assert "Check before signing:" in html, url
            assert "an Article 9 condition is cited, but the dataset" in html, url
            assert "Council Tenancies" in html.split("Check before signing:", 1)[1].split("</ul>", 1)[0], url
