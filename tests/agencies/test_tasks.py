"""Invitation emails on a real worker process through Redis (the PostgreSQL run of CI)."""

import re

import pytest

from agencies import selectors, services
from agencies.models import Invitation
from tests.factories import member
from tests.foundation.test_worker_tasks import new_queue, wait_for, worker

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class InvitationEmailWorkerTests:
    def test_the_worker_sends_the_invitation_after_commit_and_stores_only_the_links_hash(self, tmp_path):
        from agencies.services import agency_create

        agency = agency_create(actor=None, code="home-council", name="Home City Council", kind="local_authority")
        admin = member(agency, "agency_admin", "home-admin")
        mail_dir = tmp_path / "mail"
        with worker(new_queue(), EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                    EMAIL_FILE_PATH=str(mail_dir)):
            invitation = services.invitation_create(actor=admin, agency=agency, email="asha@example.org",
                                                    full_name="Asha Patel", role="auditor")
            wait_for(lambda: Invitation.objects.filter(pk=invitation.pk, sent_at__isnull=False).exists(),
                     what="the invitation email")
        mail = "".join(path.read_text() for path in mail_dir.iterdir())
        assert mail.count("To: asha@example.org") == 1 and "Content-Type: text/html" in mail
        token = re.search(r"/invitations/([A-Za-z0-9_-]+)/", mail).group(1)
        invitation.refresh_from_db()
        assert invitation.token_hash == selectors.invitation_token_hash(token)
        assert selectors.invitation_by_token(token=token).pk == invitation.pk
