"""The pages every role meets first: navigation, dashboards, the public register, the sharing map, error pages.

Through Django's test client; the same pages are driven in a real Chromium in tests/browser.
"""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import include, path
from django.utils import timezone

from agencies.choices import AgencyKind, Role
from agreements.choices import AgreementStatus
from agreements.models import AgreementVersion
from audit.choices import AuditAction
from audit.services import record
from sharing_registry import selectors
from sharing_registry.context_processors import navigation
from tests.agreements.builders import build_agreement
from tests.dates import END, START, long
from tests.factories import PASSWORD, AgencyFactory, DatasetFactory, UserFactory, member

pytestmark = pytest.mark.django_db


# A URLconf with the pages other engineers are building, so navigation and dashboard links can be tested now.
def _stub(request, *args, **kwargs):
    return HttpResponse("stub")


def _boom(request):
    raise RuntimeError("a bug")


def _forbidden(request):
    raise PermissionDenied


def _suspicious(request):
    raise SuspiciousOperation("bad")


urlpatterns = [
    path("agreements/", _stub, name="agreement-list"),
    path("agreements/<str:reference>/", _stub, name="agreement-detail"),
    path("audit/", _stub, name="audit-events"),
    path("agencies/", _stub, name="agency-list"),
    path("agencies/<str:code>/members/", _stub, name="agency-members"),
    path("boom/", _boom),
    path("forbidden/", _forbidden),
    path("suspicious/", _suspicious),
    path("", include("sharing_registry.urls")),
]


@pytest.fixture
def all_pages(settings):
    settings.ROOT_URLCONF = __name__


@pytest.fixture
def no_debug(settings):
    settings.DEBUG = False


WITH_ALL_PAGES = pytest.mark.usefixtures("all_pages")


class _OnlyOurPages:
    """A URLconf with this branch's pages and none of the others', to test links to pages not built yet."""

    from agreements.views import check as check_views
    from sharing_registry import views

    urlpatterns = [
        path("accounts/login/", views.sign_in, name="login"),
        path("accounts/logout/", views.sign_out, name="logout"),
        path("public/", views.public_register, name="public-register"),
        path("public/map/", views.sharing_map, name="sharing-map"),
        path("", include(([path("check/", check_views.check_page, name="check")], "agreements"))),
        path("", views.dashboard, name="dashboard"),
    ]


@pytest.fixture
def only_our_pages(settings):
    settings.ROOT_URLCONF = _OnlyOurPages


def nav_labels(html: str) -> list[str]:
    import re

    menu = html.split('id="navigation"', 1)[1].split("</ul>", 1)[0]
    links = re.findall(r'class="govuk-service-navigation__link"[^>]*>(.*?)</', menu)
    return [re.sub(r"<[^>]+>", "", m).strip() for m in links]


class NavigationTests:
    def test_anonymous_visitors_see_the_public_pages_and_sign_in(self, client):
        html = client.get("/public/").content.decode()
        assert nav_labels(html) == ["Public register", "Sharing map", "Sign in"]

    @WITH_ALL_PAGES
    def test_a_frontline_worker_sees_can_i_share_but_not_audit(self, client):
        client.force_login(member(AgencyFactory(), Role.FRONTLINE))
        labels = nav_labels(client.get("/").content.decode())
        assert labels[:5] == ["Dashboard", "Can I share?", "Register", "Agencies", "Public register"]
        assert "Audit" not in labels

    @WITH_ALL_PAGES
    def test_an_auditor_sees_the_audit_log(self, client):
        client.force_login(member(AgencyFactory(), Role.AUDITOR))
        assert "Audit" in nav_labels(client.get("/").content.decode())

    @pytest.mark.usefixtures("only_our_pages")
    def test_links_to_pages_not_built_yet_are_left_out(self, client):
        client.force_login(member(AgencyFactory(), Role.AUDITOR))
        html = client.get("/").content.decode()
        assert nav_labels(html) == ["Dashboard", "Can I share?", "Public register", "Sharing map"]

    def test_someone_with_no_agency_is_not_offered_the_check(self, client):
        client.force_login(UserFactory())
        assert "Can I share?" not in nav_labels(client.get("/").content.decode())

    def test_the_current_page_is_marked(self, client):
        html = client.get("/public/map/").content.decode()
        assert ('govuk-service-navigation__item--active">\n              <a class="govuk-service-navigation__link" '
                'href="/public/map/" aria-current="page">') in html
        assert html.count('aria-current="page"') == 1  # /public/ is not also marked

    def test_sign_out_is_a_post_form(self, client):
        client.force_login(member(AgencyFactory(), Role.FRONTLINE))
        html = client.get("/").content.decode()
        assert '<form method="post" action="/accounts/logout/"' in html

    def test_navigation_costs_one_query_however_often_it_is_rendered(self, django_assert_num_queries):
        request = RequestFactory().get("/")
        request.user = member(AgencyFactory(), Role.GOVERNANCE_OFFICER)
        with django_assert_num_queries(1):
            navigation(request)
            navigation(request)


