"""One set of input limits (common/limits.py), the same answer from the API, the pages and the importer.

Each test here once found a channel that let through what another refused, or that crashed instead of saying why.
"""

from __future__ import annotations

import html
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agencies.choices import Role
from agreements.importer import ImportFailed, import_agreements
from agreements.models import Agreement
from audit.models import AuditEvent
from common.limits import COMMENTS_MAX, DATA_ITEMS_MAX, PURPOSE_MAX, REASON_MAX, too_long, too_many
from tests.agreements.views.test_form import DISCHARGE, form_data
from tests.clients import api
from tests.dates import END, REVIEW, START, iso
from tests.factories import agreement_body, agreement_factory, member

pytestmark = pytest.mark.django_db

GO = Role.GOVERNANCE_OFFICER
PURPOSE_REFUSED = too_long("purpose", PURPOSE_MAX)


HEADER = ("agreement_key,title,purpose,lead_agency,start_date,end_date,review_date,dataset,provider,recipient,"
          "legal_bases\n")


def csv_row(*, purpose: str = "Plan care", key: str = "A") -> str:
    quoted = '"' + purpose.replace('"', '""') + '"'
    return (f"{key},Title,{quoted},lead-council,{iso(START)},{iso(END)},{iso(REVIEW)},discharge-summaries,"
            "nhs-provider,lead-council,ukgdpr-6-1-e;ukgdpr-9-2-h;dpa-2018-sch1-para2\n")


def import_problems(text: str, actor) -> list[str]:
    with pytest.raises(ImportFailed) as failed:
        import_agreements(text=text, actor=actor, source="test.csv")
    assert not Agreement.objects.exists()
    return failed.value.report.problems


class PurposeLengthTests:
    """The browser form took a 900,000-character purpose and the importer 120,000, while the API capped it at
    10,000. Now each refuses anything past PURPOSE_MAX with the same words, and keeps exactly PURPOSE_MAX."""

    def test_the_api_refuses_a_purpose_past_the_limit_in_the_shared_words(self, region):
        response = api(member(region.council, GO)).post(
            "/api/v1/agreements/", agreement_body(purpose="x" * (PURPOSE_MAX + 1)), format="json")
        assert response.status_code == 400
        assert response.json() == {"purpose": [PURPOSE_REFUSED]}

    def test_the_browser_form_refuses_a_900_000_character_purpose(self, client, region):
        client.force_login(member(region.council, GO))
        response = client.post("/agreements/new/", form_data(purpose="x" * 900_000))
        assert response.status_code == 400
        assert PURPOSE_REFUSED in response.content.decode()
        assert not Agreement.objects.exists()

    def test_the_importer_refuses_a_120_000_character_purpose_naming_its_line(self, region):
        problems = import_problems(HEADER + csv_row(purpose="x" * 120_000), member(region.council, GO))
        assert problems == [f"line 2: purpose: {PURPOSE_REFUSED}"]

    def test_a_flow_purpose_past_the_limit_is_refused_by_the_form_too(self, client, region):
        client.force_login(member(region.council, GO))
        response = client.post("/agreements/new/", form_data(flows=({**DISCHARGE, "purpose": "y" * 20_000},)))
        assert response.status_code == 400
        assert too_long("flow's purpose", PURPOSE_MAX) in html.unescape(response.content.decode())

    def test_every_channel_keeps_a_purpose_of_exactly_the_limit(self, client, region):
        officer = member(region.council, GO)
        purpose = "p" * PURPOSE_MAX
        response = api(officer).post("/api/v1/agreements/", agreement_body(purpose=purpose), format="json")
        assert response.status_code == 201
        client.force_login(officer)
        assert client.post("/agreements/new/", form_data(purpose=purpose)).status_code == 302
        report = import_agreements(text=HEADER + csv_row(purpose=purpose), actor=officer, source="test.csv")
        assert len(report.imported) == 1
        assert {a.current_version.purpose for a in Agreement.objects.all()} == {purpose}


