"""The witness outside the database: what it holds, how processes share it, and the settings that guard it."""

import json
import multiprocessing
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from audit import chain, witness
from audit.checks import unsigned_tail_check, witness_check
from audit.models import AuditCheckpoint

from .conftest import sealed_events


def entry(position: int, created_at: str = "2026-12-07T10:00:00.000000Z") -> dict:
    return {"position": position, "head_seq": position, "head_hash": "a" * 64, "seq_high": position,
            "created_at": created_at, "prev_position": position - 1, "prev_hash": "b" * 64, "hash": "c" * 64,
            "key_id": "k", "signature": "s"}


def _append_next(directory: str, count: int) -> None:
    """Read the latest entry and append the next, `count` times: only safe if the lock serialises processes."""
    from django.conf import settings

    settings.AUDIT_WITNESS_DIR = directory
    for _ in range(count):
        with witness.sealer_lock():
            last = witness.latest()
            witness.append(entry((last["position"] if last else 0) + 1))


@pytest.mark.django_db
class WitnessTests:
    def test_every_checkpoint_is_appended_to_the_witness_and_chains(self, settings):
        sealed_events(3)
        sealed_events(2)
        witnessed = witness.read()
        rows = list(AuditCheckpoint.objects.order_by("position"))
        assert [(e["position"], e["head_hash"], e["hash"]) for e in witnessed] == [
            (c.position, c.head_hash, c.hash) for c in rows]
        assert (witnessed[1]["prev_position"], witnessed[1]["prev_hash"]) == (3, witnessed[0]["hash"])
        files = list(Path(settings.AUDIT_WITNESS_DIR).glob("checkpoints-*.jsonl"))
        assert len(files) == 1 and files[0].name == f"checkpoints-{witnessed[0]['created_at'][:7]}.jsonl"
        assert witness.latest() == witnessed[-1]

    def test_the_latest_entry_is_found_across_monthly_files(self):
        witness.append(entry(1, "2026-11-30T23:59:59.000000Z"))
        witness.append(entry(2, "2026-12-01T00:00:00.000000Z"))
        assert witness.latest()["position"] == 2
        assert [e["position"] for e in witness.read(position_from=2)] == [2]
        assert [e["position"] for e in witness.read()] == [1, 2]

    def test_a_torn_last_line_from_a_writer_that_died_is_ignored(self, settings):
        witness.append(entry(1))
        path = next(Path(settings.AUDIT_WITNESS_DIR).glob("*.jsonl"))
        with path.open("a") as handle:
            handle.write('{"position": 2, "head_')
        assert witness.latest()["position"] == 1
        assert [e["position"] for e in witness.read()] == [1]

    def test_several_processes_share_one_witness_safely(self, settings):
        processes = [multiprocessing.get_context("fork").Process(
            target=_append_next, args=(settings.AUDIT_WITNESS_DIR, 50)) for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
            assert process.exitcode == 0
        lines = [json.loads(line) for path in Path(settings.AUDIT_WITNESS_DIR).glob("*.jsonl")
                 for line in path.read_text().splitlines()]
        assert sorted(e["position"] for e in lines) == list(range(1, 201))  # none lost, none written twice

    def test_a_checkpoint_is_not_signed_without_a_witness_directory(self, settings):
        settings.AUDIT_WITNESS_DIR = ""
        with pytest.raises(ImproperlyConfigured, match="AUDIT_WITNESS_DIR"):
            sealed_events(1)
        assert not AuditCheckpoint.objects.exists()


class SettingsChecksTests:
    def test_production_without_a_witness_directory_is_refused(self, settings):
        settings.AUDIT_WITNESS_DIR = ""
        assert [error.id for error in witness_check(None)] == ["audit.E003"]

    def test_the_unsigned_tail_bound_must_follow_from_the_sealing_settings(self, settings):
        settings.AUDIT_SEAL_ON_COMMIT, settings.AUDIT_UNSIGNED_TAIL_SECONDS = False, 10
        settings.AUDIT_CHECKPOINT_SECONDS, settings.AUDIT_SEAL_INTERVAL_SECONDS = 5, 2
        assert unsigned_tail_check(None) == []
        settings.AUDIT_CHECKPOINT_SECONDS = 10
        assert [error.id for error in unsigned_tail_check(None)] == ["audit.E004"]
        settings.AUDIT_SEAL_ON_COMMIT = True  # the embedded default signs by a timer, with no beat interval
        settings.AUDIT_CHECKPOINT_SECONDS = 9
        assert unsigned_tail_check(None) == []

    def test_the_defaults_state_a_ten_second_bound(self, settings):
        from django.conf import settings as configured

        assert configured.AUDIT_UNSIGNED_TAIL_SECONDS == 10
        assert unsigned_tail_check(None) == []
        chain.cancel_deferred_checkpoint()
