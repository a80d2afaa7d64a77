"""More of what the database owner or the runtime role can do to the audit log, and how each is caught."""

import datetime as dt
import time
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, OperationalError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from audit import chain, triggers, witness
from audit.choices import AuditAction
from audit.models import AuditAlert, AuditCheckpoint, AuditEvent, AuditSeal, AuditVerification
from audit.selectors import last_verification, sealing_overdue
from audit.services import record, verification_run

from .conftest import attacker, make_events, sealed_events
from .test_attacks import offline, offline_fails_at, three_checkpoints


@pytest.mark.django_db
class OfflineWitnessTests:
    def test_deleting_the_oldest_events_fails_offline_at_position_1(self, tmp_path, superuser):
        """Seals and events at the start of the log go; their checkpoints stay. The export starts later."""
        three_checkpoints()
        with attacker() as cursor:
            cursor.execute("SELECT seq FROM audit_auditseal WHERE position <= 4")
            gone = [row[0] for row in cursor.fetchall()]
            cursor.execute("DELETE FROM audit_auditseal WHERE position <= 4")
            cursor.execute(f"DELETE FROM audit_auditevent WHERE seq IN ({','.join(map(str, gone))})")  # noqa: S608
        assert not chain.verify().ok
        result = offline(tmp_path, superuser)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "(position 1)" in result.stdout and "position 1 is missing" in result.stdout, result.stdout

    def test_deleting_every_checkpoint_fails_offline(self, tmp_path, superuser):
        three_checkpoints()
        with attacker() as cursor:
            cursor.execute("DELETE FROM audit_auditcheckpoint")
        result = offline(tmp_path, superuser)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "hold all" not in result.stderr
        assert "(position 3)" in result.stdout and "witnessed at position 3" in result.stdout, result.stdout

    def test_deleting_the_leading_checkpoints_fails_offline(self, tmp_path, superuser):
        three_checkpoints()
        with attacker() as cursor:
            cursor.execute("DELETE FROM audit_auditcheckpoint WHERE position <= 3")
        offline_fails_at(tmp_path, superuser, 3)


def plant(**fields) -> AuditEvent:
    """One INSERT, as the runtime role (which may insert events) could run it."""
    values = {"actor_name": "mallory", "action": AuditAction.CHECK_ALLOWED, "object_type": "dataset",
              "object_ref": "planted"} | fields
    with transaction.atomic():
        return AuditEvent.objects.create(**values)


@pytest.mark.django_db
class PlantedRowTests:
    def test_the_runtime_role_cannot_insert_an_event_dated_in_the_future(self):
        sealed_events(2)
        with pytest.raises(DatabaseError):
            plant(at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
        assert not AuditEvent.objects.filter(object_ref="planted").exists()
        plant(at=timezone.now() + dt.timedelta(seconds=30))  # clock skew between web processes is fine

    def test_a_future_dated_row_is_itself_blamed_not_the_real_event_after_it(self):
        sealed_events(2)
        with attacker():
            triggers.uninstall_guard(connection)
            planted = plant(at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC)).seq
        triggers.install(connection)
        sealed_events(1)
        alert = AuditAlert.objects.get()
        assert f"seq {planted} " in alert.message and "in the future" in alert.message, alert.message
        result = chain.verify()
        assert not result.ok and result.first_bad_seq == planted, result.summary
        assert "slipped into the past" not in result.message

    def test_a_row_whose_detail_is_not_in_the_applications_form_raises_the_alert_when_sealed(self):
        # The runtime role may INSERT: a row written around the application, its detail not the canonical text
        # the application stores. Verification hashes the stored text as it is (and would pass it), so the sealer,
        # which decodes each new detail once, names it to the auditors; the honest rows around it raise nothing.
        sealed_events(2)
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO audit_auditevent (at, actor_name, agency_code, action, object_type, "
                           "object_ref, detail, request_id, agencies) VALUES (%s, 'mallory', '', 'check.allowed', "
                           "'dataset', 'planted', %s, '', '[]')", [timezone.now(), '{"b": 1, "a": 2}'])
        sealed_events(2)
        planted = AuditEvent.objects.get(object_ref="planted").seq
        alert = AuditAlert.objects.get()
        assert f"seq {planted} " in alert.message and "canonical" in alert.message, alert.message
        assert alert.position == AuditSeal.objects.get(event_id=planted).position
        assert chain.verify().ok  # sealed as stored: what the chain holds it to

    def test_a_future_dated_row_does_not_stall_the_sealer(self):
        """The owner plants a row dated 2099 with the guard lifted: the chain is intact, so the sealer keeps signing
        the honest events after it, and raises the alert (log, banner, email) naming the planted row's position."""
        sealed_events(2)
        with attacker():
            triggers.uninstall_guard(connection)
            planted = plant(at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC)).seq
        triggers.install(connection)
        honest = sealed_events(3)
        head = AuditSeal.objects.get(event_id=honest[-1]).position
        assert AuditCheckpoint.objects.order_by("-position").first().position == head, "signing stalled"
        position = AuditSeal.objects.get(event_id=planted).position
        alert = AuditAlert.objects.get()
        assert alert.position == position and f"position {position}" in alert.message, alert.message
        assert f"seq {planted} " in alert.message and "in the future" in alert.message, alert.message
        later = sealed_events(2)  # and it goes on signing, without raising the same alert again
        assert AuditCheckpoint.objects.order_by("-position").first().position == \
            AuditSeal.objects.get(event_id=later[-1]).position
        assert AuditAlert.objects.count() == 1
        result = chain.verify()
        assert not result.ok and result.first_bad_seq == planted and result.first_bad_position == position

    def test_the_runtime_role_cannot_insert_an_event_with_seq_below_1(self):
        sealed_events(1)
        for seq in (-1, 0):
            with pytest.raises(DatabaseError):
                plant(seq=seq)
        assert not AuditEvent.objects.filter(object_ref="planted").exists()

    def test_an_event_with_seq_below_1_is_reported_and_its_pages_work(self, client, superuser):
        sealed_events(2)
        with attacker():
            triggers.uninstall_guard(connection)
            plant(seq=-1, at=timezone.now() - dt.timedelta(hours=1))
        triggers.install(connection)
        result = chain.verify()
        assert not result.ok and result.first_bad_seq == -1, result.summary
        assert "never sealed" in result.message
        client.force_login(superuser)
        page = client.get("/audit/", {"action": AuditAction.CHECK_ALLOWED})
        assert page.status_code == 200
        assert 'href="/audit/events/-1/"' in page.content.decode()
        assert client.get("/audit/events/-1/").status_code == 200


