"""Several processes sealing and signing into one witness at once, as web, worker and beat processes do."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from audit import chain, witness
from audit.choices import AuditAction
from audit.models import AuditAlert, AuditCheckpoint
from audit.services import record
from tests.worker import ROOT, _database_url

SEALER = """
import pathlib, time, django
django.setup()
from audit.chain import seal_pending
folder = pathlib.Path({folder!r})
(folder / "ready-{n}").touch()
while not (folder / "stop").exists():
    seal_pending()
    time.sleep(0.01)
seal_pending()
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sealers_in_several_processes_share_one_witness_in_order(tmp_path):
    env = {**os.environ, "DATABASE_URL": _database_url(), "AUDIT_WITNESS_DIR": str(settings.AUDIT_WITNESS_DIR),
           "AUDIT_CHECKPOINT_SECONDS": "0", "AUDIT_SEAL_ON_COMMIT": "0", "LOG_LEVEL": "WARNING"}
    sealers = [subprocess.Popen([sys.executable, "-c", SEALER.format(folder=str(tmp_path), n=n)], cwd=ROOT, env=env,
                                stderr=subprocess.PIPE, text=True) for n in range(3)]
    started = time.monotonic()
    while len(list(tmp_path.glob("ready-*"))) < 3:  # all three sealing before the writing starts
        assert time.monotonic() - started < 120, "the sealer processes did not start"
        time.sleep(0.05)
    deadline = time.monotonic() + 3
    written = 0
    while time.monotonic() < deadline:
        record(action=AuditAction.CHECK_ALLOWED, object_ref=f"w-{written}")  # autocommit: one commit each
        written += 1
    (tmp_path / "stop").touch()
    for process in sealers:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors[-2000:]
    lines = [json.loads(line) for path in sorted(Path(settings.AUDIT_WITNESS_DIR).glob("checkpoints-*.jsonl"))
             for line in path.read_text().splitlines()]
    positions = [entry["position"] for entry in lines]
    assert len(positions) > 5, "the sealers hardly signed anything: no contention was tested"
    assert positions == sorted(set(positions)), "the witness holds a checkpoint twice or out of order"
    assert positions == list(AuditCheckpoint.objects.order_by("position").values_list("position", flat=True))
    for before, after in zip(lines, lines[1:], strict=False):  # each covers the one before it
        assert (after["prev_position"], after["prev_hash"]) == (before["position"], before["hash"])
    assert not AuditAlert.objects.exists()
    result = chain.verify()  # then seals and signs anything written after the sealers stopped
    assert result.ok, result.summary
    assert witness.latest()["position"] == written
