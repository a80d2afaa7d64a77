"""Bad input everywhere: every write endpoint, the check and the list filters, on SQLite and PostgreSQL.

Oversized bodies, wrong types, unknown fields, impossible dates and awkward Unicode all get a clear 400 (or a
safe, ordinary answer for a search), never a 500, and nothing is half-written: no row and no audit event.

Unknown fields are ignored, everywhere, as DRF does by default: a client that sends a field from a newer
version of the contract keeps working (docs/api.md: fields are added freely). Only known fields are saved.
"""

from __future__ import annotations

import csv
import io
import json
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from agencies.choices import AgencyKind, Role
from agencies.models import Agency, Dataset
from agencies.services import agency_create, dataset_create
from agreements.models import Agreement, AgreementVersion, Flow
from audit.choices import AuditAction
from audit.models import AuditEvent
from audit.services import record
from tests.dates import BEFORE_START, iso
from tests.factories import agreement_body, agreement_factory, api_key, member

# PostgreSQL refuses NUL in text; a lone surrogate cannot be encoded as UTF-8; the rest are legal and must work.
NUL = "before\x00after"
SURROGATE = "\ud800"
AWKWARD_BUT_VALID = {
    "rtl": "\u202eevil\u202c مرحبا שלום",
    "emoji": "👩🏽‍⚕️🏥 care plan",
    "combining": "Ze\u0301ro width\u200bjoiner",
}
LONG = "x" * 100_000


@pytest.fixture
def world(db):
    """An active agreement between a council (lead) and an NHS trust, and a token for every role we need."""
    council = agency_create(actor=None, code="lead-council", name="Lead Council", kind=AgencyKind.LOCAL_AUTHORITY)
    nhs = agency_create(actor=None, code="nhs-provider", name="NHS Provider", kind=AgencyKind.NHS_TRUST)
    dataset_create(actor=None, owner=council, code="council-tenancies", name="Tenancies", data_items=["address"])
    agreement = agreement_factory(state="active")
    draft = agreement_factory(lead=council, state="draft", title="A draft")
    people = {
        "superuser": member(council, Role.AGENCY_ADMIN, username="root", is_superuser=True),
        "officer": member(council, Role.GOVERNANCE_OFFICER),
        "frontline": member(council, Role.FRONTLINE),
        "auditor": member(council, Role.AUDITOR),
        "admin": member(council, Role.AGENCY_ADMIN),
    }
    tokens = {role: api_key(user) for role, user in people.items()}
    return {"agreement": agreement, "draft": draft, "council": council, "nhs": nhs, "tokens": tokens}


def counts() -> dict[str, int]:
    return {"agencies": Agency.objects.count(), "datasets": Dataset.objects.count(),
            "agreements": Agreement.objects.count(), "versions": AgreementVersion.objects.count(),
            "flows": Flow.objects.count(), "events": AuditEvent.objects.count()}


def query(**params) -> str:
    """A query string as a client may really send it: lone surrogates as their (invalid) UTF-8 bytes."""
    return "&".join(f"{name}={quote(str(value), safe='', errors='surrogatepass')}" for name, value in params.items())


def call(client, token, method, path, body=None, **params):
    kwargs = {"HTTP_AUTHORIZATION": f"Token {token}"}
    if params:
        path = f"{path}?{query(**params)}"
    if body is not None:
        kwargs["data"] = body if isinstance(body, (bytes, str)) else json.dumps(body)
        kwargs["content_type"] = "application/json"
    return getattr(client, method)(path, **kwargs)


