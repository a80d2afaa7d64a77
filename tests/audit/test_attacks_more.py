"""More of what the database owner or the runtime role can do to the audit log, and how each is caught."""

import pytest

from audit import chain

from .conftest import attacker
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
