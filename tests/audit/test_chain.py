"""The hash chain against a real database: every tampering is run (in the test's rolled-back copy) and caught."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit import chain
from audit.models import AuditCheckpoint, AuditEvent, AuditSeal, AuditVerification

from .conftest import attacker, make_events, sealed_events


def verify_fails_at(seq: int) -> chain.VerifyResult:
    result = chain.verify()
    assert not result.ok, "verify_audit missed the tampering"
    assert result.first_bad_seq == seq, result.message
    return result


def rehash_from(position: int) -> None:
    """What an attacker without the key can do: recompute every seal hash from `position` on."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT hash FROM audit_auditseal WHERE position = %s", [position - 1])
        row = cursor.fetchone()
        prev = row[0] if row else chain.GENESIS_HASH
        cursor.execute(f"SELECT s.position, {chain._event_columns('e')} FROM audit_auditseal s "  # noqa: S608
                       "JOIN audit_auditevent e ON e.seq = s.seq WHERE s.position >= %s ORDER BY s.position",
                       [position])
        rows = cursor.fetchall()
        for row in rows:
            digest = chain.link_hash(prev, chain._canonical_from_row(row[1:]))
            cursor.execute("UPDATE audit_auditseal SET prev_hash = %s, hash = %s WHERE position = %s",
                           [prev, digest, row[0]])
            prev = digest


def seal_of(seq: int) -> AuditSeal:
    return AuditSeal.objects.get(event_id=seq)


@pytest.mark.django_db
class SealingTests:
    def test_events_are_sealed_in_seq_order_from_the_genesis_hash(self):
        seqs = make_events(3)
        assert AuditSeal.objects.count() == 0  # writers only INSERT
        result = chain.seal_pending()
        assert result.sealed == 3
        seals = list(AuditSeal.objects.order_by("position"))
        assert [s.event_id for s in seals] == seqs
        assert [s.position for s in seals] == [1, 2, 3]
        assert seals[0].prev_hash == chain.GENESIS_HASH
        assert seals[1].prev_hash == seals[0].hash and seals[2].prev_hash == seals[1].hash

    def test_hash_is_sha256_over_prev_hash_and_the_documented_canonical_form(self):
        [seq] = make_events(1)
        chain.seal_pending()
        event, seal = AuditEvent.objects.get(seq=seq), seal_of(seq)
        canonical = chain.canonical_bytes(
            event.seq, chain.canonical_at(event.at), event.actor_id, event.actor_name, event.agency_id,
            event.agency_code, event.action, event.object_type, event.object_ref, event.detail, event.request_id,
            event.client_ip,
        )
        assert canonical.startswith(b'["sr-audit-v1",')
        assert b'"nested":{"a":null,"b":[1,2.5,"\\u00e9"]}' in canonical  # sorted keys, compact, ASCII
        assert seal.hash == chain.link_hash(chain.GENESIS_HASH, canonical)

    def test_a_late_commit_gets_the_next_position(self):
        first = make_events(2)
        late = AuditEvent.objects.create(seq=first[-1] + 50, action="check.allowed", actor_name="system")
        chain.seal_pending()
        # A lower seq that commits after higher ones were sealed still joins the chain, at the end.
        lower = AuditEvent.objects.create(seq=first[-1] + 10, action="check.denied", actor_name="system")
        chain.seal_pending()
        assert seal_of(late.seq).position == 3
        assert seal_of(lower.seq).position == 4
        assert chain.verify().ok

    def test_checkpoint_signs_the_head(self):
        sealed_events(4)
        checkpoint = AuditCheckpoint.objects.get()
        head = AuditSeal.objects.order_by("-position").first()
        assert (checkpoint.position, checkpoint.head_seq, checkpoint.head_hash) == (4, head.event_id, head.hash)
        # The first checkpoint covers the genesis as its predecessor; the next covers this one.
        assert (checkpoint.prev_position, checkpoint.prev_hash) == (0, chain.GENESIS_HASH)
        assert chain._check_signature(
            (checkpoint.pk, checkpoint.position, checkpoint.head_seq, checkpoint.head_hash, checkpoint.seq_high,
             checkpoint.created_at, checkpoint.key_id, checkpoint.signature, checkpoint.prev_position,
             checkpoint.prev_hash),
            chain.trusted_public_keys(),
        )
        sealed_events(1)
        second = AuditCheckpoint.objects.order_by("-position").first()
        assert (second.prev_position, second.prev_hash) == (4, checkpoint.hash)

    def test_sealing_nothing_writes_no_checkpoint(self):
        assert chain.seal_pending(force_checkpoint=True).checkpoint is None
        sealed_events(2)
        assert chain.seal_pending(force_checkpoint=True).checkpoint is None  # head unchanged
        assert AuditCheckpoint.objects.count() == 1