class DataItemLimitTests:
    def test_too_many_data_items_are_refused_by_the_api_and_the_form_alike(self, client, region):
        items = [f"item {n}" for n in range(DATA_ITEMS_MAX + 1)]
        officer = member(region.council, GO)
        flow = {**agreement_body()["flows"][0], "data_items": items}
        response = api(officer).post("/api/v1/agreements/", agreement_body(flows=[flow]), format="json")
        assert response.status_code == 400
        assert response.json() == {"flows": [{"data_items": [too_many("data items", DATA_ITEMS_MAX)]}]}
        client.force_login(officer)
        page = client.post("/agreements/new/", form_data(flows=({**DISCHARGE, "data_items": "\n".join(items)},)))
        assert page.status_code == 400
        assert too_many("data items", DATA_ITEMS_MAX) in page.content.decode()


class ImporterReadingTests:
    def test_a_value_past_the_csv_modules_131072_limit_is_reported_by_line_not_a_crash(self, region):
        """csv raised `field larger than field limit (131072)` out of the command, a traceback instead of a line."""
        text = HEADER + csv_row(key="A") + csv_row(key="B", purpose="x" * 140_000)
        problems = import_problems(text, member(region.council, GO))
        assert len(problems) == 1
        assert problems[0].startswith("line 3: a value is longer than 131,072 characters")

    def test_the_command_reports_it_too(self, region, tmp_path):
        member(region.council, GO, username="importer")
        path = tmp_path / "long.csv"
        path.write_text(HEADER + csv_row(purpose="x" * 140_000), encoding="utf-8")
        with pytest.raises(CommandError, match="Nothing was imported"):
            call_command("import_agreements", str(path), "--user", "importer", stderr=(err := StringIO()))
        assert "line 2: a value is longer than 131,072 characters" in err.getvalue()

    def test_a_duplicated_header_column_is_refused(self, region):
        """A second `purpose` column silently replaced the first."""
        header = HEADER.strip() + ",purpose\n"
        row = csv_row().strip() + ",Another purpose\n"
        problems = import_problems(header + row, member(region.council, GO))
        assert problems == ["line 1: these columns appear more than once: purpose. Keep one of each."]


class ReasonTests:
    """A NUL in a reason on the browser's suspend and revoke pages reached PostgreSQL's jsonb, which refused it:
    a 500. Reasons are checked where every channel's reason goes, the service."""

    @pytest.fixture
    def active(self, db):
        return agreement_factory(state="active")

    @pytest.mark.parametrize("action", ["suspend", "revoke"])
    def test_a_nul_in_a_reason_on_the_page_is_a_400_saying_so(self, client, active, action):
        client.force_login(member(active.lead_agency, GO, username="other-officer"))
        response = client.post(f"/agreements/{active.reference}/{action}/", {"reason": "Data\x00breach"})
        assert response.status_code == 400
        assert "Remove the NUL character" in response.content.decode()
        active.refresh_from_db()
        assert active.status == "active"
        assert not AuditEvent.objects.filter(action__in=["agreement.suspended", "agreement.revoked"]).exists()

    def test_a_reason_past_the_limit_gets_the_same_words_from_the_page_and_the_api(self, client, active):
        officer = member(active.lead_agency, GO, username="other-officer")
        reason = "r" * (REASON_MAX + 1)
        response = api(officer).post(f"/api/v1/agreements/{active.reference}/suspend/", {"reason": reason},
                                     format="json")
        assert response.status_code == 400 and response.json() == {"reason": [too_long("reason", REASON_MAX)]}
        client.force_login(officer)
        page = client.post(f"/agreements/{active.reference}/suspend/", {"reason": reason})
        assert page.status_code == 400 and too_long("reason", REASON_MAX) in page.content.decode()


