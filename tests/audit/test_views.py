"""The auditors' page at /audit/."""

import pytest

from audit import chain
from audit.models import AuditEvent, AuditVerification

from .conftest import attacker, make_events, sealed_events


@pytest.mark.django_db
class AuditPageTests:
    url = "/audit/"

    def test_anonymous_visitors_are_sent_to_sign_in(self, client):
        response = client.get(self.url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    def test_members_who_are_not_auditors_get_403(self, client, frontline):
        client.force_login(frontline)
        assert client.get(self.url).status_code == 403

    def test_an_auditor_sees_their_agencies_events_with_export_links(self, client, agency, other_agency, auditor,
                                                                     django_assert_max_num_queries):
        mine = make_events(2, agency=agency)
        theirs = make_events(1, agency=other_agency, action="dataset.viewed")
        client.force_login(auditor)
        with django_assert_max_num_queries(13):  # 12, and one for the auditor's recent background exports
            response = client.get(self.url, {"action": "check.allowed", "since": "2020-01-01"})
        assert response.status_code == 200
        page = response.content.decode()
        assert [e.seq for e in response.context["events"]] == list(reversed(mine))
        assert f"<td class=\"govuk-table__cell\">{theirs[0]}</td>" not in page
        assert "/api/v1/audit/export/?format=csv&amp;since=2020-01-01&amp;action=check.allowed" in page
        assert "format=jsonl" in page
        assert "govuk-table" in page and "govuk-form-group" in page

    def test_viewing_the_page_is_audited(self, client, auditor):
        client.force_login(auditor)
        client.get(self.url, {"actor": "frank"})
        viewed = AuditEvent.objects.get(action="audit.viewed")
        assert viewed.actor == auditor
        assert viewed.detail["filters"] == {"actor": "frank"} and viewed.detail["via"] == "browser"

    def test_bad_dates_are_explained_not_crashed(self, client, auditor):
        client.force_login(auditor)
        response = client.get(self.url, {"since": "2026-02-01", "until": "2026-01-01"})
        assert response.status_code == 400
        assert "There is a problem" in response.content.decode()
        assert "The end date must be the same as or after the start date." in response.content.decode()

    def test_an_unknown_agency_or_action_is_explained_in_plain_english(self, client, auditor):
        client.force_login(auditor)
        response = client.get(self.url, {"agency": "nope", "action": "made.up"})
        assert response.status_code == 400
        content = response.content.decode()
        assert "Choose one of the agencies you audit from the list." in content
        assert "Choose an action from the list." in content
        assert "Select a valid choice" not in content

    def test_the_last_verification_is_shown(self, client, auditor, superuser):
        seqs = sealed_events(3)
        chain.verify()
        from audit.services import verification_run

        verification_run()
        client.force_login(superuser)
        assert "Intact" in client.get(self.url).content.decode()
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = 'x' WHERE seq = %s", [seqs[1]])
        verification_run()
        page = client.get(self.url).content.decode()
        assert "Failed" in page and f"seq {seqs[1]}" in page
        assert AuditVerification.objects.count() == 2

    def test_pages_of_fifty(self, client, superuser):
        make_events(60)
        client.force_login(superuser)
        first = client.get(self.url)
        assert len(first.context["events"]) == 50 and "Older" in first.content.decode()
        assert len(client.get(self.url, {"page": 2}).context["events"]) >= 10
