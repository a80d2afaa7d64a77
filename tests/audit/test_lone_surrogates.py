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
