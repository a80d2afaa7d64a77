"""Verification that scales: incremental from the last verified witnessed checkpoint, full in parallel ranges."""

import pytest
from django.db import connection

from audit import chain
from audit.models import AuditVerification
from audit.services import verification_run

from .conftest import attacker, make_events, sealed_events
from .test_chain import rehash_from


@pytest.mark.django_db
class IncrementalTests:
    def test_an_incremental_run_walks_only_what_was_added_since_the_last_verified_checkpoint(self):
        sealed_events(5)
        first = verification_run()
        assert (first.kind, first.events, first.verified_position) == ("full", 5, 5)
        sealed_events(3)  # with the first run's own audit.verified event: positions 6 to 9
        second = verification_run(incremental=True)
        assert second.ok, second.summary
        assert (second.kind, second.from_position, second.events) == ("incremental", 6, 4)
        assert second.verified_position == 9
        row = AuditVerification.objects.order_by("-id").first()
        assert (row.kind, row.from_position, row.verified_position) == ("incremental", 6, 9)

    def test_without_a_verified_anchor_an_incremental_run_walks_everything(self):
        sealed_events(4)
        result = verification_run(incremental=True)
        assert (result.kind, result.from_position, result.events) == ("full", 1, 4)

    def test_an_incremental_run_catches_a_rewrite_after_its_anchor(self):
        sealed_events(5)
        verification_run()
        seqs = sealed_events(3) + sealed_events(2)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = 'x' WHERE seq = %s", [seqs[3]])
            rehash_from(10)
            cursor.execute("DELETE FROM audit_auditcheckpoint WHERE position >= 10")
        result = verification_run(incremental=True)
        assert not result.ok and result.kind == "incremental"
        assert result.first_bad_position == 10

    def test_an_incremental_run_fails_when_its_anchor_was_removed_from_the_database(self):
        sealed_events(5)
        verification_run()
        sealed_events(2)
        with attacker() as cursor:
            cursor.execute("DELETE FROM audit_auditcheckpoint WHERE position = 5")
        result = verification_run(incremental=True)
        assert not result.ok and result.first_bad_position == 5

    def test_the_nightly_task_is_incremental(self):
        from audit.tasks import verify_nightly

        sealed_events(3)
        verification_run()
        make_events(2)
        chain.seal_pending(force_checkpoint=True)
        assert verify_nightly.apply().get() is True
        assert AuditVerification.objects.order_by("-id").first().kind == "incremental"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class ParallelFullTests:
    """Several processes walk position ranges of one exported snapshot; the seams between ranges are checked."""

    def _log(self) -> list[int]:
        seqs = []
        for _ in range(6):
            seqs += make_events(50)
            chain.seal_pending(force_checkpoint=True)
        return seqs

    def test_ranges_in_parallel_give_the_same_answer_as_one_walk(self):
        self._log()
        single = chain.verify(processes=1)
        parallel = chain.verify(processes=3, min_range=1)
        assert single.ok and parallel.ok, parallel.summary
        assert parallel.events == single.events == 300
        assert parallel.verified_position == single.verified_position == 300

    def test_a_change_at_a_seam_between_ranges_is_caught(self):
        self._log()
        seam = 1 + 300 // 3  # the first position of the second range
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = 'x' WHERE seq = "
                           "(SELECT seq FROM audit_auditseal WHERE position = %s)", [seam])
            rehash_from(seam)
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")
        result = chain.verify(processes=3, min_range=1)
        assert not result.ok
        assert result.first_bad_position == 101  # the first position after the checkpoint at 100


@pytest.mark.django_db
class SeqOrderTests:
    """The walk reads in seq order (no sort of the whole log) and puts the few late commits back in position order."""

    def late_commit(self) -> tuple[list[int], int]:
        from audit.models import AuditEvent

        seqs = sealed_events(3)
        ahead = AuditEvent.objects.create(seq=seqs[-1] + 100, action="check.allowed", actor_name="ahead")
        chain.seal_pending(force_checkpoint=True)  # position 4
        late = AuditEvent.objects.create(seq=seqs[-1] + 50, action="check.allowed", actor_name="late")
        chain.seal_pending(force_checkpoint=True)  # position 5, though its seq is lower
        return [*seqs, ahead.seq, late.seq], late.seq

    def test_an_event_sealed_after_a_higher_seq_verifies(self):
        seqs, late = self.late_commit()
        assert chain._seq_at(5) == late
        result = chain.verify()
        assert result.ok and result.events == 5, result.summary

    def test_positions_too_scattered_to_hold_are_read_in_position_order(self, monkeypatch):
        seqs, late = self.late_commit()
        monkeypatch.setattr(chain, "REORDER_LIMIT", 0)
        assert chain.verify().ok
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = 'x' WHERE seq = %s", [late])
        result = chain.verify()
        assert (result.ok, result.first_bad_position, result.first_bad_seq) == (False, 5, late)
