import pytest

from agencies.choices import Role
from agreements import services
from audit.services import record
from notifications.models import Notification
from tests.eager import eager_tasks
from tests.factories import AgencyFactory, agreement_factory, member


@pytest.fixture(autouse=True)
def _eager_unless_on_a_worker(request, settings):
    """Emails go in-process to Django's test outbox, also in the PostgreSQL run where a broker is configured; the
    worker tests send them through a real worker instead."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with eager_tasks():
        yield


@pytest.fixture
def nhs_officer(db):
    """A governance officer of a party to an agreement sent for signature: they have one notice."""
    agreement = agreement_factory()
    officer = member(AgencyFactory(code="nhs-provider"), Role.GOVERNANCE_OFFICER, username="nhs-officer")
    services.agreement_submit(actor=agreement.created_by, agreement=agreement)
    return officer


@pytest.fixture
def more_notices(db):
    """`more_notices(user, count)`: `count` more notices for `user`, each about an event of its own (one notice per
    person per event)."""
    def add(user, count: int, subject: str = "Notice {n}") -> None:
        events = [record(action="agreement.viewed", object_type="agreement", object_ref=f"ISA-2026-{n:04d}")
                  for n in range(count)]
        Notification.objects.bulk_create([
            Notification(user=user, kind="signed", event=event, object_ref=event.object_ref,
                         subject=subject.format(n=f"{n:02d}"), body="...") for n, event in enumerate(events)])
    return add
