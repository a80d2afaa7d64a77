"""Fail-closed settings: nothing configured means no start, with one message naming what is missing; `make run`'s
.env gives development values; real environment variables win over it; importing the settings changes nothing."""

import os
import subprocess
import sys
from pathlib import Path

from sharing_registry.env import parse_env_file

ROOT = Path(__file__).resolve().parents[2]
CLEAN = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}


def manage(args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


class FailClosedTests:
    def test_a_start_with_a_clean_environment_and_no_env_file_refuses_naming_every_missing_secret(self, tmp_path):
        result = manage(["check"], {**CLEAN, "ENV_FILE": str(tmp_path / "absent.env")})
        assert result.returncode != 0
        assert ("django.core.exceptions.ImproperlyConfigured: Missing settings: SECRET_KEY, AUDIT_SIGNING_KEY, "
                "AUDIT_WITNESS_DIR.") in result.stderr
        assert "Traceback" in result.stderr and "DEBUG" not in result.stdout

    def test_the_same_start_with_the_secrets_given_passes_its_checks(self, tmp_path):
        secrets = {"SECRET_KEY": "x" * 50, "AUDIT_SIGNING_KEY": "A" * 43 + "=", "AUDIT_WITNESS_DIR": str(tmp_path),
                   "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
        result = manage(["check"], {**CLEAN, "ENV_FILE": str(tmp_path / "absent.env"), **secrets})
        assert result.returncode == 0, result.stderr
        assert "System check identified no issues" in result.stdout

    def test_debug_is_off_unless_asked_for(self, tmp_path):
        env = {**CLEAN, "ENV_FILE": str(tmp_path / "absent.env"), "SECRET_KEY": "x" * 50,
               "AUDIT_SIGNING_KEY": "A" * 43 + "=", "AUDIT_WITNESS_DIR": str(tmp_path)}
        result = manage(["shell", "-v", "0", "-c", "from django.conf import settings; print(settings.DEBUG)"], env)
        assert result.stdout.strip() == "False", result.stderr


class EnvFileTests:
    def test_the_development_env_file_configures_a_run_and_the_environment_wins_over_it(self, tmp_path):
        dotenv = tmp_path / "dev.env"
        dotenv.write_text("# written by make run\nDEBUG=1\nSECRET_KEY='from-the-file'\nAUDIT_SIGNING_KEY_GENERATE=1\n"
                          f"AUDIT_SIGNING_KEY_FILE={tmp_path}/dev.key\nexport AUDIT_WITNESS_DIR={tmp_path}/witness\n"
                          "SITE_URL=http://from-the-file\n")
        env = {**CLEAN, "ENV_FILE": str(dotenv), "SITE_URL": "http://from-the-environment"}
        code = ("from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY, s.AUDIT_SIGNING_KEY_GENERATE, "
                "s.AUDIT_WITNESS_DIR, s.SITE_URL)")
        result = manage(["shell", "-v", "0", "-c", code], env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["True", "from-the-file", "True", f"{tmp_path}/witness",
                                         "http://from-the-environment"]

    def test_the_parser_reads_names_values_quotes_and_comments(self):
        text = '# a comment\n\nA=1\nexport B = two words \nC="quoted # not a comment"\nD=\nnot a line\n=x\n'
        assert parse_env_file(text) == {"A": "1", "B": "two words", "C": "quoted # not a comment", "D": ""}


class ImportSideEffectTests:
    def test_importing_the_settings_creates_no_directory_and_writes_no_file(self, tmp_path):
        """Every way of making a directory or opening a file for writing fails while the settings are imported."""
        code = (
            "import builtins, os, pathlib\n"
            "def refuse(*a, **k): raise AssertionError(f'side effect: {a}')\n"
            "real_open = builtins.open\n"
            "def read_only(file, mode='r', *a, **k):\n"
            "    if any(c in mode for c in 'wax+'): refuse(file, mode)\n"
            "    return real_open(file, mode, *a, **k)\n"
            "os.mkdir = os.makedirs = pathlib.Path.mkdir = pathlib.Path.touch = refuse\n"
            "builtins.open = read_only\n"
            "import sharing_registry.settings as s\n"
            "print('imported', s.DEBUG)\n"
        )
        env = {**CLEAN, "ENV_FILE": str(tmp_path / "absent.env"), "DEBUG": "1", "SECRET_KEY": "x" * 50,
               "AUDIT_SIGNING_KEY_GENERATE": "1", "AUDIT_WITNESS_DIR": str(tmp_path / "witness")}
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "imported True"


class ContractLinkTests:
    def test_the_schema_and_the_readme_point_at_the_contract_a_clone_has(self, client, django_user_model):
        """A clone of the repository has docs/api.md, not a file outside it."""
        assert (ROOT / "docs" / "api.md").is_file()
        readme = (ROOT / "README.md").read_text()
        assert "](docs/api.md)" in readme and "../shared" not in readme
        from django.conf import settings

        assert "[docs/api.md](docs/api.md)" in settings.SPECTACULAR_SETTINGS["DESCRIPTION"]