class SignInOutTests:
    def test_each_role_lands_on_its_dashboard(self, client):
        user = member(AgencyFactory(), Role.FRONTLINE)
        response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == "/"

    def test_empty_fields_get_plain_english_linked_errors(self, client):
        response = client.post("/accounts/login/", {"username": "", "password": ""})
        html = response.content.decode()
        assert response.status_code == 200
        assert '<a href="#id_username">Enter your username</a>' in html
        assert '<a href="#id_password">Enter your password</a>' in html
        assert 'aria-describedby="id_username-error"' in html

    def test_a_wrong_password_says_so_and_keeps_the_username(self, client):
        user = UserFactory()
        html = client.post("/accounts/login/", {"username": user.username, "password": "nope"}).content.decode()
        assert "Enter a correct username and password" in html
        assert f'value="{user.username}"' in html

    def test_sign_out_by_get_offers_the_button_and_post_signs_out(self, client):
        client.force_login(UserFactory())
        page = client.get("/accounts/logout/")
        assert page.status_code == 200 and "<button" in page.content.decode()
        assert client.get("/").status_code == 200  # still signed in: a GET never signs anyone out
        assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"
        assert client.get("/").status_code == 302


def _governance_world(officer_agency, officer):
    """Data for every section of a governance officer's dashboard."""
    today = timezone.localdate()
    partner = AgencyFactory(name="Partner Trust")
    build_agreement(provider=officer_agency, recipient=partner, title="Review me soon",
                    review=today + dt.timedelta(days=30), end=today + dt.timedelta(days=400))
    build_agreement(provider=partner, recipient=officer_agency, title="Ending soon",
                    start=today - dt.timedelta(days=300), end=today + dt.timedelta(days=60),
                    review=today + dt.timedelta(days=50))
    waiting = build_agreement(provider=partner, recipient=officer_agency, title="Sign me",
                              status=AgreementStatus.SUBMITTED)
    waiting.current_version.parties.filter(agency=partner).update(signed_by=officer, signed_at=timezone.now())
    draft = build_agreement(provider=officer_agency, recipient=partner, title="My draft", status=AgreementStatus.DRAFT)
    AgreementVersion.objects.filter(pk=draft.current_version_id).update(last_edited_by=officer)
    build_agreement(title="Not ours", status=AgreementStatus.SUBMITTED)  # other agencies: never shown
    record(action=AuditAction.AGREEMENT_SUBMITTED, object_type="agreement", object_ref=waiting.reference,
           agency=officer_agency, actor=officer)
    return waiting, draft