def writes(world):
    """(name, role, method, path, a valid body, the text fields to spoil) for every write endpoint."""
    ref, draft = world["agreement"].reference, world["draft"].reference
    return [
        ("agency create", "superuser", "post", "/api/v1/agencies/",
         {"code": "new-agency", "name": "New Agency", "kind": "other"}, ["name", "code", "ico_registration"]),
        ("agency update", "admin", "patch", "/api/v1/agencies/lead-council/", {"name": "Lead Council"},
         ["name", "siro_name", "dpo_email"]),
        ("member add", "admin", "post", "/api/v1/agencies/lead-council/members/",
         {"username": "lead-council-frontline", "role": "auditor"}, ["username", "role"]),
        ("dataset create", "officer", "post", "/api/v1/datasets/",
         {"code": "new-dataset", "name": "New data", "owner": "lead-council"},
         ["name", "code", "description", "owner"]),
        ("dataset update", "officer", "patch", "/api/v1/datasets/council-tenancies/", {"name": "Tenancies"},
         ["name", "description"]),
        ("agreement create", "officer", "post", "/api/v1/agreements/", agreement_body(),
         ["title", "purpose", "lead_agency", "dpia_reference"]),
        ("agreement update", "officer", "patch", f"/api/v1/agreements/{draft}/", {"title": "Still a draft"},
         ["title", "purpose", "dpia_reference"]),
        ("agreement suspend", "officer", "post", f"/api/v1/agreements/{ref}/suspend/", {"reason": "Breach"},
         ["reason"]),
        ("agreement revoke", "officer", "post", f"/api/v1/agreements/{ref}/revoke/", {"reason": "Ended"}, ["reason"]),
        ("agreement approve", "officer", "post", f"/api/v1/agreements/{draft}/approve/", {"agency": "lead-council"},
         ["agency"]),
        ("agreement reject", "officer", "post", f"/api/v1/agreements/{draft}/reject/", {"reason": "No"}, ["reason"]),
        ("check", "frontline", "post", "/api/v1/checks/",
         {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "discharge-summaries"},
         ["provider", "recipient", "dataset", "purpose"]),
    ]


WRITE_NAMES = ["agency create", "agency update", "member add", "dataset create", "dataset update", "agreement create",
               "agreement update", "agreement suspend", "agreement revoke", "agreement approve", "agreement reject",
               "check"]


def endpoint(world, name):
    return next(w for w in writes(world) if w[0] == name)


def assert_clear_400(response, before):
    assert response.status_code == 400, (response.status_code, response.content[:500])
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body and all(isinstance(key, str) for key in body), body
    assert counts() == before, "something was written"


SPOILT = {"nul": NUL, "very long": LONG, "number": 12345, "list": ["a", "list"], "object": {"an": "object"},
          "bool": True}
NOT_A_JSON_OBJECT = [b"{not json", b"\xff\xfe\x00", b"[]", b"null", b'"text"', b"1e999999"]


