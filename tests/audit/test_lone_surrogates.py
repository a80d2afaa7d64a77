"""A detail may hold a lone surrogate: JSON carries it (\\ud800), the stored canonical text is ASCII, but UTF-8 cannot
encode it. The event's page and the JSON Lines export must still show it, and the export must still verify offline."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit import chain
from audit.choices import AuditAction
from audit.services import record

from .conftest import download_for_offline, run_offline


@pytest.mark.django_db
def test_a_detail_holding_a_lone_surrogate_is_shown_exported_and_verified(agency, auditor, tmp_path):
    seq = record(action=AuditAction.CHECK_ALLOWED, object_type="dataset", object_ref="ds-1", agency=agency,
                 detail={"reason": "a\ud800b", "\udc00": 1}).seq
    chain.seal_pending(force_checkpoint=True)
    client = Client()
    client.force_login(auditor)
    page = client.get(f"/audit/events/{seq}/")
    assert page.status_code == 200 and "a\\ud800b" in page.content.decode()
    api = APIClient()
    api.force_authenticate(auditor)
    lines = b"".join(api.get("/api/v1/audit/export/", {"format": "jsonl"}).streaming_content).splitlines()
    assert json.loads(lines[0])["detail"] == {"reason": "a\ud800b", "\udc00": 1}
    export, checkpoints, key = download_for_offline(tmp_path, auditor)
    offline = run_offline(export, "--checkpoints", checkpoints, "--public-key", key)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert chain.verify(processes=1).ok


@pytest.mark.django_db
def test_a_lone_surrogate_in_a_planted_detail_does_not_break_the_event_api_or_the_agreement_timeline(agency, auditor):
    # The API refuses request bodies holding one, so only a row written around the application carries it: the
    # auditors' API and an agreement's page must still answer (the value shown as its escape).
    from tests.factories import agreement_factory, member

    agreement = agreement_factory(lead=agency)
    record(action=AuditAction.AGREEMENT_SUSPENDED, object_type="agreement", object_ref=agreement.reference,
           agency=agency, agencies=[agency.code], detail={"reason": "paused a\ud800b"})
    api = APIClient()
    api.force_authenticate(auditor)
    response = api.get("/api/v1/audit/events/")
    assert response.status_code == 200
    assert any(event["detail"].get("reason") == "paused a\\ud800b" for event in response.json()["results"])
    client = Client()
    client.force_login(member(agency, "governance_officer"))
    page = client.get(f"/agreements/{agreement.reference}/")
    assert page.status_code == 200 and "paused a\\ud800b" in page.content.decode()
