"""The lifecycle table, tested from the table itself: every action × every state × every kind of user.

For each cell the expected answer comes from the rule the table declares (its states and its authority) and the
world's facts (who is a party to which version). The API, the page and the service must all give that answer:
the API and the page the same status, the service the same refusal. Each POST runs in a savepoint that is rolled
back, so every cell starts from the same register.
"""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.choices import Role
from agreements import lifecycle, services
from agreements.choices import AgreementStatus, VersionState
from agreements.lifecycle import RULES, Action, Authority
from agreements.models import Agreement
from common.errors import Conflict
from tests.factories import member, sign_all

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER
C, N, P = "lead-council", "nhs-provider", "police"

# Each state of the world: the agreement's status and its current version's state, the parties of its current
# version and of the version in force. "dropping police" is an amendment that removes a party of the version in force.
WORLD = {
    "draft": (AgreementStatus.DRAFT, VersionState.DRAFT, {C, N}, None),
    "submitted": (AgreementStatus.SUBMITTED, VersionState.SUBMITTED, {C, N}, None),
    "active": (AgreementStatus.ACTIVE, VersionState.SIGNED, {C, N}, {C, N}),
    "suspended": (AgreementStatus.SUSPENDED, VersionState.SIGNED, {C, N}, {C, N}),
    "rejected": (AgreementStatus.REJECTED, VersionState.REJECTED, {C, N}, None),
    "revoked": (AgreementStatus.REVOKED, VersionState.SIGNED, {C, N}, {C, N}),
    "expired": (AgreementStatus.EXPIRED, VersionState.SIGNED, {C, N}, {C, N}),
    "amendment draft": (AgreementStatus.ACTIVE, VersionState.DRAFT, {C, N, P}, {C, N}),
    "amendment submitted": (AgreementStatus.ACTIVE, VersionState.SUBMITTED, {C, N, P}, {C, N}),
    "dropping police": (AgreementStatus.ACTIVE, VersionState.SUBMITTED, {C, N}, {C, N, P}),
}
SUSPENDED_BY = N
# Each kind of user: the agencies where they are a governance officer, and those where they hold any role.
USERS = {
    "superuser": (set(), set()),
    "drafter": ({C}, {C}),  # the lead's officer who drafted and last edited every version
    "second lead officer": ({C}, {C}),
    "nhs officer": ({N}, {N}),
    "police officer": ({P}, {P}),
    "nhs frontline": (set(), {N}),
    "nhs auditor": (set(), {N}),
    "outsider officer": ({"fire"}, {"fire"}),
}
AMENDING = {"amendment draft", "amendment submitted", "dropping police"}


def expected(action: Action, state: str, who: str) -> int:
    """The answer the table gives: 404 (not visible), 403 (not theirs), 409 (not now) or 200."""
    rule = RULES[action]
    status, version_state, current, in_force = WORLD[state]
    officer_of, member_of = USERS[who]
    superuser = who == "superuser"
    public = status == AgreementStatus.ACTIVE and action != Action.COMMENT  # a thread is not in the public summary
    if not (superuser or member_of & (current | (in_force or set())) or public):
        return 404
    authority = {
        Authority.LEAD: {C},
        Authority.SIGNATORIES: current,
        Authority.IN_FORCE_PARTIES: in_force or current,
        Authority.SUSPENDER: {SUSPENDED_BY} if status == AgreementStatus.SUSPENDED else in_force or current,
        Authority.VERSION_PARTIES: current,  # a comment on the current version
    }[rule.authority]
    if not (superuser or officer_of & authority):
        return 403
    if status not in rule.statuses or (rule.version_states and version_state not in rule.version_states):
        return 409
    if action == Action.AMEND and state in AMENDING:
        return 409  # an amendment is already being prepared
    if action == Action.SIGN and who == "drafter":
        return 403  # the last editor may not give the lead's signature, and it is the only one theirs
    return 200