@pytest.mark.django_db
class BadBodyTests:
    @pytest.mark.parametrize("name", WRITE_NAMES)
    def test_every_kind_of_bad_body_is_a_clear_400_and_writes_nothing(self, client, world, name, settings):
        _, role, method, path, body, fields = endpoint(world, name)
        token = world["tokens"][role]
        for field in fields:
            for kind, value in SPOILT.items():
                before = counts()
                response = call(client, token, method, path, {**body, field: value})
                if isinstance(value, str):
                    assert_clear_400(response, before)
                    assert field in response.json(), (field, kind, response.json())
                else:  # a number or bool for a text field may be read as its text, as DRF does; never a 500
                    assert response.status_code < 500, (field, kind, response.status_code)
                    if response.status_code == 400:
                        assert_clear_400(response, before)
            # A lone surrogate: valid JSON, but not text any database can store.
            raw = json.dumps({**body, field: "x"}).replace('"x"', '"\\ud800"')
            before = counts()
            response = call(client, token, method, path, raw)
            assert_clear_400(response, before)
            assert "not valid Unicode" in response.json()["detail"]
        for raw in NOT_A_JSON_OBJECT:
            before = counts()
            assert_clear_400(call(client, token, method, path, raw), before)
        # Too big: refused with 413 before it is parsed.
        before = counts()
        response = call(client, token, method, path,
                        {**body, fields[0]: "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
        assert response.status_code == 413, response.content[:300]
        assert response.json() == {"detail": "The request is too large. Send at most 1 MB."}
        assert counts() == before

    def test_unknown_fields_are_ignored_and_never_saved(self, client, world):
        body = agreement_body(title="With extras", status="active", reference="ISA-1999-0001", hacked=True)
        response = call(client, world["tokens"]["officer"], "post", "/api/v1/agreements/", body)
        assert response.status_code == 201, response.json()
        assert response.json()["status"] == "draft" and response.json()["reference"] != "ISA-1999-0001"
        assert "hacked" not in response.json()


@pytest.mark.django_db
class AwkwardTextTests:
    def test_right_to_left_emoji_and_combining_text_is_kept_exactly(self, client, world):
        for text in AWKWARD_BUT_VALID.values():
            response = call(client, world["tokens"]["officer"], "post", "/api/v1/agreements/",
                            agreement_body(title=text, purpose=text))
            assert response.status_code == 201, response.json()
            reference = response.json()["reference"]
            shown = call(client, world["tokens"]["officer"], "get", f"/api/v1/agreements/{reference}/").json()
            assert shown["title"] == text and shown["purpose"] == text


IMPOSSIBLE_TERMS = [
    {"start_date": "0001-01-01"},
    {"end_date": "9999-12-31"},
    {"start_date": "0001-01-01", "end_date": "9999-12-31", "review_date": "5000-01-01"},
    {"start_date": "10000-01-01"},
    {"start_date": "2026-02-30"},
    {"start_date": "-0001-01-01"},
    {"start_date": "2026-13-01"},
    {"start_date": 20260101},
    {"end_date": iso(BEFORE_START)},  # before the start
]
IMPOSSIBLE_CHECK_DATES = ["0001-01-01", "9999-12-31", "10000-01-01", "2026-02-30", "yesterday", 5]
EXTREME_AUDIT_TIMES = ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                       "9999-12-31T23:59:59-12:00", "10000-01-01", "2026-02-30", "x" * 1000, NUL]


@pytest.mark.django_db
class BadDateTests:
    def test_an_agreement_with_impossible_dates_is_a_clear_400(self, client, world):
        for dates in IMPOSSIBLE_TERMS:
            before = counts()
            response = call(client, world["tokens"]["officer"], "post", "/api/v1/agreements/", agreement_body(**dates))
            assert_clear_400(response, before)
            assert set(response.json()) & {*dates, "non_field_errors"}, (dates, response.json())

    def test_a_check_on_an_impossible_date_is_a_clear_400(self, client, world):
        for on in IMPOSSIBLE_CHECK_DATES:
            body = {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "discharge-summaries", "on": on}
            before = counts()
            response = call(client, world["tokens"]["frontline"], "post", "/api/v1/checks/", body)
            assert_clear_400(response, before)
            assert "on" in response.json()

    def test_audit_filters_on_extreme_dates_answer_200_or_a_clear_400(self, client, world):
        for moment in EXTREME_AUDIT_TIMES:
            for path in ("/api/v1/audit/events/", "/api/v1/audit/export/"):
                for params in ({"since": moment}, {"until": moment}, {"since": moment, "until": "9999-12-31"}):
                    response = call(client, world["tokens"]["auditor"], "get", path, **params)
                    assert response.status_code in (200, 400), (path, params, response.status_code)
                    if response.status_code == 400:
                        assert response["Content-Type"] == "application/json"
                        assert set(response.json()) <= {"since", "until"}, response.json()


FILTERS = [
    ("/api/v1/agencies/", ["q", "kind"]),
    ("/api/v1/datasets/", ["q", "owner", "classification"]),
    ("/api/v1/agreements/", ["q", "agency", "dataset", "legal_basis", "status"]),
    ("/api/v1/legal-bases/", ["kind"]),
    ("/api/v1/audit/events/", ["actor", "agency", "object_type", "object_ref", "action"]),
    ("/api/v1/audit/checkpoints/", ["position_from"]),
    ("/api/v1/agencies/lead-council/members/", ["role"]),
]
FILTER_VALUES = [NUL, SURROGATE, LONG[:5000], "%", "' OR 1=1 --", *AWKWARD_BUT_VALID.values()]


@pytest.mark.django_db
class BadFilterTests:
    def test_list_filters_answer_200_or_a_clear_400(self, client, world):
        token = world["tokens"]["superuser"]
        for path, names in FILTERS:
            for name in names:
                for value in FILTER_VALUES:
                    response = call(client, token, "get", path, **{name: value})
                    assert response.status_code in (200, 400), (path, name, response.status_code, response.content)
                    assert response["Content-Type"] == "application/json"
                    if value == NUL:
                        assert response.status_code == 400 and name in response.json(), response.json()

    def test_a_page_that_is_not_a_page_number_is_a_400_and_one_past_the_end_a_404(self, client, world):
        for page in ["0", "-1", "abc", NUL]:
            response = call(client, world["tokens"]["superuser"], "get", "/api/v1/agreements/", page=page, page_size=1)
            assert response.status_code == 400
            assert response.json()["page"]
        response = call(client, world["tokens"]["superuser"], "get", "/api/v1/agreements/",
                        page="99999999999999999999", page_size=1)
        assert response.status_code == 404
        assert response.json()["detail"]

    def test_a_strange_identifier_in_the_path_is_a_404(self, client, world):
        client.force_login(get_user_model().objects.get(username="root"))  # for the page; the API uses the token
        for path in ["/api/v1/agreements/{}/", "/api/v1/agencies/{}/", "/api/v1/datasets/{}/", "/agencies/{}/"]:
            for key in ["a%00b", "%ED%A0%80", "x" * 3000, "..%2F..%2Fetc"]:
                response = call(client, world["tokens"]["superuser"], "get", path.format(key))
                assert response.status_code == 404, (path, key, response.content[:300])


PAGES = [("/public/", "q"), ("/public/map/", "agency"), ("/agencies/", "q"), ("/audit/", "actor")]
PAGE_VALUES = [NUL, SURROGATE, LONG[:5000], *AWKWARD_BUT_VALID.values()]


@pytest.mark.django_db
class BadInputOnPagesTests:
    def test_search_boxes_answer_a_page_never_a_500(self, client, world):
        client.force_login(get_user_model().objects.get(username="root"))
        for path, name in PAGES:
            for value in PAGE_VALUES:
                response = client.get(f"{path}?{query(**{name: value})}")
                assert response.status_code in (200, 400), (path, value[:20], response.status_code)
                assert "<h1" in response.content.decode()

    def test_the_check_page_and_the_sign_in_form_explain_bad_input(self, client, world):
        for value in [NUL, SURROGATE, LONG[:5000]]:
            response = client.post("/accounts/login/", query(username=value, password=value),
                                   content_type="application/x-www-form-urlencoded")
            assert response.status_code == 200
            assert "There is a problem" in response.content.decode()
        client.force_login(get_user_model().objects.get(username="lead-council-frontline"))
        for value in [NUL, SURROGATE, LONG[:5000]]:
            before = counts()
            form = query(provider="lead-council", recipient=value, dataset=value, purpose=value, on=value)
            response = client.post("/check/", form, content_type="application/x-www-form-urlencoded")
            assert response.status_code in (200, 400)
            assert "There is a problem" in response.content.decode()
            assert counts() == before


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agreements.csv"


@pytest.fixture
def demo(db):
    from agreements import demo as demo_data
    from common import context

    with context.system("seed_demo"):
        demo_data.load_demo()


@pytest.mark.django_db
class BadImportTests:
    def spoilt_file(self, tmp_path) -> Path:
        lines = EXAMPLE.read_text().splitlines()
        lines[1] = lines[1].replace("Emergency department", "Emergency\x00department")  # line 2: NUL
        lines[4] = lines[4].replace("2028-05-31", "9999-12-31")  # line 5: end date in year 9999
        path = tmp_path / "spoilt.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def test_a_partly_bad_import_changes_nothing_and_names_each_bad_line(self, demo, tmp_path):
        from tests.factories import UserFactory

        # The command's service account, as an earlier import left it (its first creation is audited as user.created).
        UserFactory(username="import_agreements", is_active=False)
        before = counts()
        with pytest.raises(CommandError, match="Nothing was imported"):
            call_command("import_agreements", str(self.spoilt_file(tmp_path)), stderr=(err := StringIO()))
        report = err.getvalue()
        assert "line 2:" in report and "line 5:" in report
        assert counts() == before

    def test_skip_bad_imports_only_the_good_agreement(self, demo, tmp_path):
        before = counts()
        call_command("import_agreements", str(self.spoilt_file(tmp_path)), "--skip-bad", stdout=(out := StringIO()),
                     stderr=StringIO())
        assert "1 agreement(s) imported as drafts" in out.getvalue()
        assert counts()["agreements"] == before["agreements"] + 1
        assert Agreement.objects.filter(versions__title__startswith="School safeguarding").exists()


@pytest.mark.django_db
class CsvInjectionTests:
    def test_cells_that_a_spreadsheet_would_run_are_neutralised_in_the_export(self, client, world):
        """An outsider controls the username of a failed sign-in, which lands in the auditors' CSV export."""
        attacks = ["=HYPERLINK(\"http://evil\")", "+1+1", "-2+3", "@SUM(A1)", "safe name"]
        for username in attacks:
            client.post("/accounts/login/", {"username": username, "password": "wrong"}, REMOTE_ADDR="203.0.113.9")
        for ref in ("\tTAB", "\rCR"):  # the sign-in form strips these; any other writer might not
            record(action=AuditAction.AUTH_LOGIN_FAILED, object_type="user", object_ref=ref)
        response = call(client, world["tokens"]["superuser"], "get", "/api/v1/audit/export/",
                        action="auth.login_failed")
        assert response.status_code == 200
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
        refs = {row["object_ref"] for row in rows}
        assert refs == {"'=HYPERLINK(\"http://evil\")", "'+1+1", "'-2+3", "'@SUM(A1)", "safe name", "'\tTAB", "'\rCR"}