def witness_file() -> Path:
    return next(Path(settings.AUDIT_WITNESS_DIR).glob("checkpoints-*.jsonl"))


@pytest.mark.django_db
class DamagedWitnessTests:
    def test_a_torn_last_line_is_skipped_and_the_next_append_does_not_glue_onto_it(self, tmp_path, superuser):
        three_checkpoints()
        with witness_file().open("a") as handle:  # what a writer that died mid-write leaves
            handle.write('{"position":999999,"head')
        assert chain.verify().ok
        sealed_events(2)  # the next checkpoint is appended after it
        assert AuditCheckpoint.objects.order_by("-position").first().position == 10
        assert witness.latest()["position"] == 10
        assert '{"position":999999,"head\n\n{' in witness_file().read_text()
        assert chain.verify().ok
        assert not AuditAlert.objects.exists()
        result = offline(tmp_path, superuser)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_a_garbage_line_in_the_middle_fails_clearly_and_alerts(self, tmp_path, superuser):
        three_checkpoints()
        lines = witness_file().read_text().splitlines()
        lines.insert(1, '{"position":999999,"head')
        witness_file().write_text("\n".join(lines) + "\n")
        result = chain.verify()
        assert not result.ok and "line 2 is not a witnessed checkpoint" in result.message, result.summary
        with pytest.raises(CommandError, match="FAILED.*line 2 is not a witnessed checkpoint"):
            call_command("verify_audit")
        sealed_events(1)  # the sealer refuses to sign, and raises the alert
        assert AuditCheckpoint.objects.order_by("-position").first().position == 8
        alert = AuditAlert.objects.get()
        assert "line 2 is not a witnessed checkpoint" in alert.message
        offline_result = offline(tmp_path, superuser)
        assert offline_result.returncode == 1
        assert offline_result.stdout.startswith("FAILED") and "line 2" in offline_result.stdout
        assert "Traceback" not in offline_result.stderr


