"""audit.services.record, sealing after commit, concurrent writers, and the named system actor."""

import random
import threading
import time

import pytest
from django.db import connection, transaction
from django.test import override_settings

from audit import chain
from audit.choices import AuditAction
from audit.models import AuditEvent, AuditSeal
from audit.services import record
from audit.tasks import seal
from common import context

from .conftest import make_events


@pytest.mark.django_db
class RecordTests:
    def test_record_freezes_names_and_returns_the_seq_at_once(self, agency, auditor):
        with context.bind(actor=auditor, request_id="req-1", client_ip="10.0.0.7"):
            event = record(action=AuditAction.DATASET_VIEWED, object_type="dataset", object_ref="ds-1",
                           agency=agency, detail={"when": __import__("datetime").date(2026, 11, 24)})
        assert event.seq is not None
        stored = AuditEvent.objects.get(seq=event.seq)
        assert (stored.actor, stored.actor_name, stored.agency_id, stored.agency_code) == (
            auditor, "audrey", agency.pk, "manchester-cc")
        assert (stored.request_id, stored.client_ip, stored.detail) == ("req-1", "10.0.0.7", {"when": "2026-11-24"})

    def test_without_a_user_the_system_actor_is_named(self):
        assert record(action=AuditAction.AGREEMENT_EXPIRED).actor_name == "system"
        with context.system("expire_agreements"):
            event = record(action=AuditAction.AGREEMENT_EXPIRED, object_type="agreement", object_ref="ISA-2026-0001")
        assert (event.actor, event.actor_name) == (None, "expire_agreements")

    def test_a_celery_task_is_named_as_its_system_actor(self):
        # The prerun signal binds "task:<name>"; the sealer task runs under it and names itself.
        from sharing_registry.celery import _bind_request_id

        _bind_request_id(task_id="t-1", task=seal)
        assert record(action=AuditAction.AGREEMENT_EXPIRED).actor_name == "task:audit.seal"
        context.start()

    def test_an_event_recorded_in_a_rolled_back_transaction_leaves_nothing(self):
        before = AuditEvent.objects.count()
        with pytest.raises(RuntimeError), transaction.atomic():
            record(action=AuditAction.MEMBERSHIP_GRANTED, object_type="membership", object_ref="x")
            raise RuntimeError("the change failed")
        assert AuditEvent.objects.count() == before
        assert chain.seal_pending().sealed == 0

    def test_unknown_actions_are_refused(self):
        with pytest.raises(ValueError, match="unknown audit action"):
            record(action="agreement.teleported")

    def test_not_json_is_refused_before_the_database(self):
        with pytest.raises(ValueError):
            record(action=AuditAction.CHECK_ALLOWED, detail={"score": float("nan")})

    def test_the_largest_detail_is_cut_to_the_maximum_size_and_says_so(self, settings):
        huge = {"purpose": "é" * 100_000, "data_items": ["x" * 200] * 5_000,
                "nested": {f"k{i}": ["y" * 1_000] * 50 for i in range(500)}, "n": 1}
        event = record(action=AuditAction.CHECK_ALLOWED, detail=huge)
        event.refresh_from_db()
        assert len(chain.canonical_bytes(1, "", None, "", None, "", "", "", "", event.detail, "", None)) < (
            settings.AUDIT_DETAIL_MAX_BYTES + 200)
        assert event.detail["_truncated"]["bytes"] > 1_000_000
        assert event.detail["n"] == 1
        chain.seal_pending(force_checkpoint=True)
        assert chain.verify().ok

    def test_a_detail_within_the_limit_is_kept_whole(self, settings):
        detail = {"purpose": "p" * (settings.AUDIT_DETAIL_MAX_BYTES - 100)}
        event = record(action=AuditAction.CHECK_ALLOWED, detail=detail)
        event.refresh_from_db()
        assert event.detail == detail

    @pytest.mark.postgres
    def test_the_insert_is_prepared_once_per_connection_and_writes_what_it_returns(self, agency, auditor):
        from django.test.utils import CaptureQueriesContext

        from common import prepared

        connection.ensure_connection()
        prepared.prepared_on(connection.connection).clear()  # as on a new connection (earlier tests may have prepared)
        sent, events = [], []
        with context.bind(actor=auditor, request_id="req-2", client_ip="2001:db8::7"):
            for n in range(2):
                with CaptureQueriesContext(connection) as queries:
                    events.append(record(action=AuditAction.DATASET_VIEWED, object_type="dataset",
                                         object_ref=f"ds-{n}", agency=agency, agencies=("elsewhere",),
                                         detail={"n": n, "text": "café \\ \"quoted\""}))
                sent += [query["sql"].split()[0] for query in queries.captured_queries if "audit_auditevent" in
                         query["sql"] or query["sql"].startswith("EXECUTE")]
        assert sent == ["PREPARE", "EXECUTE"]
        for event in events:  # the row holds what record() returned, read back through the ORM
            stored = AuditEvent.objects.get(seq=event.seq)
            assert [getattr(stored, f.attname) for f in AuditEvent._meta.concrete_fields] == [
                getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields]
        assert stored.client_ip == "2001:db8::7" and stored.agencies == ["elsewhere", "manchester-cc"]
        chain.seal_pending(force_checkpoint=True)
        assert chain.verify().ok

    def test_the_seal_task_seals_pending_events(self):
        make_events(3)
        assert seal.apply().get() == 3
        assert AuditSeal.objects.count() == 3


