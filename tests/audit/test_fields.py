"""An event's detail is stored as its canonical JSON text, read back as its value, and queried by key."""

import pytest
from django.db import connection

from audit.canonical import canonical_json
from audit.choices import AuditAction
from audit.models import AuditEvent
from audit.services import record
from tests.factories import UserFactory

from .conftest import attacker

pytestmark = pytest.mark.django_db


def _stored(seq: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT detail FROM audit_auditevent WHERE seq = %s", [seq])
        return cursor.fetchone()[0]


def test_a_detail_is_stored_as_its_canonical_text_and_read_back_as_its_value():
    detail = {"zz": [1, 2.5, None], "a": {"y": "é", "x": True}, "page": "print"}
    event = record(action=AuditAction.AGREEMENT_VIEWED, object_type="agreement", object_ref="ISA-1", detail=detail)
    assert _stored(event.seq) == canonical_json(detail) == (
        '{"a":{"x":true,"y":"\\u00e9"},"page":"print","zz":[1,2.5,null]}')
    assert AuditEvent.objects.get(seq=event.seq).detail == detail


def test_key_lookups_read_the_stored_text_as_json():
    record(action=AuditAction.AGREEMENT_VIEWED, object_type="agreement", object_ref="ISA-1",
           detail={"page": "print", "n": 2, "nested": {"k": "v"}})
    record(action=AuditAction.AGREEMENT_VIEWED, object_type="agreement", object_ref="ISA-2", detail={"page": "pdf"})
    viewed = AuditEvent.objects.filter(action=AuditAction.AGREEMENT_VIEWED)
    assert list(viewed.filter(detail__page="print").values_list("object_ref", flat=True)) == ["ISA-1"]
    assert list(viewed.filter(detail__nested__k="v").values_list("object_ref", flat=True)) == ["ISA-1"]
    assert list(viewed.order_by("seq").values_list("detail__page", flat=True)) == ["print", "pdf"]
    assert viewed.filter(detail__n=2).count() == 1


@pytest.mark.postgres  # SQLite's column keeps the CHECK (json_valid) its first migration made
def test_a_stored_text_that_is_no_json_is_given_as_it_is(client):
    # Only a changed row can hold one (verification reports it); the pages showing it must still work.
    event = record(action=AuditAction.AGREEMENT_VIEWED, object_type="agreement", object_ref="ISA-1", detail={})
    with attacker() as cursor:
        cursor.execute("UPDATE audit_auditevent SET detail = 'not {json' WHERE seq = %s", [event.seq])
    assert AuditEvent.objects.get(seq=event.seq).detail == "not {json"
    client.force_login(UserFactory(is_superuser=True))
    page = client.get(f"/audit/events/{event.seq}/")
    assert page.status_code == 200 and "not {json" in page.content.decode()