class FlowsShapeTests:
    """`"flows": 5` (or true, or 1.5) was a TypeError (500) on POST and PATCH; `"flows": "nope"` gave one empty
    error per character. Each is now one clear message."""

    @pytest.mark.parametrize("flows", [5, True, 1.5, "nope", {"dataset": "discharge-summaries"}],
                             ids=["int", "bool", "float", "string", "object"])
    def test_flows_that_are_not_a_list_are_one_clear_400_on_post(self, region, flows):
        response = api(member(region.council, GO)).post("/api/v1/agreements/", agreement_body(flows=flows),
                                                        format="json")
        assert response.status_code == 400
        assert response.json() == {"flows": ["Give the flows as a list, with one object for each flow of data."]}
        assert not Agreement.objects.exists()

    @pytest.mark.parametrize("flows", [5, True, 1.5, "nope"], ids=["int", "bool", "float", "string"])
    def test_flows_that_are_not_a_list_are_one_clear_400_on_patch(self, region, flows):
        draft = agreement_factory(lead=region.council, flows=agreement_body()["flows"])
        officer = member(region.council, GO, username="patcher")
        response = api(officer).patch(f"/api/v1/agreements/{draft.reference}/", {"flows": flows}, format="json")
        assert response.status_code == 400
        assert response.json() == {"flows": ["Give the flows as a list, with one object for each flow of data."]}

    def test_more_flows_than_the_limit_are_refused_once(self, region):
        flows = agreement_body()["flows"] * 51
        response = api(member(region.council, GO)).post("/api/v1/agreements/", agreement_body(flows=flows),
                                                        format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["flows"] and len(response.json()["flows"]) == 1


class NestingTests:
    """JSON nested about 400 levels deep was a RecursionError (500) in the lone-surrogate scan."""

    @pytest.mark.parametrize("depth", [400, 200_000])
    @pytest.mark.parametrize("path", ["/api/v1/agreements/", "/api/v1/checks/", "/api/v1/agencies/"])
    def test_deeply_nested_json_is_a_400_naming_the_limit(self, region, path, depth):
        body = '{"title": ' + "[" * depth + "]" * depth + "}"
        user = member(region.council, GO, is_superuser=True)
        response = api(user).generic("POST", path, body, content_type="application/json")
        assert response.status_code == 400
        assert response.json() == {"detail": "The JSON is nested too deeply: at most 32 levels of arrays and objects."}

    def test_an_ordinary_body_with_unknown_nested_fields_is_still_taken(self, region):
        nested: dict = {}
        for _ in range(20):
            nested = {"more": nested}
        response = api(member(region.council, GO)).post("/api/v1/agreements/", agreement_body(extension=nested),
                                                         format="json")
        assert response.status_code == 201


class CommentsTests:
    """The comments a party sends with a request for changes keep the shared limit and refuse a NUL, on the page as
    in the API (the page posted them straight to the service, which checked only their length)."""

    @pytest.fixture
    def submitted(self, region):
        agreement = agreement_factory(state="submitted")
        return agreement, member(region.nhs, GO, username="nhs-officer")

    def test_a_nul_in_comments_on_the_page_is_a_400_saying_so(self, client, submitted):
        agreement, nhs = submitted
        client.force_login(nhs)
        response = client.post(f"/agreements/{agreement.reference}/request-changes/", {"reason": "Fix\x00this"})
        assert response.status_code == 400
        assert "Remove the NUL character" in response.content.decode()
        assert Agreement.objects.get(pk=agreement.pk).status == "submitted"

    def test_comments_past_the_limit_get_the_shared_words(self, submitted):
        agreement, nhs = submitted
        response = api(nhs).post(f"/api/v1/agreements/{agreement.reference}/request-changes/",
                                 {"comments": "c" * (COMMENTS_MAX + 1)}, format="json")
        assert response.status_code == 400
        assert response.json() == {"comments": [too_long("comments", COMMENTS_MAX)]}
