import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from agencies.choices import Role
from agreements import services
from agreements.selectors import RegisterPaginator
from audit.models import AuditEvent
from tests.clients import api
from tests.dates import AFTER_END, BEFORE_START, END, REVIEW, START, iso
from tests.factories import AgencyFactory, agreement_factory, member
from tokens.models import ApiToken

pytestmark = pytest.mark.django_db

GO = Role.GOVERNANCE_OFFICER
PAYLOAD = {
    "title": "Hospital discharge to adult social care", "purpose": "Plan care for patients leaving hospital",
    "lead_agency": "lead-council", "start_date": iso(START), "end_date": iso(END), "review_date": iso(REVIEW),
    "flows": [{"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
               "purpose": "Discharge planning",
               "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]}],
}


def superuser():
    return get_user_model().objects.create(username="root", is_superuser=True, is_staff=True)


class CreateApiTests:
    def test_a_lead_officer_drafts_an_agreement(self, region):
        officer = member(region.council, GO)
        response = api(officer).post("/api/v1/agreements/", PAYLOAD, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["reference"].startswith("ISA-")
        assert body["status"] == "draft" and body["access"] == "full"
        assert body["lead_agency"] == "lead-council"
        assert body["flows"][0]["legal_bases"] == ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]
        assert {p["agency"] for p in body["parties"]} == {"lead-council", "nhs-provider"}
        assert body["parties"][0] == {"agency": body["parties"][0]["agency"], "approved": False, "approved_by": None,
                                      "approved_by_name": None, "approved_by_job_title": None,
                                      "approved_at": None, "version_signed": None}
        assert (body["version"], body["in_force_version"], body["warnings"]) == (1, None, [])

    def test_anonymous_is_401(self, region):
        response = api().post("/api/v1/agreements/", PAYLOAD, format="json")
        assert response.status_code == 401

    def test_wrong_role_is_403(self, region):
        for user in (member(region.council, Role.FRONTLINE), member(region.nhs, GO)):
            assert api(user).post("/api/v1/agreements/", PAYLOAD, format="json").status_code == 403

    def test_superuser_may_draft(self, region):
        assert api(superuser()).post("/api/v1/agreements/", PAYLOAD, format="json").status_code == 201

    @pytest.mark.parametrize(
        ("change", "field", "expected"),
        [
            ({"end_date": iso(BEFORE_START)}, "end_date", ["The end date must be on or after the start date."]),
            ({"review_date": iso(AFTER_END)}, "review_date", None),
            ({"lead_agency": "nowhere"}, "lead_agency", ["There is no agency with the code 'nowhere'."]),
            ({"start_date": "not a date"}, "start_date", None),
            ({"title": ""}, "title", None),
        ],
    )
    def test_bad_agreement_fields_are_400_with_field_errors(self, region, change, field, expected):
        response = api(member(region.council, GO)).post("/api/v1/agreements/", {**PAYLOAD, **change},
                                                                format="json")
        assert response.status_code == 400
        assert field in response.json()
        if expected:
            assert response.json()[field] == expected
        assert not AuditEvent.objects.filter(action="agreement.created").exists()

    @pytest.mark.parametrize(
        ("flow_change", "field", "needle"),
        [
            ({"dataset": "nope"}, "dataset", "no dataset"),
            ({"provider": "nobody"}, "provider", "no agency"),
            ({"legal_bases": ["ukgdpr-6-1-e", "made-up"]}, "legal_bases", "Unknown legal basis"),
            ({"legal_bases": ["ukgdpr-9-2-h"]}, "legal_bases", "Article 6"),
            ({"legal_bases": ["ukgdpr-6-1-e"]}, "legal_bases", "special category"),
            ({"recipient": "nhs-provider"}, "recipient", "different agencies"),
            ({"provider": "police"}, "dataset", "belongs to"),
            ({"data_items": ["salary"]}, "data_items", "not in the dataset"),
            ({"method": "pigeon"}, "method", "valid choice"),
        ],
    )
    def test_bad_flows_are_400_pointing_into_the_flow(self, region, flow_change, field, needle):
        payload = {**PAYLOAD, "flows": [{**PAYLOAD["flows"][0], **flow_change}]}
        response = api(member(region.council, GO)).post("/api/v1/agreements/", payload, format="json")
        assert response.status_code == 400
        assert needle in " ".join(response.json()["flows"][0][field])

    def test_criminal_offence_flow_needs_article_10(self, region):
        flow = {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
                "legal_bases": ["ukgdpr-6-1-e"]}
        response = api(member(region.council, GO)).post("/api/v1/agreements/", {**PAYLOAD, "flows": [flow]},
                                                                format="json")
        assert response.status_code == 400
        assert "criminal offence" in response.json()["flows"][0]["legal_bases"][0]

    def test_duplicate_flow_is_400_on_the_second(self, region):
        payload = {**PAYLOAD, "flows": [PAYLOAD["flows"][0], PAYLOAD["flows"][0]]}
        response = api(member(region.council, GO)).post("/api/v1/agreements/", payload, format="json")
        assert response.status_code == 400
        assert response.json()["flows"][0] == {}
        assert "repeats flow 1" in response.json()["flows"][1]["dataset"][0]

    def test_article_9_without_special_category_data_warns(self, region):
        flow = {"dataset": "council-tenancies", "provider": "lead-council", "recipient": "nhs-provider",
                "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]}
        response = api(member(region.council, GO)).post("/api/v1/agreements/", {**PAYLOAD, "flows": [flow]},
                                                                format="json")
        assert response.status_code == 201
        assert "not marked as holding special category data" in response.json()["warnings"][0]


class DetailApiTests:
    """The permission matrix for one agreement: anonymous, unrelated, wrong role, permitted, superuser."""

    def test_draft_matrix(self, region):
        agreement = agreement_factory()
        url = f"/api/v1/agreements/{agreement.reference}/"
        assert api().get(url).status_code == 401
        assert api(member(region.fire, GO)).get(url).status_code == 404
        assert api(member(region.fire, Role.AUDITOR)).get(url).status_code == 404
        for role in Role.values:
            response = api(member(region.nhs, role)).get(url)
            assert response.status_code == 200 and response.json()["access"] == "full"
        assert api(superuser()).get(url).json()["access"] == "full"
        assert AuditEvent.objects.filter(action="agreement.viewed", object_ref=agreement.reference).count() == 5

    def test_missing_is_404_like_invisible(self, region):
        assert api(member(region.fire, GO)).get("/api/v1/agreements/ISA-1999-0001/").status_code == 404

    def test_active_agreement_summary_for_other_agencies(self, region):
        agreement = agreement_factory(state="active")
        body = api(member(region.fire, Role.FRONTLINE)).get(f"/api/v1/agreements/{agreement.reference}/").json()
        assert body["access"] == "summary"
        assert set(body) == {"reference", "status", "status_label", "in_force_today", "access", "title", "purpose",
                             "lead_agency", "start_date", "end_date", "review_date", "legal_bases", "parties"}
        assert body["parties"] == [{"agency": "lead-council"}, {"agency": "nhs-provider"}]
        assert body["legal_bases"] == ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]

    def test_summary_shows_the_in_force_terms_not_a_draft_amendment(self, region):
        agreement = agreement_factory(state="active")
        drafter = member(region.council, GO)
        services.agreement_amend(actor=drafter, agreement=agreement)
        services.agreement_update(actor=drafter, agreement=agreement, title="Secret new title")
        summary = api(member(region.fire, GO)).get(f"/api/v1/agreements/{agreement.reference}/").json()
        assert summary["title"] == "Hospital discharge to adult social care"
        full = api(member(region.nhs, GO)).get(f"/api/v1/agreements/{agreement.reference}/").json()
        assert (full["title"], full["version"], full["in_force_version"]) == ("Secret new title", 2, 1)
        assert {p["version_signed"] for p in full["parties"]} == {1}

    def test_patch_draft(self, region):
        agreement = agreement_factory()
        url = f"/api/v1/agreements/{agreement.reference}/"
        assert api().patch(url, {"title": "x"}, format="json").status_code == 401
        assert api(member(region.fire, GO)).patch(url, {"title": "x"}, format="json").status_code == 404
        assert api(member(region.nhs, GO)).patch(url, {"title": "x"}, format="json").status_code == 403
        assert api(member(region.council, Role.FRONTLINE)).patch(url, {"title": "x"},
                                                                          format="json").status_code == 403
        response = api(member(region.council, GO)).patch(url, {"title": "Renamed"}, format="json")
        assert response.status_code == 200 and response.json()["title"] == "Renamed"
        bad = api(member(region.council, GO)).patch(url, {"end_date": "2000-01-01"}, format="json")
        assert bad.status_code == 400 and "end_date" in bad.json()
        assert api(superuser()).patch(url, {"title": "Root"}, format="json").status_code == 200

    def test_patch_after_submission_is_409(self, region):
        agreement = agreement_factory(state="submitted")
        response = api(member(region.council, GO)).patch(f"/api/v1/agreements/{agreement.reference}/",
                                                                 {"title": "Late"}, format="json")
        assert response.status_code == 409
        assert "only a draft can be changed" in response.json()["detail"]


class LifecycleApiTests:
    def post(self, user, agreement, action, data=None):
        return api(user).post(f"/api/v1/agreements/{agreement.reference}/{action}/", data or {},
                                     format="json")

    def test_the_whole_path_to_active(self, region):
        agreement = agreement_factory()
        drafter = member(region.council, GO)
        assert self.post(None, agreement, "submit").status_code == 401
        assert self.post(member(region.fire, GO), agreement, "submit").status_code == 404
        assert self.post(member(region.nhs, GO), agreement, "submit").status_code == 403
        assert self.post(drafter, agreement, "submit").json()["status"] == "submitted"
        assert self.post(drafter, agreement, "submit").status_code == 409

        assert self.post(member(region.nhs, Role.FRONTLINE), agreement, "approve").status_code == 403
        forbidden = self.post(drafter, agreement, "approve")
        assert forbidden.status_code == 403
        assert "another governance officer of Lead Council must sign" in forbidden.json()["detail"]
        assert self.post(member(region.nhs, GO), agreement, "approve", {"agency": "lead-council"}).status_code == 403
        assert self.post(member(region.nhs, GO), agreement, "approve", {"agency": "fire"}).status_code == 400
        body = self.post(member(region.nhs, GO), agreement, "approve").json()
        nhs = next(p for p in body["parties"] if p["agency"] == "nhs-provider")
        assert nhs["approved"] and nhs["version_signed"] == 1
        assert nhs["approved_by"] == "nhs-provider-governance_officer"
        assert self.post(member(region.nhs, GO), agreement, "approve").status_code == 409
        second = member(region.council, GO, username="council-second")
        body = self.post(second, agreement, "approve", {"agency": "lead-council"}).json()
        assert body["status"] == "active" and body["in_force_version"] == 1

    def test_approve_a_draft_is_409(self, region):
        assert self.post(member(region.nhs, GO), agreement_factory(), "approve").status_code == 409

    def test_reject(self, region):
        agreement = agreement_factory(state="submitted")
        assert self.post(member(region.nhs, GO), agreement, "reject", {}).status_code == 400
        assert self.post(member(region.nhs, Role.AUDITOR), agreement, "reject", {"reason": "no"}).status_code == 403
        response = self.post(member(region.nhs, GO), agreement, "reject", {"reason": "Too broad"})
        assert response.json()["status"] == "rejected"
        assert self.post(member(region.nhs, GO), agreement, "reject", {"reason": "again"}).status_code == 409

    def test_suspend_reinstate_revoke(self, region):
        agreement = agreement_factory(state="active")
        officer = member(region.nhs, GO)
        outsider = member(region.fire, GO)  # sees the summary of an active agreement, but may not act: 403
        assert self.post(outsider, agreement, "suspend", {"reason": "x"}).status_code == 403
        assert self.post(officer, agreement, "reinstate", {"reason": "x"}).status_code == 409
        assert self.post(officer, agreement, "suspend", {"reason": "Breach"}).json()["status"] == "suspended"
        assert self.post(officer, agreement, "suspend", {"reason": "Again"}).status_code == 409
        # Suspended agreements are no longer visible to other agencies at all.
        assert self.post(outsider, agreement, "reinstate", {"reason": "x"}).status_code == 404
        assert self.post(officer, agreement, "reinstate", {"reason": "Fixed"}).json()["status"] == "active"
        assert self.post(officer, agreement, "revoke", {"reason": "Done"}).json()["status"] == "revoked"
        assert self.post(officer, agreement, "revoke", {"reason": "Done"}).status_code == 409
        assert self.post(superuser(), agreement, "suspend", {"reason": "x"}).status_code == 409

    def test_amend(self, region):
        agreement = agreement_factory(state="active")
        assert self.post(member(region.nhs, GO), agreement, "amend").status_code == 403
        body = self.post(member(region.council, GO), agreement, "amend").json()
        assert (body["status"], body["version"], body["version_state"], body["in_force_version"]) == (
            "active", 2, "draft", 1
        )
        assert self.post(member(region.council, GO), agreement, "amend").status_code == 409


class ListApiTests:
    def test_anonymous_is_401(self, db):
        assert api().get("/api/v1/agreements/").status_code == 401

    def test_lists_only_what_you_may_see(self, region):
        draft = agreement_factory(title="Draft one")
        active = agreement_factory(state="active", title="Active one")
        outsider = api(member(region.fire, GO)).get("/api/v1/agreements/").json()
        assert [r["reference"] for r in outsider["results"]] == [active.reference]
        assert outsider["results"][0]["access"] == "summary"
        party = api(member(region.nhs, Role.FRONTLINE)).get("/api/v1/agreements/").json()
        assert {r["reference"] for r in party["results"]} == {draft.reference, active.reference}
        assert api(superuser()).get("/api/v1/agreements/").json()["count"] == 2

    def test_filters_and_the_list_is_audited_once(self, region):
        draft = agreement_factory(title="Discharge draft")
        active = agreement_factory(state="active", title="Something else")
        client = api(member(region.nhs, GO))
        assert [r["reference"] for r in client.get("/api/v1/agreements/?status=draft").json()["results"]] == [
            draft.reference
        ]
        assert client.get("/api/v1/agreements/?status=bogus").status_code == 400
        assert client.get("/api/v1/agreements/?q=discharge").json()["count"] == 1
        assert client.get(f"/api/v1/agreements/?q={active.reference}").json()["count"] == 1
        assert client.get("/api/v1/agreements/?dataset=discharge-summaries").json()["count"] == 2
        assert client.get("/api/v1/agreements/?agency=nhs-provider").json()["count"] == 2
        assert client.get("/api/v1/agreements/?agency=fire").json()["count"] == 0
        assert client.get("/api/v1/agreements/?legal_basis=ukgdpr-9-2-h").json()["count"] == 2
        assert client.get("/api/v1/agreements/?legal_basis=ukgdpr-6-1-a").json()["count"] == 0
        listed = AuditEvent.objects.filter(action="agreement.listed").order_by("seq")
        assert listed.count() == 8  # the refused ?status=bogus lists nothing
        assert listed[0].detail == {"filters": {"status": "draft"}, "count": 1}

    def test_filters_cannot_reveal_a_draft_amendment(self, region):
        agreement = agreement_factory(state="active")
        drafter = member(region.council, GO)
        services.agreement_amend(actor=drafter, agreement=agreement)
        services.agreement_update(actor=drafter, agreement=agreement, title="Confidential merger plan")
        outsider = api(member(region.fire, GO))
        assert outsider.get("/api/v1/agreements/?q=merger").json()["count"] == 0
        assert api(member(region.nhs, GO)).get("/api/v1/agreements/?q=merger").json()["count"] == 1

    @pytest.mark.parametrize("who", ["party", "outsider", "superuser"])
    def test_constant_number_of_queries(self, region, who, django_assert_max_num_queries):
        users = {"party": lambda: member(region.nhs, Role.FRONTLINE), "outsider": lambda: member(region.fire, GO),
                 "superuser": superuser}
        user = users[who]()
        client = api(user)
        for _ in range(3):
            agreement_factory(state="active")
        with django_assert_max_num_queries(14) as few:
            assert client.get("/api/v1/agreements/?page_size=100").json()["count"] == 3
        for _ in range(27):
            agreement_factory(state="active")
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert client.get("/api/v1/agreements/?page_size=100").json()["count"] == 30

    def test_the_register_page_costs_at_most_six_queries(self, region, django_assert_max_num_queries):
        """As another system calls it, with a token: the token, the page with its count, both versions' parties, and
        their flows with legal bases, then the audit record (the actor's agencies and the insert)."""
        user = member(region.nhs, Role.FRONTLINE)
        _, key = ApiToken.objects.create(user=user, expiry=timedelta(days=1), name="Register")
        client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
        for _ in range(3):
            agreement_factory(state="active")
        services.agreement_amend(actor=member(region.council, GO), agreement=agreement_factory(state="active"))
        client.get("/api/v1/agreements/")  # the token's last use is written at most once a minute
        with django_assert_max_num_queries(8) as issued:  # and a savepoint around the audit record, in a test
            body = client.get("/api/v1/agreements/?page_size=3").json()
        statements = [q["sql"] for q in issued.captured_queries if "SAVEPOINT" not in q["sql"]]
        assert len(statements) <= 6, statements
        assert (body["count"], body["count_exact"], len(body["results"])) == (4, True, 3)
        amended = client.get("/api/v1/agreements/?page_size=1").json()["results"][0]
        assert (amended["version"], amended["in_force_version"], amended["parties"][0]["version_signed"]) == (2, 1, 1)

    def test_past_the_cap_the_count_says_more_and_every_page_is_served(self, region, monkeypatch):
        monkeypatch.setattr(RegisterPaginator, "cap", 2)
        client = api(member(region.nhs, Role.FRONTLINE))
        made = [agreement_factory(state="active").reference for _ in range(4)]
        body = client.get("/api/v1/agreements/?page_size=1").json()
        assert (body["count"], body["count_exact"]) == (2, False)
        seen = [row["reference"] for row in body["results"]]
        while body["next"]:
            body = client.get(body["next"]).json()
            seen += [row["reference"] for row in body["results"]]
        assert seen == made[::-1]
        assert client.get("/api/v1/agreements/?page_size=1&page=5").status_code == 404
        listed = AuditEvent.objects.filter(action="agreement.listed").order_by("seq").first()
        assert listed.detail == {"filters": {}, "count": 2, "count_exact": False}

    def test_page_last_counts_every_agreement_and_gives_the_last_page(self, region, monkeypatch,
                                                                        django_assert_max_num_queries):
        """With the count capped, "last" went to the page after the cap (page 2 of "more than 2") and said "more"."""
        monkeypatch.setattr(RegisterPaginator, "cap", 2)
        client = api(member(region.nhs, Role.FRONTLINE))
        made = [agreement_factory(state="active").reference for _ in range(5)]
        with django_assert_max_num_queries(20) as first:
            client.get("/api/v1/agreements/?page_size=2")
        with django_assert_max_num_queries(len(first.captured_queries)):  # still the count in the page's query
            body = client.get("/api/v1/agreements/?page_size=2&page=last").json()
        assert (body["count"], body["count_exact"], body["next"]) == (5, True, None)
        assert [row["reference"] for row in body["results"]] == made[:1]  # the oldest, alone on page 3
        assert body["previous"].endswith("page=2&page_size=2") or "page=2" in body["previous"]
        body = client.get("/api/v1/agreements/?page_size=5&page=last").json()
        assert [row["reference"] for row in body["results"]] == made[::-1]  # a full last page
        listed = AuditEvent.objects.filter(action="agreement.listed").order_by("-seq").first()
        assert listed.detail == {"filters": {}, "count": 5}
        outsider = api(member(region.fire, Role.FRONTLINE))
        agreement_factory()  # a draft only its parties see
        body = outsider.get("/api/v1/agreements/?page=last").json()
        assert (body["count"], body["count_exact"], len(body["results"])) == (5, True, 5)

    def test_detail_query_count(self, region, django_assert_max_num_queries):
        agreement = agreement_factory(state="active")
        client = api(member(region.nhs, GO))
        with django_assert_max_num_queries(14):
            assert client.get(f"/api/v1/agreements/{agreement.reference}/").status_code == 200


class LegalBasisApiTests:
    def test_every_contract_code_is_in_the_catalogue_in_plain_english(self, db):
        user = get_user_model().objects.create(username="reader")
        body = api(user).get("/api/v1/legal-bases/?page_size=500").json()
        codes = {row["code"]: row for row in body["results"]}
        required = {f"ukgdpr-6-1-{c}" for c in "abcdef"} | {f"ukgdpr-9-2-{c}" for c in "abcdefghij"} | {
            "ukgdpr-10", "crime-and-disorder-act-1998-s115", "children-act-2004-s10", "children-act-2004-s11",
            "care-act-2014-s45", "health-and-social-care-act-2012-s251b", "digital-economy-act-2017-part5",
        }
        assert required <= set(codes)
        assert all(row["title"] and row["citation"] and len(row["description"]) > 80 for row in codes.values())
        assert codes["ukgdpr-9-2-h"]["kind"] == "article9"
        assert "Schedule 1" in codes["ukgdpr-9-2-h"]["description"]
        assert "power (not a duty)" in codes["crime-and-disorder-act-1998-s115"]["description"]
        assert "Safeguarding Adults Board" in codes["care-act-2014-s45"]["title"]


class SchemaTests:
    def test_agreement_endpoints_are_documented(self, client):
        schema = json.loads(client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
        paths = schema["paths"]
        for action in ("submit", "approve", "reject", "suspend", "reinstate", "revoke", "amend"):
            assert "post" in paths[f"/api/v1/agreements/{{reference}}/{action}/"]
        assert {"get", "post"} <= set(paths["/api/v1/agreements/"])
        assert {"get", "patch"} <= set(paths["/api/v1/agreements/{reference}/"])
        params = {p["name"] for p in paths["/api/v1/agreements/"]["get"]["parameters"]}
        assert {"status", "agency", "dataset", "legal_basis", "q", "page", "page_size"} <= params

    def test_schema_generation_has_no_warnings(self, capsys):
        from django.core.management import call_command

        call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


@pytest.mark.django_db
class PageParameterTests:
    @pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5"])
    def test_a_page_that_is_not_a_whole_number_from_1_is_a_400(self, page):
        client = APIClient()
        client.force_authenticate(member(AgencyFactory(), Role.FRONTLINE))
        response = client.get("/api/v1/agreements/", {"page": page})
        assert response.status_code == 400
        assert response.json() == {"page": ["Give the page as a whole number from 1."]}

    def test_a_page_past_the_last_is_a_404_and_last_works(self):
        client = APIClient()
        client.force_authenticate(member(AgencyFactory(), Role.FRONTLINE))
        assert client.get("/api/v1/agreements/", {"page": "9"}).status_code == 404
        assert client.get("/api/v1/agreements/", {"page": "last"}).status_code == 200