@pytest.mark.django_db
class PlantedVerificationTests:
    def test_the_runtime_role_cannot_insert_a_verification_dated_in_the_future(self):
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditVerification.objects.create(ok=True, ran_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC))

    def test_a_future_dated_verification_moves_neither_the_panel_nor_the_incremental_anchor(self, client, superuser):
        three_checkpoints()
        assert verification_run().ok  # verified up to the head
        real = AuditVerification.objects.get()
        with attacker():
            triggers.uninstall_guard(connection)
            AuditVerification.objects.create(ok=True, ran_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC), events=3,
                                             verified_position=3, message="forged")
        triggers.install(connection)
        assert last_verification() == real
        client.force_login(superuser)
        assert "2099" not in client.get("/audit/").content.decode()
        result = chain.verify(incremental=True)
        assert result.ok and result.from_position == real.verified_position + 1, result

    def test_a_forged_verification_dated_now_moves_neither_the_panel_nor_the_incremental_anchor(self, client,
                                                                                               superuser):
        """The runtime role may insert verification rows (the worker runs as it): a row dated now, claiming a run
        verified a later witnessed checkpoint, would skip a range of the next incremental run and show on the panel.
        Both trust only runs the witness holds, signed."""
        three_checkpoints()
        assert verification_run().ok
        real = AuditVerification.objects.get()
        sealed_events(3)  # a later witnessed checkpoint the forged row claims was verified
        later = witness.latest()["position"]
        assert later > real.verified_position
        forged = AuditVerification.objects.create(ok=True, events=later, verified_position=later, message="forged")
        assert last_verification() == real
        client.force_login(superuser)
        page = client.get("/audit/").content.decode()
        assert "forged" not in page and "not in the witness" in page
        result = chain.verify(incremental=True)
        assert result.ok and result.kind == "incremental", result
        assert result.from_position == real.verified_position + 1, result
        assert forged.pk not in {entry["id"] for entry in chain.witnessed_verifications()}

    def test_a_forged_failure_is_still_shown(self):
        """Forging a failed run only raises the alarm: a failure is shown whatever wrote it."""
        three_checkpoints()
        assert verification_run().ok
        failed = AuditVerification.objects.create(ok=False, message="FAILED at seq 2")
        assert last_verification() == failed


@pytest.mark.django_db(transaction=True)
class BeatDisabledTests:
    @override_settings(AUDIT_SEAL_ON_COMMIT=False, AUDIT_CHECKPOINT_SECONDS=1, AUDIT_UNSIGNED_TAIL_SECONDS=3)
    def test_the_tail_is_signed_within_the_bound_with_the_beat_schedule_disabled(self):
        """With a broker, beat seals; its schedule is a row the runtime role can write. Disabled, the processes that
        write events notice their events were not sealed, seal and sign them within the bound, and raise the alert."""
        from django_celery_beat.models import IntervalSchedule, PeriodicTask

        every = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.create(name="audit-seal", task="audit.seal", interval=every)
        with connection.cursor() as cursor:  # one UPDATE, no signal, no audit event
            cursor.execute("UPDATE django_celery_beat_periodictask SET enabled = false WHERE task = 'audit.seal'")
        bound = settings.AUDIT_UNSIGNED_TAIL_SECONDS
        for i in range(5):
            with transaction.atomic():
                event = record(action=AuditAction.CHECK_ALLOWED, object_ref=f"after-beat-{i}")
            committed = time.monotonic()
            time.sleep(0.05)
        signed = False
        while time.monotonic() - committed < bound + 1:
            try:
                seal = AuditSeal.objects.filter(event_id=event.seq).first()
                signed = seal is not None and AuditCheckpoint.objects.filter(position__gte=seal.position).exists()
            except OperationalError:  # SQLite's shared in-memory test database: the sealing thread holds the table
                signed = False
            if signed:
                break
            time.sleep(0.05)
        waited = time.monotonic() - committed
        chain.cancel_deferred_checkpoint()  # and wait for a timer still running, before reading and verifying
        assert signed, f"the last event was still unsigned {waited:.1f} s after it committed"
        assert waited <= bound
        alert = AuditAlert.objects.get()
        assert "audit.seal is not running, or its schedule was disabled" in alert.message
        assert chain.verify().ok


@pytest.mark.django_db
class SealingOverdueTests:
    def test_the_auditors_page_and_healthz_say_when_sealing_is_overdue(self, client, superuser, settings):
        settings.AUDIT_SEAL_ON_COMMIT = False  # as with a broker: nothing seals but beat, and beat is not running
        sealed_events(2)
        unsigned = make_events(2)[0]
        assert sealing_overdue() is None  # not yet: within AUDIT_SEAL_WINDOW_SECONDS
        later = timezone.now() + dt.timedelta(seconds=settings.AUDIT_SEAL_WINDOW_SECONDS + 1)
        assert sealing_overdue(now=later)["seq"] == unsigned
        settings.AUDIT_SEAL_WINDOW_SECONDS = 0
        client.force_login(superuser)
        assert "Sealing is overdue: event " + str(unsigned) in client.get("/audit/").content.decode()
        health = client.get("/healthz", REMOTE_ADDR="127.0.0.1").json()
        assert health["status"] == "degraded"
        assert health["audit_sealing"] == {"ok": False, "unsigned_from_seq": unsigned, "last_signed": mock.ANY}
        chain.seal_pending(force_checkpoint=True)
        assert sealing_overdue() is None
        assert client.get("/healthz", REMOTE_ADDR="127.0.0.1").json()["audit_sealing"] == {"ok": True}
