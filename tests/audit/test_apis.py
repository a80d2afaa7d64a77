"""The auditors' API: who may read what, filters, the contract's fields, the streamed export and its audit."""

import csv
import io
import json

import pytest
from django.http import StreamingHttpResponse

from audit import chain
from audit.choices import AuditAction
from audit.models import AuditEvent
from audit.services import record
from tests.clients import api

from .conftest import make_events

CONTRACT = ["seq", "at", "actor", "agency", "action", "object_type", "object_ref", "detail", "hash", "prev_hash"]


def body(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


@pytest.fixture
def events(agency, other_agency):
    mine = make_events(3, agency=agency)
    theirs = make_events(2, agency=other_agency)
    chain.seal_pending(force_checkpoint=True)
    return mine, theirs


@pytest.mark.django_db
class EventListApiTests:
    url = "/api/v1/audit/events/"

    def test_anonymous_gets_401(self, events):
        response = api().get(self.url)
        assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"

    def test_a_member_who_is_not_an_auditor_gets_403(self, events, frontline):
        assert api(frontline).get(self.url).status_code == 403

    def test_an_auditor_of_another_agency_sees_none_of_these_events(self, events, other_agency):
        from agencies.choices import Role
        from tests.factories import member

        outsider = member(other_agency, Role.AUDITOR, username="olive")
        seqs = {row["seq"] for row in api(outsider).get(self.url).json()["results"]}
        assert seqs.isdisjoint(events[0]) and seqs >= set(events[1])

    def test_an_auditor_sees_only_the_agencies_they_audit(self, events, auditor, django_assert_max_num_queries):
        with django_assert_max_num_queries(5):
            response = api(auditor).get(self.url)
        assert response.status_code == 200
        results = response.json()["results"]
        assert [row["seq"] for row in results] == events[0]
        row = results[0]
        assert set(CONTRACT) <= set(row)
        assert (row["actor"], row["agency"], row["action"], row["object_type"]) == (
            "system", "manchester-cc", "check.allowed", "dataset")
        assert row["at"].endswith("Z") and len(row["hash"]) == 64 and row["prev_hash"]

    def test_the_search_is_itself_audited(self, events, auditor):
        api(auditor).get(self.url, {"action": "check.allowed"})
        viewed = AuditEvent.objects.get(action="audit.viewed")
        assert viewed.actor == auditor
        assert viewed.detail == {"filters": {"action": "check.allowed"}, "count": 3, "via": "api"}

    def test_superusers_see_everything(self, events, superuser, django_assert_max_num_queries):
        with django_assert_max_num_queries(5):
            results = api(superuser).get(self.url, {"page_size": 500}).json()["results"]
        assert [row["seq"] for row in results] == events[0] + events[1]

    def test_query_count_does_not_grow_with_rows(self, events, agency, auditor, django_assert_max_num_queries):
        make_events(60, agency=agency)
        with django_assert_max_num_queries(5):
            assert len(api(auditor).get(self.url, {"page_size": 100}).json()["results"]) == 63

    def test_unsealed_events_have_null_hashes(self, agency, auditor):
        make_events(1, agency=agency)
        row = api(auditor).get(self.url).json()["results"][0]
        assert row["hash"] is None and row["prev_hash"] is None

    def test_filters(self, events, agency, auditor, superuser):
        with __import__("common.context", fromlist=["bind"]).bind(actor=auditor):
            mine = record(action=AuditAction.AGREEMENT_VIEWED, object_type="agreement", object_ref="ISA-2026-0042",
                          agency=agency)
        client = api(superuser)

        def seqs(**params):
            response = client.get(self.url, params)
            assert response.status_code == 200, response.json()
            return [row["seq"] for row in response.json()["results"]]

        assert seqs(agency="mft") == events[1]
        assert seqs(action="agreement.viewed") == [mine.seq]
        assert seqs(actor="audrey") == [mine.seq]
        assert seqs(actor="system") == events[0] + events[1]
        assert seqs(object_type="agreement", object_ref="ISA-2026-0042") == [mine.seq]
        assert seqs(since="2000-01-01", until="2000-01-02") == []
        assert mine.seq in seqs(since=mine.at.isoformat())
        assert mine.seq not in seqs(until=mine.at.isoformat())

    @pytest.mark.parametrize("params", [{"since": "yesterday"}, {"action": "agreement.teleported"},
                                        {"since": "2026-02-01", "until": "2026-01-01"}, {"agency": "nope"}])
    def test_bad_filters_give_400_with_field_errors(self, auditor, params):
        response = api(auditor).get(self.url, params)
        assert response.status_code == 400
        assert set(response.json()) & set(params)


@pytest.mark.django_db
class ExportFilterTests:
    def test_an_agency_the_auditor_does_not_audit_is_a_400_not_an_empty_file(self, events, auditor):
        response = api(auditor).get("/api/v1/audit/export/", {"format": "csv", "agency": "nope"})
        assert response.status_code == 400
        assert response.json() == {"agency": ["You do not audit an agency with the code “nope”."]}
        assert not AuditEvent.objects.filter(action="audit.exported").exists()


@pytest.mark.django_db
class ExportApiTests:
    url = "/api/v1/audit/export/"

    def test_anonymous_gets_401_and_non_auditors_403(self, events, frontline):
        assert api().get(self.url).status_code == 401
        assert api(frontline).get(self.url).status_code == 403

    def test_csv_has_the_contract_header_and_only_visible_events(self, events, auditor,
                                                                 django_assert_max_num_queries):
        with django_assert_max_num_queries(6):
            response = api(auditor).get(self.url, {"format": "csv"})
            rows = list(csv.reader(io.StringIO(body(response).decode())))
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        assert rows[0][:10] == CONTRACT
        assert [int(row[0]) for row in rows[1:]] == events[0]
        assert json.loads(rows[1][7])["purpose"] == "Discharge planning"

    def test_csv_neutralises_formulas(self, agency, auditor):
        record(action=AuditAction.DATASET_VIEWED, object_type="dataset", object_ref="=HYPERLINK(\"http://x\")",
               agency=agency)
        record(action=AuditAction.DATASET_VIEWED, object_type="@SUM(A1)", object_ref="+1", agency=agency)
        rows = list(csv.reader(io.StringIO(body(api(auditor).get(self.url, {"format": "csv"})).decode())))
        assert rows[1][6] == "'=HYPERLINK(\"http://x\")"
        assert (rows[2][5], rows[2][6]) == ("'@SUM(A1)", "'+1")

    def test_jsonl_is_one_event_a_line(self, events, superuser):
        response = api(superuser).get(self.url, {"format": "jsonl", "agency": "mft"})
        assert response["Content-Type"].startswith("application/x-ndjson")
        lines = body(response).decode().splitlines()
        rows = [json.loads(line) for line in lines]
        assert [row["seq"] for row in rows] == events[1]
        assert set(CONTRACT) <= set(rows[0])

    def test_the_export_is_audited_with_its_filters_and_row_count_when_the_stream_ends(self, events, auditor):
        response = api(auditor).get(self.url, {"format": "jsonl", "action": "check.allowed", "since": "2020-01-01"})
        assert not AuditEvent.objects.filter(action="audit.exported").exists()  # nothing streamed yet
        body(response)
        exported = AuditEvent.objects.get(action="audit.exported")
        assert exported.actor == auditor and exported.object_ref == "jsonl"
        assert exported.detail["rows"] == 3 and exported.detail["complete"] is True
        assert exported.detail["filters"]["action"] == "check.allowed"
        assert exported.detail["filters"]["since"].startswith("2020-01-01")
        assert exported.request_id == response["X-Request-ID"]

    def test_a_bad_format_is_400(self, auditor):
        response = api(auditor).get(self.url, {"format": "xlsx"})
        assert response.status_code == 400 and "format" in response.json()

    def test_the_export_streams_with_a_chunked_cursor(self, agency, auditor, django_assert_max_num_queries):
        AuditEvent.objects.bulk_create(
            AuditEvent(action="check.allowed", actor_name="system", agency_id=agency.pk, agency_code=agency.code,
                       detail={"i": i}) for i in range(4500))
        response = api(auditor).get(self.url, {"format": "csv"})
        chunks = list(response.streaming_content)
        assert len(chunks) > 1  # written as it is read, not built in memory
        assert sum(chunk.count(b"\n") for chunk in chunks) == 4501


@pytest.mark.django_db
class CheckpointAndKeyApiTests:
    def test_checkpoints_and_public_key_for_auditors(self, events, auditor):
        client = api(auditor)
        checkpoints = client.get("/api/v1/audit/checkpoints/").json()["results"]
        assert checkpoints[-1]["position"] == 5 and len(checkpoints[-1]["signature"]) == 128
        key = client.get("/api/v1/audit/public-key/").json()
        assert key["algorithm"] == "Ed25519" and key["key_id"] == checkpoints[-1]["key_id"]
        assert key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")

    def test_non_auditors_cannot_read_them(self, frontline):
        assert api(frontline).get("/api/v1/audit/checkpoints/").status_code == 403
        assert api().get("/api/v1/audit/public-key/").status_code == 401

    def test_checkpoints_filter_by_position(self, events, auditor):
        make_events(2)
        chain.seal_pending(force_checkpoint=True)
        rows = api(auditor).get("/api/v1/audit/checkpoints/", {"position_from": 6}).json()["results"]
        assert [row["position"] for row in rows] == [7]


@pytest.mark.django_db
class SchemaTests:
    def test_the_schema_describes_the_audit_endpoints(self, client):
        schema = json.loads(client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
        paths = schema["paths"]
        for path in ("/api/v1/audit/events/", "/api/v1/audit/export/", "/api/v1/audit/checkpoints/",
                     "/api/v1/audit/public-key/"):
            assert path in paths
        export = paths["/api/v1/audit/export/"]["get"]
        assert {"format", "since", "until", "agency", "action"} <= {p["name"] for p in export["parameters"]}
        assert {"text/csv", "application/x-ndjson"} <= set(export["responses"]["200"]["content"])
        events = paths["/api/v1/audit/events/"]["get"]
        assert {"since", "until", "agency", "action", "actor", "object_type", "object_ref"} <= {
            p["name"] for p in events["parameters"]}
