"""The settings the test suite runs with: the project's own, given the development values `make run` writes to
`.env`, so that a fresh clone (no `.env`) runs `make test`.

They are set as environment defaults, so that the processes tests start (manage.py, Celery workers, servers) are
configured the same way; a variable the environment already sets wins.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TEST_ENVIRONMENT = {
    "DEBUG": "1",
    "SECRET_KEY": "tests-only-never-a-real-secret",
    "AUDIT_SIGNING_KEY_GENERATE": "1",  # a development key, generated into AUDIT_SIGNING_KEY_FILE (git-ignored)
    "AUDIT_WITNESS_DIR": str(ROOT / "var" / "audit-witness"),
}
for _name, _value in TEST_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)

from sharing_registry.settings import *  # noqa: E402, F403
