"""What someone with the database owner's rights can do to the audit log, and how each attack is now caught.

Each attack lifts the append-only triggers, as the role that ran `migrate` could, then hides its work the way
docs/audit.md describes the algorithm: recompute every hash after the change and delete the signed checkpoints
that no longer match. Without a witness outside the database, `verify_audit` then signed the forged head and
passed. Now the witness (AUDIT_WITNESS_DIR) remembers every checkpoint: verification fails naming the first
position that disagrees, the sealer refuses to sign and alerts, and the offline verifier agrees.
"""

import json
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import override_settings

from audit import chain
from audit.choices import AuditAction
from audit.models import AuditAlert, AuditCheckpoint, AuditSeal
from audit.services import record
from audit.tasks import notify_alert

from .conftest import attacker, download_for_offline, run_offline, sealed_events
from .test_chain import rehash_from


def three_checkpoints() -> list[int]:
    """Eight events, signed at positions 3, 6 and 8 (each checkpoint also witnessed)."""
    return sealed_events(3) + sealed_events(3) + sealed_events(2)


def drop_checkpoints_from(cursor, position: int) -> None:
    cursor.execute("DELETE FROM audit_auditcheckpoint WHERE position >= %s", [position])


def caught_at(position: int) -> chain.VerifyResult:
    """verify_audit fails, naming `position` (and the seq sealed there, if it is still there)."""
    result = chain.verify()
    assert not result.ok, "verify_audit passed a forged chain"
    assert result.first_bad_position == position, result.summary
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq FROM audit_auditseal WHERE position = %s", [position])
        row = cursor.fetchone()
    if row:
        assert result.first_bad_seq == row[0]
    return result


def offline(tmp_path, user) -> subprocess.CompletedProcess:
    """Export the log, its checkpoints and the key through the API, and check them with the offline script and a
    copy of the witness."""
    export, checkpoints, key = download_for_offline(tmp_path, user)
    return run_offline(export, "--checkpoints", checkpoints, "--public-key", key, "--witness",
                       settings.AUDIT_WITNESS_DIR)


def offline_fails_at(tmp_path, user, position: int) -> None:
    result = offline(tmp_path, user)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"(position {position})" in result.stdout, result.stdout


@pytest.mark.django_db
class AttackTests:
    def test_rewrite_rehash_and_drop_checkpoints(self, tmp_path, superuser):
        seqs = three_checkpoints()
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = 'someone-else' WHERE seq = %s", [seqs[4]])
            rehash_from(5)
            drop_checkpoints_from(cursor, 5)
        # Exactly the rewritten event (position 5), not the range after the last checkpoint that still agrees (3).
        result = caught_at(5)
        assert result.first_bad_seq == seqs[4]
        assert "witnessed at position 6" in result.message
        offline_fails_at(tmp_path, superuser, 5)

    def test_reorder(self, tmp_path, superuser):
        seqs = three_checkpoints()
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditseal SET position = 1000 WHERE seq = %s", [seqs[4]])
            cursor.execute("UPDATE audit_auditseal SET position = 5 WHERE seq = %s", [seqs[5]])
            cursor.execute("UPDATE audit_auditseal SET position = 6 WHERE seq = %s", [seqs[4]])
            rehash_from(5)
            drop_checkpoints_from(cursor, 5)
        result = caught_at(5)  # the first of the two swapped events
        assert result.first_bad_seq == seqs[5]
        offline_fails_at(tmp_path, superuser, 5)

    def test_delete(self, tmp_path, superuser):
        seqs = three_checkpoints()
        with attacker() as cursor:
            cursor.execute("DELETE FROM audit_auditseal WHERE seq = %s", [seqs[4]])
            cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [seqs[4]])
            for position in range(6, 9):  # close the gap, one row at a time (positions are unique)
                cursor.execute("UPDATE audit_auditseal SET position = %s WHERE position = %s", [position - 1, position])
            rehash_from(5)
            drop_checkpoints_from(cursor, 5)
        result = caught_at(5)  # where the deleted event was; the event after it moved up into its place
        assert result.first_bad_seq == seqs[5]
        offline_fails_at(tmp_path, superuser, 5)

    def test_delete_a_run_of_checkpoints(self, tmp_path, superuser):
        three_checkpoints()
        with attacker() as cursor:  # the events are untouched; the signed checkpoints at 6 and 8 go
            cursor.execute("DELETE FROM audit_auditcheckpoint WHERE position > 3")
        result = caught_at(6)  # the first witnessed checkpoint the database no longer holds
        assert result.first_bad_seq == AuditSeal.objects.get(position=6).event_id
        assert "checkpoint witnessed at position 6" in result.message
        offline_fails_at(tmp_path, superuser, 6)

    def test_restore_an_older_backup_and_write(self, tmp_path, superuser, client, django_capture_on_commit_callbacks,
                                               mailoutbox):
        seqs = three_checkpoints()
        # The database as a backup holds it, taken when position 4 was sealed but not yet signed (the last
        # checkpoint then was at 3); the witness is elsewhere and remembers 6 and 8 too.
        with attacker() as cursor:
            cursor.execute("DELETE FROM audit_auditcheckpoint WHERE position > 3")
            cursor.execute("DELETE FROM audit_auditseal WHERE position > 4")
            cursor.execute("DELETE FROM audit_auditevent WHERE seq > %s", [seqs[3]])
        superuser.email = "root@example.org"
        superuser.save()
        # ... and then written to again, as the restored application would.
        with django_capture_on_commit_callbacks(execute=True):
            for i in range(4):
                record(action=AuditAction.CHECK_ALLOWED, object_ref=f"after-restore-{i}")
            assert chain.seal_pending(force_checkpoint=True).checkpoint is None, "the sealer signed a forked head"
        assert AuditCheckpoint.objects.order_by("-position").first().position == 3
        first_after_restore = AuditSeal.objects.get(position=5).event_id
        alert = AuditAlert.objects.get()
        assert "refused to sign" in alert.message
        assert alert.position == 5 and "position 5 " in alert.message  # the first write after the restore
        notify_alert(alert.pk)  # queued on commit (run inline without a broker); here run as the worker would
        assert {tuple(m.to) for m in mailoutbox} == {("root@example.org",)}
        assert "refused to sign" in mailoutbox[-1].body
        assert "First position that disagrees: 5\n" in mailoutbox[-1].body
        client.force_login(superuser)
        assert "the first position that disagrees with the witness is 5." in client.get("/audit/").content.decode()
        result = caught_at(5)
        assert result.first_bad_seq == first_after_restore
        offline_fails_at(tmp_path, superuser, 5)

    def test_the_sealer_recomputes_from_the_witness_and_never_signs_a_rewritten_head(self):
        seqs = three_checkpoints()
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = 'someone-else' WHERE seq = %s", [seqs[6]])
            rehash_from(7)
            drop_checkpoints_from(cursor, 7)
        sealed_events(1)
        assert AuditCheckpoint.objects.order_by("-position").first().position == 6
        assert AuditAlert.objects.count() == 1
        caught_at(7)

    def test_the_witness_alone_is_not_enough_to_forge(self):
        """Rewriting the witness needs the signing key too: an entry it did not sign is reported."""
        three_checkpoints()
        path = next(Path(settings.AUDIT_WITNESS_DIR).glob("checkpoints-*.jsonl"))
        lines = path.read_text().splitlines()
        entry = json.loads(lines[1])
        entry["head_hash"] = "f" * 64
        lines[1] = json.dumps(entry)
        path.write_text("\n".join(lines) + "\n")
        result = chain.verify()
        assert not result.ok and result.first_bad_position == 6
        assert "not signed by a trusted key" in result.message


