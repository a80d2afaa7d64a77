"""The notifications API: your own notices only, `?unread=1`, paginated like every list, and marking one read."""

import pytest
from rest_framework.test import APIClient

from agencies.choices import Role
from notifications.models import Notification
from tests.clients import api
from tests.factories import AgencyFactory, UserFactory, member

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER


class NotificationApiTests:
    def test_anonymous_is_401(self):
        response = APIClient().get("/api/v1/notifications/")
        assert response.status_code == 401 and "WWW-Authenticate" in response

    def test_the_list_is_the_users_own_newest_first_and_paginated(self, nhs_officer):
        notice = Notification.objects.get(user=nhs_officer)
        body = api(nhs_officer).get("/api/v1/notifications/").json()
        assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 1
        [item] = body["results"]
        assert item["id"] == notice.pk and item["kind"] == "submitted" and item["unread"] is True
        assert item["object_ref"] == notice.object_ref and item["link"] == f"/agreements/{notice.object_ref}/"
        assert api(UserFactory()).get("/api/v1/notifications/").json()["count"] == 0

    def test_unread_filter_and_marking_read(self, nhs_officer):
        notice = Notification.objects.get(user=nhs_officer)
        client = api(nhs_officer)
        response = client.post(f"/api/v1/notifications/{notice.pk}/read/")
        assert response.status_code == 200 and response.json()["unread"] is False
        assert client.get("/api/v1/notifications/?unread=1").json()["count"] == 0
        assert client.get("/api/v1/notifications/").json()["count"] == 1
        assert client.post(f"/api/v1/notifications/{notice.pk}/read/").status_code == 200  # again: harmless

    def test_another_persons_notification_is_404(self, nhs_officer):
        notice = Notification.objects.get(user=nhs_officer)
        someone = member(AgencyFactory(code="fire"), GO)
        assert api(someone).post(f"/api/v1/notifications/{notice.pk}/read/").status_code == 404
        assert api(someone).post("/api/v1/notifications/999999/read/").status_code == 404
        notice.refresh_from_db()
        assert notice.read_at is None

    def test_a_bad_filter_is_400(self, nhs_officer):
        assert api(nhs_officer).get("/api/v1/notifications/?unread=perhaps").status_code == 400

    def test_the_list_takes_a_fixed_number_of_queries(self, nhs_officer, more_notices,
                                                          django_assert_max_num_queries):
        more_notices(nhs_officer, 40)
        client = api(nhs_officer)
        with django_assert_max_num_queries(4):
            body = client.get("/api/v1/notifications/?page_size=100").json()
        assert body["count"] == 41
