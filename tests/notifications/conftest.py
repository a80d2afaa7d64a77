import pytest

from tests.eager import eager_tasks


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