@pytest.mark.django_db(transaction=True)
class UnsignedTailTests:
    """The embedded default (no broker): sealed on commit, and the tail signed by a timer when writing stops."""

    @override_settings(AUDIT_SEAL_ON_COMMIT=True, AUDIT_CHECKPOINT_SECONDS=1, AUDIT_UNSIGNED_TAIL_SECONDS=3)
    def test_no_event_stays_unsigned_longer_than_the_bound(self):
        bound = settings.AUDIT_UNSIGNED_TAIL_SECONDS
        committed: list[tuple[int, float]] = []
        for i in range(30):  # a burst of activity, then quiet
            with transaction.atomic():
                event = record(action=AuditAction.CHECK_ALLOWED, object_ref=f"burst-{i}")
            committed.append((event.seq, time.monotonic()))
            time.sleep(0.02)
        last_seq, last_at = committed[-1]
        position = AuditSeal.objects.get(event_id=last_seq).position
        while time.monotonic() - last_at < bound + 1:
            signed = AuditCheckpoint.objects.filter(position__gte=position).exists()
            if signed:
                break
            time.sleep(0.05)
        waited = time.monotonic() - last_at
        assert signed, f"the last event was still unsigned {waited:.1f} s after it committed"
        assert waited <= bound
        assert chain.verify().ok

    @override_settings(AUDIT_SEAL_ON_COMMIT=True, AUDIT_CHECKPOINT_SECONDS=1, AUDIT_UNSIGNED_TAIL_SECONDS=3)
    def test_delete_the_unsigned_tail_after_a_quiet_spell(self):
        for i in range(3):
            with transaction.atomic():
                record(action=AuditAction.CHECK_ALLOWED, object_ref=f"signed-{i}")
        signed = AuditCheckpoint.objects.order_by("-position").first().position  # the first commit was signed
        for i in range(5):
            with transaction.atomic():
                record(action=AuditAction.CHECK_DENIED, object_ref=f"tail-{i}")
        time.sleep(settings.AUDIT_UNSIGNED_TAIL_SECONDS + 0.5)  # quiet
        # The tail that was unsigned when writing stopped, and any checkpoint over it, is deleted.
        with transaction.atomic(), attacker() as cursor:
            cursor.execute("SELECT seq FROM audit_auditseal WHERE position > %s", [signed])
            tail = [row[0] for row in cursor.fetchall()]
            assert tail
            drop_checkpoints_from(cursor, signed + 1)
            cursor.execute("DELETE FROM audit_auditseal WHERE position > %s", [signed])
            cursor.execute(f"DELETE FROM audit_auditevent WHERE seq IN ({','.join(map(str, tail))})")  # noqa: S608
        result = chain.verify()
        assert not result.ok, "deleting the unsigned tail went unnoticed"
        assert result.first_bad_position == signed + 1, result.summary
