"""The README's threat model names a test on every line; each named test must exist (CI then runs it)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def threat_model_rows() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Threat model", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    # Every table row but the header rows (each followed by its "| ---" line) and the separators.
    return [line for line, after in zip(lines, [*lines[1:], ""], strict=True)
            if line.startswith("| ") and not line.startswith("| ---") and not after.startswith("| ---")]


def named_tests(row: str) -> list[tuple[str, str, str]]:
    """(file, class, test) for each test a row names; `::test_x` means the same file and class as the one before."""
    found, last_file, last_class = [], None, None
    for name in re.findall(r"`((?:H|tests)/[^`]+|::test_\w+)`", row.split("|")[-2]):
        if name.startswith("::"):
            found.append((last_file, last_class, name[2:]))
            continue
        path, *parts = name.replace("H/", "tests/hardening/", 1).split("::")
        last_file, last_class = path, parts[0] if len(parts) == 2 else None
        found.append((path, last_class, parts[-1]))
    return found


def defined(path: str, cls: str | None, test: str) -> bool:
    tree = ast.parse((ROOT / path).read_text())
    scope = tree.body
    if cls:
        classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == cls]
        if not classes:
            return False
        scope = classes[0].body
    return any(isinstance(node, ast.FunctionDef) and node.name == test for node in scope)


class ThreatModelTests:
    def test_every_line_names_a_test_that_exists(self):
        rows = threat_model_rows()
        assert len(rows) >= 15
        for row in rows:
            tests = named_tests(row)
            assert tests, f"a threat-model line names no test: {row[:80]}"
            for path, cls, test in tests:
                assert (ROOT / path).exists() and defined(path, cls, test), f"{path}::{cls}::{test} does not exist"