class DashboardTests:
    def test_anonymous_is_sent_to_sign_in(self, client):
        assert client.get("/")["Location"].startswith("/accounts/login/")

    def test_a_frontline_worker_gets_a_big_can_i_share(self, client):
        client.force_login(member(AgencyFactory(), Role.FRONTLINE))
        html = client.get("/").content.decode()
        assert 'href="/check/" role="button"' in html and "Check now" in html
        assert "Waiting for you" not in html

    @WITH_ALL_PAGES
    def test_an_auditor_gets_the_audit_log(self, client):
        client.force_login(member(AgencyFactory(), Role.AUDITOR))
        html = client.get("/").content.decode()
        assert '<a class="govuk-link" href="/audit/">open the audit log</a>' in html
        assert "Check now" not in html

    @WITH_ALL_PAGES
    def test_an_agency_admin_gets_member_management(self, client):
        agency = AgencyFactory(code="mcc", name="Manchester City Council")
        client.force_login(member(agency, Role.AGENCY_ADMIN))
        html = client.get("/").content.decode()
        assert '<a class="govuk-link" href="/agencies/mcc/members/">Manage members of Manchester City Council' in html

    @pytest.mark.usefixtures("only_our_pages")
    def test_member_management_waits_for_its_page(self, client):
        client.force_login(member(AgencyFactory(name="Bury Council"), Role.AGENCY_ADMIN))
        assert "Bury Council: member management is coming soon" in client.get("/").content.decode()

    def test_someone_with_no_role_is_told_what_to_do(self, client):
        client.force_login(UserFactory())
        assert "Ask your agency administrator to add you" in client.get("/").content.decode()

    @WITH_ALL_PAGES
    def test_a_governance_officer_sees_their_work(self, client):
        agency = AgencyFactory(name="Salford Council")
        officer = member(agency, Role.GOVERNANCE_OFFICER)
        waiting, draft = _governance_world(agency, officer)
        client.force_login(officer)
        html = client.get("/").content.decode()
        awaiting = html.split("Waiting for you", 1)[1].split("Your drafts", 1)[0]
        link = f'<a class="govuk-link" href="/agreements/{waiting.reference}/">{waiting.reference}</a>'
        assert f"{link}: Sign me" in awaiting
        assert "Sign for Salford Council" in awaiting
        assert "Not ours" not in html
        drafts = html.split("Your drafts", 1)[1].split("Reviews due", 1)[0]
        assert f"{draft.reference}</a>: My draft" in drafts
        reviews = html.split("Reviews due in the next 90 days", 1)[1].split("Ending in the next", 1)[0]
        assert "Review me soon" in reviews and "Ending soon" in reviews
        ending = html.split("Ending in the next 90 days", 1)[1].split("by status", 1)[0]
        assert "Ending soon" in ending and "Review me soon" not in ending
        assert "Sent for signature</strong>: " + waiting.reference in html
        chart = html.split("agreements by status", 1)[1].split("</table>", 1)[0]
        assert '<td class="govuk-table__cell govuk-table__cell--numeric">2</td>' in chart  # two active

    def test_recent_activity_is_what_happened_to_agreements_not_the_grants_and_views_around_it(self):
        agency = AgencyFactory()
        officer = member(agency, Role.GOVERNANCE_OFFICER)
        build_agreement(provider=agency)
        record(action=AuditAction.AGREEMENT_SUSPENDED, object_type="agreement", object_ref="ISA-2026-0077",
               agency=agency)
        record(action=AuditAction.AGREEMENT_VIEWED, object_type="agreement", object_ref="ISA-2026-0077", agency=agency)
        record(action=AuditAction.PERMISSION_GRANTED, object_type="agreement", object_ref="ISA-2026-0077",
               agency=agency)
        board = selectors.dashboard_for(user=officer, today=timezone.localdate())
        assert [event.action for event in board.activity] == ["agreement.suspended"]

    def test_the_chart_counts_only_my_agencies(self):
        agency = AgencyFactory()
        officer = member(agency, Role.GOVERNANCE_OFFICER)
        build_agreement(provider=agency)
        build_agreement(recipient=agency, status=AgreementStatus.SUSPENDED)
        build_agreement()  # someone else's
        board = selectors.dashboard_for(user=officer, today=timezone.localdate())
        counts = {row["status"]: row["count"] for row in board.by_status}
        assert counts["active"] == 1 and counts["suspended"] == 1 and sum(counts.values()) == 2
        assert next(r for r in board.by_status if r["status"] == "active")["width"] == 200

    @WITH_ALL_PAGES
    def test_the_dashboard_costs_the_same_few_queries_however_much_work_there_is(
        self, client, django_assert_max_num_queries
    ):
        agency = AgencyFactory()
        officer = member(agency, Role.GOVERNANCE_OFFICER)
        for role in (Role.FRONTLINE, Role.AUDITOR, Role.AGENCY_ADMIN):
            member(agency, role, username=officer.username)
        for _ in range(4):
            _governance_world(agency, officer)
        client.force_login(officer)
        # session, user, their profile (the name shown), roles, the header's unread notifications, admin agencies,
        # 4 lists and 3 more for "Waiting for you" (drafts to send, reviews, suspensions), activity, chart; then saving
        # the session (savepoint, update, release: SESSION_SAVE_EVERY_REQUEST)
        with django_assert_max_num_queries(18):
            response = client.get("/")
        assert response.status_code == 200
        assert response.content.decode().count("Sign me") == 4


