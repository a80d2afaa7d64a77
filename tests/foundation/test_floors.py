"""The floors of the project, read from the imports: `common` imports none of our apps, and `audit` imports only
`common` (it sits above it and below every app whose actions it records)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = {"common", "audit", "accounts", "agencies", "tokens", "agreements", "sharing_registry", "bench", "tests"}


def imported_apps(package: str) -> dict[str, set[str]]:
    """Each module of `package` (migrations too) with the project packages it imports, at any depth of the code."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "migrations" not in path.parts:
                # A dotted name in a string is an import too: "agencies.Agency", import_string("agencies.x").
                head, dot, _rest = node.value.partition(".")
                if dot and head in APPS and " " not in node.value:
                    names.add(head)
        found[str(path.relative_to(ROOT))] = names & APPS - {package}
    return found


@pytest.mark.parametrize(("package", "may_import"), [("common", set()), ("audit", {"common"})])
def test_a_floor_imports_nothing_from_the_floors_above_it(package, may_import):
    modules = imported_apps(package)
    assert modules, f"no modules found in {package}/"
    above = {module: names - may_import for module, names in modules.items() if names - may_import}
    assert above == {}, f"{package} imports from apps above it"


def test_the_floor_check_sees_an_import_from_above(tmp_path, monkeypatch):
    """The check is not blind: an app import in a module of a package is reported."""
    (tmp_path / "floor").mkdir()
    (tmp_path / "floor" / "m.py").write_text("def f():\n    from agencies.models import Agency\n    return Agency\n")
    (tmp_path / "floor" / "n.py").write_text("agency = ForeignKey('agencies.Agency')\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert imported_apps("floor") == {"floor/m.py": {"agencies"}, "floor/n.py": {"agencies"}}


def test_audit_models_relate_to_no_model_of_the_apps_above_it(django_user_model):
    """The log's tables point at users (Django's auth) and at each other, never at an agency or an agreement."""
    from django.apps import apps

    related = {field.related_model._meta.app_label
               for model in apps.get_app_config("audit").get_models()
               for field in model._meta.get_fields() if field.is_relation and field.related_model}
    assert related <= {"audit", django_user_model._meta.app_label}
