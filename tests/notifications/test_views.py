"""The inbox page, the unread count in every page's header, and the email setting."""

import pytest

from agencies.choices import Role
from audit.models import AuditEvent
from notifications.models import Notification, NotificationPreference
from tests.clients import page as signed_in
from tests.factories import AgencyFactory, member

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER


class InboxPageTests:
    def test_the_header_shows_the_unread_count_and_the_inbox_lists_the_notice(self, nhs_officer):
        client = signed_in(nhs_officer)
        html = client.get("/").content.decode()
        assert 'id="notifications-link"' in html and '1<span class="govuk-visually-hidden"> unread</span>' in html
        notice = Notification.objects.get(user=nhs_officer)
        inbox = client.get("/notifications/").content.decode()
        assert notice.subject in inbox and "Unread" in inbox
        response = client.post(f"/notifications/{notice.pk}/read/", {"next": notice.link})
        assert response.status_code == 302 and response["Location"] == notice.link
        html = client.get("/notifications/").content.decode()
        assert " unread</span>" not in html and "Unread</strong>" not in html

    def test_newest_first_and_paginated(self, nhs_officer, more_notices):
        notice = Notification.objects.get(user=nhs_officer)
        more_notices(nhs_officer, 25, subject="Notice number {n}")
        html = signed_in(nhs_officer).get("/notifications/").content.decode()
        assert html.index("Notice number 24") < html.index("Notice number 23")
        assert 'rel="next"' in html and notice.subject not in html  # the oldest is on page 2
        assert notice.subject in signed_in(nhs_officer).get("/notifications/?page=2").content.decode()

    def test_mark_all_read(self, nhs_officer):
        client = signed_in(nhs_officer)
        assert client.post("/notifications/read/").status_code == 302
        assert not Notification.objects.filter(user=nhs_officer, read_at__isnull=True).exists()

    def test_someone_elses_notice_is_404(self, nhs_officer):
        notice = Notification.objects.get(user=nhs_officer)
        other = member(AgencyFactory(code="fire"), GO)
        assert signed_in(other).post(f"/notifications/{notice.pk}/read/").status_code == 404

    def test_a_link_elsewhere_is_not_followed(self, nhs_officer):
        notice = Notification.objects.get(user=nhs_officer)
        response = signed_in(nhs_officer).post(f"/notifications/{notice.pk}/read/", {"next": "https://evil.example/"})
        assert response["Location"] == "/notifications/"

    def test_the_inbox_and_the_header_take_a_fixed_number_of_queries(self, nhs_officer, more_notices,
                                                                      django_assert_max_num_queries):
        client = signed_in(nhs_officer)
        client.get("/notifications/")
        with django_assert_max_num_queries(12) as few:
            client.get("/notifications/")
        more_notices(nhs_officer, 19)
        with django_assert_max_num_queries(len(few.captured_queries)):
            client.get("/notifications/")
        # The header's count is one query on every page.
        with django_assert_max_num_queries(len(few.captured_queries)):
            client.get("/notifications/settings/")


class EmailSettingTests:
    def test_turning_email_off_and_on(self, nhs_officer):
        client = signed_in(nhs_officer)
        assert 'value="yes" checked' in client.get("/notifications/settings/").content.decode()
        assert client.post("/notifications/settings/", {"email": "no"}).status_code == 302
        assert NotificationPreference.objects.get(user=nhs_officer).email is False
        assert AuditEvent.objects.filter(action="notification.settings_changed").count() == 1
        assert "You have turned off emails" in client.get("/notifications/").content.decode()
        client.post("/notifications/settings/", {"email": "yes"})
        assert NotificationPreference.objects.get(user=nhs_officer).email is True

    def test_no_choice_is_a_clear_error(self, nhs_officer):
        response = signed_in(nhs_officer).post("/notifications/settings/", {})
        assert response.status_code == 400 and "Choose whether you want notifications by email" in \
            response.content.decode()
