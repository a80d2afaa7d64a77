"""The auditors' page at /audit/."""

import pytest

from audit import chain
from audit.models import AuditEvent, AuditVerification
from audit.services import record

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
        # 12, one for the auditor's recent background exports, one for a queued check, one for the sealer's alerts
        with django_assert_max_num_queries(16):  # with the header's unread notifications
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
        assert "The to date must be the same as or after the from date." in response.content.decode()

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


@pytest.mark.django_db
class RequestedVerificationTests:
    url = "/audit/"

    def test_an_auditor_asks_for_a_check_which_is_audited_queued_and_its_result_shown(
            self, client, auditor, django_capture_on_commit_callbacks):
        from audit.tasks import verify_requested

        sealed_events(3)
        client.force_login(auditor)
        assert "Check the whole chain now" in client.get(self.url).content.decode()
        with django_capture_on_commit_callbacks() as queued:
            response = client.post("/audit/verify/")
        assert response.status_code == 303 and response["Location"].startswith(self.url)
        assert len(queued) == 1  # the task is queued once the request commits
        request = AuditEvent.objects.get(action="audit.verify_requested")
        assert request.actor_id == auditor.pk and request.detail == {"via": "browser"}
        page = client.get(self.url).content.decode()
        assert "is queued" in page and "Check the whole chain now" not in page
        verify_requested.apply(args=[auditor.pk])  # what the worker runs (inline when there is no broker)
        page = client.get(self.url).content.decode()
        assert "Intact" in page and "is queued" not in page
        run = AuditVerification.objects.get()
        assert run.ok and run.requested_by == auditor and run.kind == "full"
        assert f"<dd class=\"govuk-summary-list__value\">{auditor.username}</dd>" in page

    def test_a_request_already_waiting_is_not_queued_twice(self, client, auditor,
                                                           django_capture_on_commit_callbacks):
        client.force_login(auditor)
        with django_capture_on_commit_callbacks() as queued:
            client.post("/audit/verify/")
            client.post("/audit/verify/")
        assert len(queued) == 1
        assert AuditEvent.objects.filter(action="audit.verify_requested").count() == 1

    def test_members_who_are_not_auditors_cannot_ask(self, client, frontline):
        client.force_login(frontline)
        assert client.post("/audit/verify/").status_code == 403
        assert not AuditEvent.objects.filter(action="audit.verify_requested").exists()

    def test_auditors_see_the_sealers_alert_as_a_banner(self, client, auditor):
        seqs = sealed_events(3) + sealed_events(3)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = 'x' WHERE seq = %s", [seqs[4]])
            from .test_chain import rehash_from

            rehash_from(5)
            cursor.execute("DELETE FROM audit_auditcheckpoint WHERE position >= 5")
        sealed_events(1)  # the sealer refuses to sign
        client.force_login(auditor)
        page = client.get(self.url).content.decode()
        assert "sealer refused to sign the chain" in page
        assert "does not extend" in page