@pytest.mark.django_db
class VerifyTests:
    def test_awkward_text_verifies_and_a_change_to_it_is_caught(self):
        """Tabs, line breaks, backslashes, quotes, NULLs and non-ASCII in every kind of column: what PostgreSQL
        escapes when it streams the rows to the verifier."""
        from audit.choices import AuditAction
        from audit.services import record
        from common import context

        sealed_events(2)
        with context.bind(request_id="req\\1\t2", client_ip="2001:db8::1"):
            awkward = record(action=AuditAction.CHECK_ALLOWED, object_type="data\tset", agencies=["a\\b", "c"],
                             object_ref='back\\slash "quoted"\nnew line\r\x01 é😀',
                             detail={"why": 'a "quote"\\ and\ttab\n', "é": [1.5e-07, None, ""]}).seq
        sealed_events(2)
        assert chain.verify().ok
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = %s WHERE seq = %s",
                           ['back\\slash "quoted"\nnew line\r\x01 e😀', awkward])
        assert verify_fails_at(awkward).first_bad_position == 3

    def test_an_intact_log_verifies_and_only_then_seals_and_signs(self):
        sealed_events(5)
        make_events(2)  # not sealed yet: verify checks what is sealed, and only then seals these and signs
        result = chain.verify()
        assert result.ok and result.events == 5
        assert result.summary == "OK 5 events"
        assert AuditSeal.objects.count() == 7
        assert AuditCheckpoint.objects.order_by("-position").first().position == 7

    def test_an_empty_log_verifies(self):
        assert chain.verify().summary == "OK 0 events"

    def test_edited_row(self):
        seqs = sealed_events(5)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = 'someone-else' WHERE seq = %s", [seqs[2]])
        result = verify_fails_at(seqs[2])
        assert "changed" in result.message

    def test_edited_detail(self):
        seqs = sealed_events(5)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET detail = %s WHERE seq = %s", ['{"i": 99}', seqs[1]])
        verify_fails_at(seqs[1])

    def test_edited_actor_foreign_key(self, auditor):
        seqs = sealed_events(3)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET actor_id = %s WHERE seq = %s", [auditor.pk, seqs[0]])
        verify_fails_at(seqs[0])

    def test_deleted_row(self):
        seqs = sealed_events(5)
        with attacker() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [seqs[2]])
            result = verify_fails_at(seqs[2])
            assert "deleted" in result.message
            cursor.execute("DELETE FROM audit_auditseal WHERE seq = %s", [seqs[2]])  # leave no dangling key

    def test_deleted_row_and_its_seal(self):
        seqs = sealed_events(5)
        with attacker() as cursor:
            cursor.execute("DELETE FROM audit_auditseal WHERE seq = %s", [seqs[2]])
            cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [seqs[2]])
        result = verify_fails_at(seqs[3])
        assert "removed" in result.message

    def test_inserted_row_in_the_middle_of_the_chain(self):
        seqs = sealed_events(4)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditseal SET position = position + 1000 WHERE position >= 3")
            cursor.execute("UPDATE audit_auditseal SET position = position - 999 WHERE position >= 1000")
        forged = AuditEvent.objects.create(seq=seqs[-1] + 100, at=seal_of(seqs[1]).event.at, action="check.allowed",
                                           actor_name="someone", object_ref="forged")
        with attacker():
            AuditSeal.objects.create(event=forged, position=3, prev_hash=seal_of(seqs[1]).hash, hash="f" * 64,
                                     sealed_at=timezone.now())
        verify_fails_at(forged.seq)

    def test_inserted_row_with_the_whole_chain_rehashed_is_caught_by_the_signed_checkpoint(self):
        seqs = sealed_events(3)
        more = sealed_events(3)
        forged = AuditEvent.objects.create(seq=more[-1] + 100, at=seal_of(seqs[1]).event.at, action="check.allowed",
                                           actor_name="someone", object_ref="forged")
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditseal SET position = position + 1000 WHERE position >= 5")
            cursor.execute("UPDATE audit_auditseal SET position = position - 999 WHERE position >= 1000")
            AuditSeal.objects.create(event=forged, position=5, prev_hash="0" * 64, hash="0" * 64,
                                     sealed_at=timezone.now())
            rehash_from(5)
        result = verify_fails_at(forged.seq)  # exactly the inserted row, found with the witness's digests
        assert result.first_bad_position == 5
        assert "checkpoint" in result.message

    def test_unsealed_row_slipped_into_the_past(self):
        seqs = sealed_events(3)
        old = AuditEvent.objects.create(seq=seqs[0] + 1000, at=timezone.now() - dt.timedelta(hours=2),
                                        action="check.allowed", actor_name="frank")
        result = verify_fails_at(old.seq)
        assert "never sealed" in result.message

    def test_backdated_row_that_got_sealed(self):
        sealed_events(3)
        old = AuditEvent.objects.create(at=timezone.now() - dt.timedelta(hours=2), action="check.allowed",
                                        actor_name="frank")
        chain.seal_pending()  # the sealer does not judge; verify does
        result = verify_fails_at(old.seq)
        assert "into the past" in result.message

    def test_reordered_rows(self):
        seqs = sealed_events(5)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditseal SET position = 1000 WHERE seq = %s", [seqs[1]])
            cursor.execute("UPDATE audit_auditseal SET position = 2 WHERE seq = %s", [seqs[2]])
            cursor.execute("UPDATE audit_auditseal SET position = 3 WHERE seq = %s", [seqs[1]])
        result = verify_fails_at(seqs[2])
        assert "reordered" in result.message

    def test_reordered_and_rehashed_is_caught_by_the_signed_checkpoint(self):
        first = sealed_events(2)
        seqs = sealed_events(4)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditseal SET position = 1000 WHERE seq = %s", [seqs[1]])
            cursor.execute("UPDATE audit_auditseal SET position = 4 WHERE seq = %s", [seqs[2]])
            cursor.execute("UPDATE audit_auditseal SET position = 5 WHERE seq = %s", [seqs[1]])
            rehash_from(3)
        assert first
        assert verify_fails_at(seqs[2]).first_bad_position == 4  # the first of the two swapped events

    def test_truncated_tail(self):
        seqs = sealed_events(6)
        with attacker() as cursor:
            cursor.execute("DELETE FROM audit_auditseal WHERE position > 4")
            cursor.execute("DELETE FROM audit_auditevent WHERE seq > %s", [seqs[3]])
        result = verify_fails_at(seqs[4])
        assert "removed from the end" in result.message

    def test_edited_and_rehashed_without_the_key(self):
        first = sealed_events(3)
        seqs = sealed_events(3)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET action = 'check.denied' WHERE seq = %s", [seqs[1]])
            rehash_from(5)
        assert first
        result = verify_fails_at(seqs[1])  # the edited event itself, not the range after checkpoint 3
        assert result.first_bad_position == 5
        assert "position 5 (seq" in result.message

    def test_forged_checkpoint_without_the_key(self):
        sealed_events(3)
        seqs = sealed_events(3)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = 'x' WHERE seq = %s", [seqs[2]])
            rehash_from(6)
            head = AuditSeal.objects.get(position=6)
            cursor.execute("UPDATE audit_auditcheckpoint SET head_hash = %s WHERE position = 6", [head.hash])
        result = verify_fails_at(seqs[2])
        assert result.first_bad_position == 6
        assert "checkpoint" in result.message


@pytest.mark.django_db
class VerifyCommandTests:
    def test_prints_ok_and_keeps_the_result_for_auditors(self, capsys):
        sealed_events(4)
        call_command("verify_audit")
        assert capsys.readouterr().out == "OK 4 events\n"
        run = AuditVerification.objects.get()
        assert run.ok and run.events == 4
        # The run audits itself after the walk; the next run checks what was sealed before it began, then seals it.
        assert AuditEvent.objects.filter(action="audit.verified").count() == 1
        call_command("verify_audit")
        assert capsys.readouterr().out == "OK 4 events\n"
        call_command("verify_audit")
        assert capsys.readouterr().out == "OK 5 events\n"

    def test_fails_naming_the_first_bad_seq(self):
        seqs = sealed_events(4)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET actor_name = 'nobody' WHERE seq = %s", [seqs[1]])
        with pytest.raises(CommandError, match=f"seq {seqs[1]}"):
            call_command("verify_audit")
        run = AuditVerification.objects.get()
        assert not run.ok and run.first_bad_seq == seqs[1]
        assert AuditEvent.objects.filter(action="audit.verify_failed").exists()