class PublicRegisterTests:
    def test_anyone_can_read_active_agreements_without_personal_data(self, client):
        council = AgencyFactory(name="Wigan Council", dpo_email="dpo@wigan.example.org")
        police = AgencyFactory(name="Greater Manchester Police", kind=AgencyKind.POLICE)
        data = DatasetFactory(owner=council, name="Antisocial behaviour cases")
        active = build_agreement(provider=council, recipient=police, dataset=data, title="Safer streets",
                                 bases=("ukgdpr-6-1-e", "crime-and-disorder-act-1998-s115"))
        build_agreement(provider=council, recipient=police, title="Still a draft", status=AgreementStatus.DRAFT)
        build_agreement(provider=council, recipient=police, title="Suspended one", status=AgreementStatus.SUSPENDED)
        response = client.get("/public/")
        html = response.content.decode()
        assert response.status_code == 200
        assert "Safer streets" in html and active.reference in html
        assert "Greater Manchester Police, Wigan Council" in html
        assert "Antisocial behaviour cases, from Wigan Council to Greater Manchester Police" in html
        assert "To keep people safe" in html  # the purpose
        assert long(START) in html and long(END) in html
        assert "Still a draft" not in html and "Suspended one" not in html
        author = active.created_by
        assert author.username not in html and "@" not in html.split("<main", 1)[1]

    def test_only_what_is_in_force_today_is_public(self, client):
        today = timezone.localdate()
        council = AgencyFactory(code="wigan", name="Wigan Council")
        police = AgencyFactory(code="gmp", name="Greater Manchester Police", kind=AgencyKind.POLICE)
        build_agreement(provider=council, recipient=police, title="Signed, starts next month",
                        start=today + dt.timedelta(days=30), end=today + dt.timedelta(days=400),
                        review=today + dt.timedelta(days=200))
        build_agreement(provider=council, recipient=police, title="Ended, not yet swept",
                        start=today - dt.timedelta(days=400), end=today - dt.timedelta(days=1),
                        review=today - dt.timedelta(days=200))
        html = client.get("/public/").content.decode()
        assert "Signed, starts next month" not in html and "Ended, not yet swept" not in html
        assert "0 agreements" in html or "No agreements" in html
        assert "govuk-summary-card__title" not in html
        assert "Greater Manchester Police" not in client.get("/public/map/").content.decode().split("<main", 1)[1]
        build_agreement(provider=council, recipient=police, title="In force")  # from last year to next: today
        assert "Greater Manchester Police" in client.get("/public/map/").content.decode().split("<main", 1)[1]

    def test_search_by_title_organisation_or_reference(self, client):
        fire = AgencyFactory(name="Lancashire Fire and Rescue")
        one = build_agreement(title="Home fire safety", recipient=fire)
        two = build_agreement(title="Hospital discharge")
        assert "Hospital discharge" not in client.get("/public/", {"q": "fire safety"}).content.decode()
        by_agency = client.get("/public/", {"q": "lancashire"}).content.decode()
        assert "Home fire safety" in by_agency and "Hospital discharge" not in by_agency
        assert "Hospital discharge" in client.get("/public/", {"q": two.reference}).content.decode()
        none = client.get("/public/", {"q": "zebra"}).content.decode()
        assert "0 agreements matching “zebra”" in none and one.reference not in none

    def test_pages_of_twenty_with_govuk_pagination(self, client):
        for i in range(23):
            build_agreement(title=f"Agreement number {i}")
        first = client.get("/public/").content.decode()
        assert "23 agreements, page 1 of 2" in first and first.count("govuk-summary-card__title\"") == 20
        assert 'class="govuk-pagination"' in first and 'href="?page=2" rel="next"' in first
        second = client.get("/public/", {"page": "2"}).content.decode()
        assert second.count("govuk-summary-card__title\"") == 3 and 'rel="prev"' in second
        assert client.get("/public/", {"page": "banana"}).status_code == 200  # never a 500

    def test_search_is_kept_in_the_page_links(self, client):
        for _ in range(21):
            build_agreement(title="Fire visits")
        html = client.get("/public/", {"q": "fire"}).content.decode()
        assert 'href="?q=fire&amp;page=2"' in html

    def test_the_register_costs_the_same_few_queries_for_one_agreement_or_twenty(self, client,
                                                                                 django_assert_max_num_queries):
        for _ in range(20):
            build_agreement(bases=("ukgdpr-6-1-e", "ukgdpr-9-2-h"))
        with django_assert_max_num_queries(5):  # count, page, parties, flows, legal bases
            response = client.get("/public/", {"q": "safer"})
        assert response.content.decode().count("govuk-summary-card__title\"") == 20