@pytest.mark.django_db
class AuditFilterDateTests:
    """The filters used the browser's date picker and `until=9999-12-31` was an OverflowError (500), on the page
    and on its export form; two identical "Enter a valid date." errors did not say which field they meant."""

    url = "/audit/"

    def test_until_9999_12_31_is_a_400_naming_the_field(self, client, auditor):
        client.force_login(auditor)
        response = client.get(self.url, {"until": "9999-12-31"})
        assert response.status_code == 400
        assert "To date must be between 1 January 2000 and 31 December 2100" in response.content.decode()

    def test_until_9999_12_31_in_the_date_boxes_is_a_400_too(self, client, auditor):
        client.force_login(auditor)
        response = client.get(self.url, {"until_day": "31", "until_month": "12", "until_year": "9999"})
        assert response.status_code == 400
        assert 'href="#id_until_year"' in response.content.decode()

    def test_the_export_form_with_until_9999_12_31_sends_the_auditor_back_to_the_explanation(self, client, auditor):
        client.force_login(auditor)
        response = client.post("/audit/exports/", {"until": "9999-12-31", "format": "csv"})
        assert response.status_code == 302
        page = client.get(response["Location"])
        assert page.status_code == 400 and "To date must be between" in page.content.decode()

    def test_the_filters_are_govuk_date_inputs(self, client, auditor):
        client.force_login(auditor)
        page = client.get(self.url).content.decode()
        assert 'type="date"' not in page
        for name in ("since", "until"):
            for part in ("day", "month", "year"):
                assert f'name="{name}_{part}"' in page
        assert '<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">From date</legend>' in page

    def test_two_bad_dates_get_two_errors_each_naming_its_field(self, client, auditor):
        client.force_login(auditor)
        response = client.get(self.url, {"since_day": "31", "since_month": "2", "since_year": "2026",
                                         "until_day": "x", "until_month": "1", "until_year": "2026"})
        page = response.content.decode()
        assert response.status_code == 400
        assert "From date must be a real date" in page and "To date must be a real date, in numbers" in page
        assert "Enter a valid date." not in page

    def test_the_boxes_filter_and_keep_their_values_in_the_links(self, client, auditor, agency):
        make_events(2, agency=agency)
        client.force_login(auditor)
        response = client.get(self.url, {"since_day": "1", "since_month": "1", "since_year": "2020",
                                         "action": "check.allowed"})
        assert response.status_code == 200 and len(response.context["events"]) == 2
        page = response.content.decode()
        assert 'value="2020"' in page and "since=2020-01-01" in page


@pytest.mark.django_db
class EventDetailPageTests:
    """The audit page listed an event's action and object but not what was asked and answered."""

    def check_event(self, agency):
        return record(
            action="check.denied", object_type="dataset", object_ref="smoking-risk", agency=agency,
            detail={"provider": "manchester-cc", "recipient": "gm-fire", "dataset": "smoking-risk",
                    "purpose": "Home fire safety visit", "data_items": ["name", "address"], "on": "2026-11-24",
                    "allowed": False, "outcome": "no_agreement",
                    "reason": "No, do not share: no agreement covers this.", "agreement": None, "version": None,
                    "legal_bases": [], "warnings": []},
        )

    def test_a_check_shows_its_question_and_answer_in_words(self, client, auditor, agency,
                                                              django_assert_max_num_queries):
        event = self.check_event(agency)
        client.force_login(auditor)
        with django_assert_max_num_queries(12):
            response = client.get(f"/audit/events/{event.seq}/")
        assert response.status_code == 200
        page = response.content.decode()
        for words in ("The question", "gm-fire", "Home fire safety visit", "name, address", "The answer",
                      "No, do not share", "No agreement", "no agreement covers this"):
            assert words in page, words

    def test_the_list_links_to_each_event(self, client, auditor, agency):
        event = self.check_event(agency)
        client.force_login(auditor)
        assert f'href="/audit/events/{event.seq}/"' in client.get("/audit/").content.decode()

    def test_another_event_shows_its_detail_as_a_list(self, client, auditor, agency):
        event = record(action="agreement.suspended", object_type="agreement", object_ref="ISA-1-0001", agency=agency,
                       detail={"reason": "A breach was reported", "version": 2})
        client.force_login(auditor)
        page = client.get(f"/audit/events/{event.seq}/").content.decode()
        assert "A breach was reported" in page and "The question" not in page

    def test_an_event_of_an_agency_not_audited_is_404(self, client, auditor, other_agency):
        event = self.check_event(other_agency)
        client.force_login(auditor)
        assert client.get(f"/audit/events/{event.seq}/").status_code == 404

    def test_members_who_are_not_auditors_get_403_and_reading_is_audited(self, client, frontline, auditor, agency):
        event = self.check_event(agency)
        client.force_login(frontline)
        assert client.get(f"/audit/events/{event.seq}/").status_code == 403
        client.force_login(auditor)
        client.get(f"/audit/events/{event.seq}/")
        viewed = AuditEvent.objects.filter(action="audit.viewed").latest("seq")
        assert viewed.detail == {"event": event.seq, "via": "browser"}