class World:
    def __init__(self, region):
        self.region = region
        self.users = {
            "superuser": get_user_model().objects.create(username="root", is_superuser=True),
            "drafter": member(region.council, GO),
            "second lead officer": member(region.council, GO, username="lead-council-second-officer"),
            "nhs officer": member(region.nhs, GO),
            "police officer": member(region.police, GO),
            "nhs frontline": member(region.nhs, Role.FRONTLINE),
            "nhs auditor": member(region.nhs, Role.AUDITOR),
            "outsider officer": member(region.fire, GO),
        }
        drafter, nhs = self.users["drafter"], self.users["nhs officer"]
        police_flow = {"dataset": "domestic-incidents", "provider": P, "recipient": C,
                       "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}

        def make(state: str, extra_flows=()) -> Agreement:
            terms = region.terms(title=state)
            terms["flows"] = [*terms["flows"], *extra_flows]
            today = timezone.localdate()
            terms.update(start_date=today - dt.timedelta(days=30), end_date=today + dt.timedelta(days=700),
                         review_date=today + dt.timedelta(days=300))
            agreement = services.agreement_create(actor=drafter, **terms)
            if state != "draft":
                agreement = services.agreement_submit(actor=drafter, agreement=agreement)
            if state == "rejected":
                agreement = services.agreement_reject(actor=nhs, agreement=agreement, reason="Not for us")
            if state not in ("draft", "submitted", "rejected"):
                agreement = sign_all(agreement)
            return Agreement.objects.get(pk=agreement.pk)

        self.agreements = {state: make(state) for state in ("draft", "submitted", "active", "rejected")}
        self.agreements["suspended"] = services.agreement_suspend(
            actor=nhs, agreement=make("suspended"), reason="Breach under review")
        self.agreements["revoked"] = services.agreement_revoke(
            actor=nhs, agreement=make("revoked"), reason="No longer needed")
        expired = make("expired")
        services.agreement_expire(agreement=expired, today=timezone.localdate() + dt.timedelta(days=800))
        self.agreements["expired"] = expired
        for state in ("amendment draft", "amendment submitted"):
            amended = services.agreement_amend(actor=drafter, agreement=make(state))
            amended = services.agreement_update(actor=drafter, agreement=amended,
                                                flows=[*region.terms()["flows"], police_flow])
            if state == "amendment submitted":
                amended = services.agreement_submit(actor=drafter, agreement=amended)
            self.agreements[state] = amended
        dropping = services.agreement_amend(actor=drafter, agreement=make("dropping police", [police_flow]))
        dropping = services.agreement_update(actor=drafter, agreement=dropping, flows=region.terms()["flows"])
        self.agreements["dropping police"] = services.agreement_submit(actor=drafter, agreement=dropping)
        self.agreements = {state: Agreement.objects.get(pk=a.pk) for state, a in self.agreements.items()}

    def facts_hold(self) -> None:
        """The world is as WORLD describes it, so the oracle's facts are the register's."""
        for state, (status, version_state, current, in_force) in WORLD.items():
            agreement = self.agreements[state]
            assert (agreement.status, agreement.current_version.state) == (status, version_state), state
            assert {p.agency.code for p in agreement.current_version.parties.all()} == current, state
            if in_force is not None:
                assert {p.agency.code for p in agreement.in_force_version.parties.all()} == in_force, state
        assert self.agreements["suspended"].suspended_by.code == SUSPENDED_BY


@pytest.fixture
def world(region):
    world = World(region)
    world.facts_hold()
    return world


def _body(action: Action, who: str) -> dict:
    body = {"reason": "Checked with our Caldicott Guardian", "comments": "Please name the retention period",
            "next_review_date": str(timezone.localdate() + dt.timedelta(days=200))}
    if action == Action.SIGN:  # say which party, so that a superuser (who may sign for any) is not asked
        body["agency"] = {"nhs officer": N, "police officer": P}.get(who, N if who == "superuser" else C)
    return body


def _api(client: APIClient, action: Action, reference: str, body: dict) -> int:
    if action == Action.EDIT:
        return client.patch(f"/api/v1/agreements/{reference}/", {"title": "Changed"}, format="json").status_code
    if action == Action.COMMENT:
        status = client.post(f"/api/v1/agreements/{reference}/versions/{_current(reference)}/comments/",
                             {"text": body["comments"]}, format="json").status_code
        return 200 if status == 201 else status
    path = "approve" if action == Action.SIGN else action.value  # the contract's name for signing
    status = client.post(f"/api/v1/agreements/{reference}/{path}/", body, format="json").status_code
    return 200 if status in (200, 201) else status


def _current(reference: str) -> int:
    return Agreement.objects.get(reference=reference).current_version.number


def _page(client: Client, action: Action, reference: str, body: dict) -> int:
    if action == Action.EDIT:  # the edit form's GET: 200 when the draft is theirs to change
        return client.get(f"/agreements/{reference}/edit/").status_code
    if action == Action.COMMENT:
        status = client.post(f"/agreements/{reference}/versions/{_current(reference)}/comments/",
                             {"text": body["comments"]}).status_code
        return 200 if status == 302 else status
    form = {**body, "reason": body["comments"] if action == Action.REQUEST_CHANGES else body["reason"],
            "declaration": "yes"}  # the sign page's declaration of authority
    status = client.post(f"/agreements/{reference}/{action.value}/", form).status_code
    return 200 if status == 302 else status


def _service(action: Action, user, agreement: Agreement, body: dict) -> int:
    calls = {
        Action.EDIT: lambda: services.agreement_update(actor=user, agreement=agreement, title="Changed"),
        Action.SUBMIT: lambda: services.agreement_submit(actor=user, agreement=agreement),
        Action.SIGN: lambda: services.agreement_approve(actor=user, agreement=agreement, agency=body["agency"]),
        Action.REJECT: lambda: services.agreement_reject(actor=user, agreement=agreement, reason=body["reason"]),
        Action.AMEND: lambda: services.agreement_amend(actor=user, agreement=agreement),
        Action.SUSPEND: lambda: services.agreement_suspend(actor=user, agreement=agreement, reason=body["reason"]),
        Action.REINSTATE: lambda: services.agreement_reinstate(actor=user, agreement=agreement,
                                                               reason=body["reason"]),
        Action.REVOKE: lambda: services.agreement_revoke(actor=user, agreement=agreement, reason=body["reason"]),
        Action.WITHDRAW: lambda: services.agreement_withdraw(actor=user, agreement=agreement, reason=body["reason"]),
        Action.REQUEST_CHANGES: lambda: services.agreement_request_changes(actor=user, agreement=agreement,
                                                                           comments=body["comments"]),
        Action.COPY: lambda: services.agreement_copy(actor=user, agreement=agreement),
        Action.COMMENT: lambda: services.comment_add(actor=user, agreement=agreement,
                                                     number=agreement.current_version.number, text=body["comments"]),
        Action.REVIEW: lambda: services.agreement_review(
            actor=user, agreement=agreement, next_review_date=dt.date.fromisoformat(body["next_review_date"])),
    }
    try:
        calls[action]()
    except PermissionDenied:
        return 403
    except Conflict:
        return 409
    return 200


def _rolled_back(call, *args):
    with transaction.atomic():
        result = call(*args)
        transaction.set_rollback(True)
    return result


class LifecycleTableTests:
    def test_the_table_declares_every_action_once(self):
        assert set(RULES) == set(Action)
        assert all(rule.statuses <= set(AgreementStatus.values) for rule in RULES.values())
        assert all(rule.version_states <= set(VersionState.values) for rule in RULES.values())

    def test_every_channel_gives_the_tables_answer(self, world):
        wrong = []  # one world for every kind of user: building it is most of the cost
        for who, user in world.users.items():
            wrong += self._cells(world, who, user)
        assert wrong == [], "\n".join(wrong)

    @staticmethod
    def _cells(world, who, user) -> list[str]:
        api, page = APIClient(), Client()
        api.force_authenticate(user)
        page.force_login(user)
        wrong = []
        for action in Action:
            for state, agreement in world.agreements.items():
                want = expected(action, state, who)
                body = _body(action, who)
                got_api = _rolled_back(_api, api, action, agreement.reference, body)
                got_page = _rolled_back(_page, page, action, agreement.reference, body)
                got_service = _rolled_back(_service, action, user, Agreement.objects.get(pk=agreement.pk), body)
                # The service knows nothing of visibility: what the others hide (404) it refuses (403).
                want_service = 403 if want == 404 else want
                verdict = lifecycle.verdict(user=user, agreement=Agreement.objects.get(pk=agreement.pk),
                                            action=action)
                if (got_api, got_page, got_service, verdict.http_status if want != 404 else 404) != (
                        want, want, want_service, want):
                    wrong.append(f"{who}: {action} on {state}: API {got_api}, page {got_page}, service "
                                 f"{got_service}, verdict {verdict.http_status} ({verdict.code}), expected {want}")
        return wrong

    def test_a_refusal_carries_its_code_in_the_api(self, world):
        api = APIClient()
        api.force_authenticate(world.users["drafter"])
        response = api.post(f"/api/v1/agreements/{world.agreements['suspended'].reference}/reinstate/",
                            {"reason": "Fixed"}, format="json")
        assert response.status_code == 403
        assert response.json() == {
            "detail": f"Only governance officers of NHS Provider, which suspended "
                      f"{world.agreements['suspended'].reference}, can reinstate it.",
            "code": "not_suspender",
        }
        response = api.post(f"/api/v1/agreements/{world.agreements['active'].reference}/submit/", {}, format="json")
        assert (response.status_code, response.json()["code"]) == (409, "wrong_state")

    def test_the_page_shows_the_buttons_the_table_allows_and_says_why_not(self, world):
        page = Client()
        page.force_login(world.users["drafter"])
        html = page.get(f"/agreements/{world.agreements['suspended'].reference}/").content.decode()
        assert f'href="/agreements/{world.agreements["suspended"].reference}/revoke/"' in html
        assert f'href="/agreements/{world.agreements["suspended"].reference}/reinstate/"' not in html
        assert "Only governance officers of NHS Provider, which suspended" in html
        page.force_login(world.users["nhs officer"])
        html = page.get(f"/agreements/{world.agreements['suspended'].reference}/").content.decode()
        assert f'href="/agreements/{world.agreements["suspended"].reference}/reinstate/"' in html
