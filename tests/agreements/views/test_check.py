"""The frontline page "Can I share?", through Django's test client (the Chromium journey is in test_browser)."""

import pytest

from agencies.choices import Role
from audit.models import AuditEvent
from tests.agreements.builders import build_agreement
from tests.dates import BEFORE_START
from tests.factories import AgencyFactory, DatasetFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def frontline(client):
    council = AgencyFactory(code="mcc", name="Manchester City Council")
    fire = AgencyFactory(code="gm-fire", name="Greater Manchester Fire and Rescue")
    smoking = DatasetFactory(code="smoking-risk", name="Smoking and home fire risk", owner=council)
    build_agreement(provider=council, recipient=fire, dataset=smoking, title="Safe and well visits")
    client.force_login(member(council, Role.FRONTLINE))
    return client


class CheckPageTests:
    def test_anonymous_is_sent_to_sign_in(self, client):
        assert client.get("/check/")["Location"].startswith("/accounts/login/")

    def test_own_agency_is_preselected(self, frontline):
        page = frontline.get("/check/").content.decode()
        assert '<option value="mcc" selected>Manchester City Council</option>' in page
        assert '<option value="Greater Manchester Fire and Rescue">' in page  # partner suggestion

    def test_a_yes_by_name(self, frontline):
        response = frontline.post("/check/", {
            "provider": "mcc", "recipient": "fire and rescue", "dataset": "Smoking and home fire risk",
        })
        page = response.content.decode()
        assert response.status_code == 200
        assert "Yes, you may share" in page
        assert "Safe and well visits" in page
        assert AuditEvent.objects.filter(action="check.allowed").count() == 1

    def test_a_no_with_its_reason(self, frontline):
        response = frontline.post("/check/", {
            "provider": "mcc", "recipient": "gm-fire", "dataset": "smoking-risk", "on": f"{BEFORE_START:%d/%m/%Y}",
        })
        page = response.content.decode()
        assert "No, do not share" in page
        assert "was not yet in force" in page or "does not start" in page

    def test_errors_are_shown_and_input_kept(self, frontline):
        response = frontline.post(
            "/check/", {"provider": "mcc", "recipient": "Atlantis", "dataset": "", "on": "31/2/2026"}
        )
        page = response.content.decode()
        assert response.status_code == 400
        assert "There is a problem" in page
        assert 'href="#id_recipient"' in page and "Nothing matches “Atlantis”" in page
        assert 'value="Atlantis"' in page
        assert "Enter the information you want to share" in page
        assert not AuditEvent.objects.filter(action__startswith="check.").exists()

    def test_someone_else_agency_cannot_be_chosen(self, frontline):
        AgencyFactory(code="elsewhere")
        response = frontline.post("/check/", {"provider": "elsewhere", "recipient": "gm-fire", "dataset": "x"})
        assert response.status_code == 400
        assert not AuditEvent.objects.filter(action__startswith="check.").exists()

    def test_a_user_with_no_agency_is_told_what_to_do(self, client):
        from tests.factories import UserFactory

        client.force_login(UserFactory())
        response = client.get("/check/")
        assert response.status_code == 403
        assert "Ask your agency administrator" in response.content.decode()