@pytest.mark.django_db(transaction=True)
class SealOnCommitTests:
    @override_settings(AUDIT_SEAL_ON_COMMIT=True)
    def test_the_embedded_default_seals_as_soon_as_the_transaction_commits(self):
        with transaction.atomic():
            first = record(action=AuditAction.CHECK_ALLOWED)
            second = record(action=AuditAction.CHECK_DENIED)
            assert not AuditSeal.objects.exists()
        assert list(AuditSeal.objects.order_by("position").values_list("event_id", flat=True)) == [first.seq,
                                                                                                    second.seq]
        assert chain.verify().ok

    @override_settings(AUDIT_SEAL_ON_COMMIT=False)
    def test_with_a_broker_writers_leave_sealing_to_the_beat_task(self):
        record(action=AuditAction.CHECK_ALLOWED)
        assert not AuditSeal.objects.exists()
        seal.apply()
        assert AuditSeal.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class ConcurrentWriterTests:
    WRITERS, EACH = 4, 40

    def _run(self, *, seal_on_commit: bool) -> list[int]:
        seqs: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(n: int) -> None:
            try:
                for i in range(self.EACH):
                    with transaction.atomic():
                        event = record(action=AuditAction.CHECK_ALLOWED, object_ref=f"w{n}-{i}")
                        time.sleep(random.random() / 500)  # hold the seq a moment: commits land out of order
                    with lock:
                        seqs.append(event.seq)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        def sealer() -> None:
            try:
                while not stop.is_set():
                    chain.seal_pending()
                    time.sleep(0.005)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(self.WRITERS)]
        background = threading.Thread(target=sealer)
        # Settings are process-wide: override them once here, not in each thread, whose overlapping exits could
        # leave the override in place for later tests.
        with override_settings(AUDIT_SEAL_ON_COMMIT=seal_on_commit):
            background.start()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            stop.set()
            background.join()
        assert not errors, errors
        return seqs

    def test_concurrent_writers_lose_no_events_and_leave_a_valid_chain(self):
        seqs = self._run(seal_on_commit=False)
        assert len(seqs) == len(set(seqs)) == self.WRITERS * self.EACH
        chain.seal_pending()  # the last commits may have landed after the sealer stopped; verify checks the sealed
        result = chain.verify()
        assert result.ok, result.message
        assert result.events == self.WRITERS * self.EACH
        sealed = set(AuditSeal.objects.values_list("event_id", flat=True))
        assert sealed == set(seqs)
        assert list(AuditSeal.objects.order_by("position").values_list("position", flat=True)) == list(
            range(1, len(seqs) + 1))

    def test_concurrent_writers_sealing_inline_after_commit(self):
        seqs = self._run(seal_on_commit=True)
        assert AuditSeal.objects.count() == len(seqs)  # every commit sealed itself (or a neighbour did)
        assert chain.verify().ok