class SharingMapTests:
    def test_anyone_sees_a_drawn_map_with_a_table(self, client):
        council = AgencyFactory(code="wigan", name="Wigan Council")
        police = AgencyFactory(code="gmp", name="Greater Manchester Police", kind=AgencyKind.POLICE)
        build_agreement(provider=council, recipient=police)
        build_agreement(provider=council, recipient=police)
        build_agreement(provider=police, recipient=council, status=AgreementStatus.DRAFT)  # not in force
        response = client.get("/public/map/")
        html = response.content.decode()
        assert response.status_code == 200
        assert '<svg class="app-map"' in html and 'role="img"' in html
        assert html.count('marker-end="url(#arrow)"') == 1  # one link, wigan → gmp, with two flows
        assert 'stroke-width="1.8"' in html
        assert "2 organisations share information in 1 direction between pairs." in html
        table = html.split("The organisations on the map, as a table", 1)[1]
        assert 'href="?agency=wigan"' in table

    def test_one_agency_and_its_partners(self, client):
        council = AgencyFactory(code="wigan", name="Wigan Council")
        police = AgencyFactory(name="Greater Manchester Police")
        nhs = AgencyFactory(name="Wrightington Hospital", kind=AgencyKind.NHS_TRUST)
        build_agreement(provider=council, recipient=police)
        build_agreement(provider=nhs, recipient=council)
        build_agreement(provider=police, recipient=nhs)  # does not touch Wigan
        html = client.get("/public/map/", {"agency": "wigan"}).content.decode()
        assert "Who Wigan Council shares information with" in html
        table = html.split("sharing, as a table", 1)[1]
        cell = '<td class="govuk-table__cell">'
        assert f"{cell}Wigan Council</td>\n          {cell}Greater Manchester Police</td>" in table
        assert f"{cell}Wrightington Hospital</td>\n          {cell}Wigan Council</td>" in table
        assert html.count("app-map__edge--focus") == 2

    def test_an_agency_found_by_part_of_its_name(self, client):
        AgencyFactory(name="Wigan Council")
        assert "Who Wigan Council shares" in client.get("/public/map/", {"agency": "wigan coun"}).content.decode()

    def test_an_unknown_agency_is_an_error_linked_to_the_field(self, client):
        response = client.get("/public/map/", {"agency": "Atlantis"})
        html = response.content.decode()
        assert response.status_code == 400
        assert '<a href="#agency">No agency matches “Atlantis”' in html and 'value="Atlantis"' in html

    def test_the_map_draws_at_most_the_busiest_agencies_and_says_so(self, client, monkeypatch):
        monkeypatch.setattr(selectors, "MAP_NODES", 3)
        hub = AgencyFactory(name="Hub")
        for _ in range(4):
            build_agreement(provider=hub)
        html = client.get("/public/map/").content.decode()
        assert "5 organisations share information" in html and "The map shows the 3 that share most" in html
        drawing = html.split('<svg class="app-map"', 1)[1].split("</svg>", 1)[0]
        assert drawing.count("<circle") == 3
        focused = client.get("/public/map/", {"agency": hub.code}).content.decode()
        assert "Hub shares with 4 organisations; the map shows the 3 it shares most with." in focused

    def test_the_map_costs_the_same_few_queries_for_any_size(self, client, django_assert_max_num_queries):
        hub = AgencyFactory()
        for _ in range(15):
            build_agreement(provider=hub)
        with django_assert_max_num_queries(4):  # ranked agencies, their count, links between them, all links
            client.get("/public/map/")
        with django_assert_max_num_queries(4):  # the agency, its links, its partners (+ a count when capped)
            client.get("/public/map/", {"agency": hub.code})


@pytest.mark.usefixtures("all_pages", "no_debug")
class ErrorPageTests:
    def test_404_is_a_govuk_page(self, client):
        response = client.get("/no-such-page/")
        html = response.content.decode()
        assert response.status_code == 404
        assert '<h1 class="govuk-heading-xl">Page not found</h1>' in html
        assert "govuk-frontend.min.css" in html

    def test_403_is_a_govuk_page(self, client):
        response = client.get("/forbidden/")
        assert response.status_code == 403
        assert "You cannot do this" in response.content.decode()

    def test_400_is_a_govuk_page(self, client):
        response = client.get("/suspicious/")
        assert response.status_code == 400
        assert "There is a problem with your request" in response.content.decode()

    def test_500_is_a_govuk_page(self, client):
        client.raise_request_exception = False
        response = client.get("/boom/")
        html = response.content.decode()
        assert response.status_code == 500
        assert "Sorry, there is a problem with the service" in html and "Traceback" not in html

    def test_a_stale_form_is_explained(self, client):
        from django.test import Client

        strict = Client(enforce_csrf_checks=True)
        response = strict.post("/accounts/login/", {"username": "x", "password": "y"})
        assert response.status_code == 403
        assert "Your form could not be sent" in response.content.decode()


def test_no_inline_scripts_or_styles_in_our_templates():
    """CSP-ready: a later content security policy will refuse inline scripts and style attributes."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    for template in root.rglob("*.html"):
        text = template.read_text()
        inline_script = re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
        if inline_script or re.search(r"\sstyle=\"", text) or re.search(r"\son[a-z]+=\"", text):
            offenders.append(str(template.relative_to(root)))
    assert offenders == []
