import importlib

import pytest
from django.apps import apps as django_apps

from agreements.models import LegalBasis


@pytest.fixture(autouse=True)
def legal_bases(request):
    """The catalogue the data migration loads. A transactional test's flush empties it, so reload when missing."""
    if not ({"db", "transactional_db"} & set(request.fixturenames) or request.node.get_closest_marker("django_db")):
        return
    request.getfixturevalue("_django_db_helper")
    if not LegalBasis.objects.exists():
        importlib.import_module("agreements.migrations.0002_legal_basis_catalogue").load(django_apps, None)
