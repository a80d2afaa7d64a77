"""scripts/verify_audit_export.py checks a real export offline with only the public key."""

import json

import pytest
from rest_framework.test import APIClient

from audit import chain

from .conftest import download_for_offline, make_events
from .conftest import run_offline as run


@pytest.fixture
def exported(tmp_path, agency, superuser):
    make_events(4, agency=agency)
    chain.seal_pending(force_checkpoint=True)
    make_events(3)
    chain.seal_pending(force_checkpoint=True)
    make_events(1)  # not sealed yet: exported with null hashes, reported, not failed
    return download_for_offline(tmp_path, superuser)


@pytest.mark.django_db
class OfflineVerificationTests:
    def test_an_intact_export_verifies_and_is_anchored_to_a_signed_checkpoint(self, exported):
        export, checkpoints, key = exported
        result = run(export, "--checkpoints", checkpoints, "--public-key", key)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout == "OK 7 events\n"
        assert "anchored to a signed checkpoint up to position 7" in result.stderr
        assert "1 event(s) not yet sealed" in result.stderr

    def test_an_edited_line_fails_naming_its_seq(self, exported):
        export, checkpoints, key = exported
        lines = export.read_text().splitlines()
        row = json.loads(lines[2])
        row["object_ref"] = "someone-else"
        lines[2] = json.dumps(row)
        export.write_text("\n".join(lines) + "\n")
        result = run(export, "--checkpoints", checkpoints, "--public-key", key)
        assert result.returncode == 1 and result.stdout.startswith(f"FAILED at seq {row['seq']}")

    def test_an_intact_export_agrees_with_the_witness(self, exported, settings):
        export, checkpoints, key = exported
        result = run(export, "--checkpoints", checkpoints, "--public-key", key, "--witness", settings.AUDIT_WITNESS_DIR)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "the server's checkpoints hold all 2 witnessed checkpoint(s)" in result.stderr

    def test_checkpoints_missing_from_the_server_are_refused_against_the_witness(self, exported, settings):
        export, checkpoints, key = exported
        data = json.loads(checkpoints.read_text())
        data["results"] = [cp for cp in data["results"] if cp["position"] != 7]  # the last one deleted
        checkpoints.write_text(json.dumps(data))
        assert run(export, "--checkpoints", checkpoints, "--public-key", key).returncode == 0  # without the witness
        result = run(export, "--checkpoints", checkpoints, "--public-key", key, "--witness", settings.AUDIT_WITNESS_DIR)
        assert result.returncode == 1
        assert "(position 7)" in result.stdout and "witnessed at position 7" in result.stdout  # that one, exactly

    def test_a_removed_line_breaks_the_links(self, exported):
        export, checkpoints, key = exported
        lines = export.read_text().splitlines()
        following = json.loads(lines[3])["seq"]
        del lines[2]
        export.write_text("\n".join(lines) + "\n")
        result = run(export, "--checkpoints", checkpoints, "--public-key", key)
        assert result.returncode == 1
        assert f"seq {following}" in result.stdout

    def test_a_rehashed_export_fails_against_the_signed_checkpoint(self, exported, settings):
        export, checkpoints, key = exported
        rows = [json.loads(line) for line in export.read_text().splitlines()]
        rows[1]["detail"] = {"forged": True}
        prev = rows[0]["hash"]
        for row in rows[1:7]:
            event = {**row}
            row["prev_hash"], row["hash"] = prev, chain.link_hash(prev, _canonical(event))
            prev = row["hash"]
        export.write_text("".join(json.dumps(row) + "\n" for row in rows))
        result = run(export, "--checkpoints", checkpoints, "--public-key", key)
        assert result.returncode == 1 and "checkpoint" in result.stdout
        # With the witness, the rewritten event itself is named, not the range before the checkpoint.
        result = run(export, "--checkpoints", checkpoints, "--public-key", key, "--witness", settings.AUDIT_WITNESS_DIR)
        assert result.returncode == 1 and f"FAILED at seq {rows[1]['seq']} (position {rows[1]['position']})" in (
            result.stdout)

    def test_another_key_is_refused(self, exported):
        import base64
        import os

        export, checkpoints, _ = exported
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        other = Ed25519PrivateKey.from_private_bytes(os.urandom(32)).public_key()
        raw = base64.b64encode(other.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
        result = run(export, "--checkpoints", checkpoints, "--public-key", raw)
        assert result.returncode == 1 and "another key" in result.stdout


def _canonical(row: dict) -> bytes:
    return chain.canonical_bytes(row["seq"], row["at"], row["actor_id"], row["actor"], row["agency_id"],
                                 row["agency"], row["action"], row["object_type"], row["object_ref"], row["detail"],
                                 row["request_id"], row["client_ip"], row.get("agencies"))


@pytest.mark.django_db
def test_a_filtered_export_verifies_with_gaps_allowed(tmp_path, agency, other_agency, auditor):
    make_events(2, agency=agency)
    make_events(2, agency=other_agency)
    make_events(2, agency=agency)
    chain.seal_pending(force_checkpoint=True)
    client = APIClient()
    client.force_authenticate(auditor)
    export = tmp_path / "mine.jsonl"
    export.write_bytes(b"".join(client.get("/api/v1/audit/export/", {"format": "jsonl"}).streaming_content))
    key = client.get("/api/v1/audit/public-key/").json()["public_key"]
    assert run(export, "--public-key", key).returncode == 1  # gaps are refused unless declared
    result = run(export, "--public-key", key, "--filtered")
    assert result.returncode == 0 and result.stdout == "OK 4 events\n"
