"""Scheduled work for agreements, run eagerly: the daily expiry and the review reminders."""

import datetime as dt

import pytest
from django.utils import timezone

from agencies.choices import Role
from agreements import reminders
from agreements.models import Agreement, ReviewReminder
from agreements.services import agreement_revoke, agreement_suspend
from agreements.tasks import expire, review_reminders
from audit.models import AuditEvent
from tests.eager import eager_tasks
from tests.factories import agreement_factory, member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager():
    with eager_tasks():
        yield


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def reviewed_in(days: int, **extra) -> Agreement:
    """An active agreement whose in-force version is reviewed `days` from today."""
    today = timezone.localdate()
    review = today + dt.timedelta(days=days)
    return agreement_factory(state="active", start_date=min(today, review) - dt.timedelta(days=30),
                             end_date=max(today, review) + dt.timedelta(days=365), review_date=review, **extra)


def run_daily(capture) -> int:
    with capture(execute=True):
        return review_reminders.apply().get()


OFFICERS = {"lead-council-governance_officer@example.org", "lead-council-second-officer@example.org",
            "nhs-provider-governance_officer@example.org"}


class ReviewReminderTests:
    @pytest.mark.parametrize("days", [90, 30, 0])
    def test_each_threshold_emails_every_partys_governance_officers_and_is_audited(
        self, region, days, mailoutbox, django_capture_on_commit_callbacks
    ):
        agreement = reviewed_in(days)
        assert run_daily(django_capture_on_commit_callbacks) == 1
        assert {address for message in mailoutbox for address in message.to} == OFFICERS
        assert len(mailoutbox) == len(OFFICERS)  # one message each: officers of one agency don't see another's
        message = mailoutbox[0]
        assert agreement.reference in message.subject
        assert ("due today" if days == 0 else f"due in {days} days") in message.subject
        html, mimetype = message.alternatives[0]
        assert mimetype == "text/html" and agreement.reference in html and agreement.reference in message.body
        assert f"/agreements/{agreement.reference}/print/" in message.body
        reminder = ReviewReminder.objects.get()
        assert reminder.days_before == days and reminder.sent_at is not None
        event = AuditEvent.objects.get(action="agreement.review_reminded")
        assert event.object_ref == agreement.reference and event.actor is None
        assert event.actor_name == "task:agreements.send_review_reminder"
        assert event.detail["days_before"] == days
        assert sorted(event.detail["recipients"]) == sorted(address.split("@")[0] for address in OFFICERS)

    def test_running_twice_sends_once(self, region, mailoutbox, django_capture_on_commit_callbacks):
        reviewed_in(30)
        assert run_daily(django_capture_on_commit_callbacks) == 1
        assert run_daily(django_capture_on_commit_callbacks) == 0
        assert len(mailoutbox) == len(OFFICERS)
        assert ReviewReminder.objects.count() == 1
        assert AuditEvent.objects.filter(action="agreement.review_reminded").count() == 1

    def test_a_second_send_of_the_same_threshold_is_refused_by_the_claim(self, region, mailoutbox):
        version_id = reviewed_in(90).in_force_version_id
        today = timezone.localdate()
        assert reminders.review_reminder_send(version_id=version_id, days_before=90, today=today)
        assert not reminders.review_reminder_send(version_id=version_id, days_before=90, today=today)
        assert len(mailoutbox) == len(OFFICERS)

    def test_nothing_at_89_days_once_the_90_day_reminder_went_yesterday(
        self, region, mailoutbox, django_capture_on_commit_callbacks
    ):
        version_id = reviewed_in(89).in_force_version_id
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        assert reminders.review_reminders_due(today=yesterday) == [(version_id, 90)]
        assert reminders.review_reminder_send(version_id=version_id, days_before=90, today=yesterday)
        mailoutbox.clear()
        assert run_daily(django_capture_on_commit_callbacks) == 0
        assert mailoutbox == []

    def test_nothing_at_89_days_without_catch_up(self, region, settings, mailoutbox,
                                                 django_capture_on_commit_callbacks):
        settings.REVIEW_REMINDER_CATCH_UP_DAYS = 0
        reviewed_in(89)
        assert run_daily(django_capture_on_commit_callbacks) == 0
        assert mailoutbox == []

    def test_a_missed_day_is_caught_up_within_the_window_but_not_after(self, region, settings, mailoutbox,
                                                                       django_capture_on_commit_callbacks):
        settings.REVIEW_REMINDER_CATCH_UP_DAYS = 7
        caught_up = reviewed_in(85)
        lead = caught_up.lead_agency
        too_late = reviewed_in(80, lead=lead, title="Second agreement")
        assert run_daily(django_capture_on_commit_callbacks) == 1
        assert ReviewReminder.objects.get().version_id == caught_up.in_force_version_id
        assert not ReviewReminder.objects.filter(version_id=too_late.in_force_version_id).exists()

    def test_only_governance_officers_of_parties_with_an_email_are_sent_it(self, region, mailoutbox,
                                                                           django_capture_on_commit_callbacks):
        reviewed_in(30)
        member(region.council, Role.FRONTLINE)
        member(region.council, Role.AUDITOR)
        member(region.fire, Role.GOVERNANCE_OFFICER)  # not a party
        member(region.nhs, Role.GOVERNANCE_OFFICER, username="nhs-left", is_active=False)
        member(region.nhs, Role.GOVERNANCE_OFFICER, username="nhs-no-email", email="")
        run_daily(django_capture_on_commit_callbacks)
        assert {address for message in mailoutbox for address in message.to} == OFFICERS

    def test_suspended_agreements_are_reminded_and_revoked_ones_are_not(self, region, mailoutbox,
                                                                        django_capture_on_commit_callbacks):
        suspended = reviewed_in(30)
        officer = member(suspended.lead_agency, Role.GOVERNANCE_OFFICER)
        agreement_suspend(actor=officer, agreement=suspended, reason="Breach under investigation")
        revoked = reviewed_in(30, lead=suspended.lead_agency, title="Revoked one")
        agreement_revoke(actor=officer, agreement=revoked, reason="No longer needed")
        run_daily(django_capture_on_commit_callbacks)
        assert list(ReviewReminder.objects.values_list("version_id", flat=True)) == [suspended.in_force_version_id]

    def test_a_mail_server_failure_releases_the_claim_so_a_retry_sends_it(self, region, settings, mailoutbox):
        version_id = reviewed_in(30).in_force_version_id
        today = timezone.localdate()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens
        with pytest.raises(OSError):
            reminders.review_reminder_send(version_id=version_id, days_before=30, today=today)
        assert not ReviewReminder.objects.exists()
        assert not AuditEvent.objects.filter(action="agreement.review_reminded").exists()
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert reminders.review_reminder_send(version_id=version_id, days_before=30, today=today)
        assert len(mailoutbox) == len(OFFICERS)

    def test_finding_due_reminders_takes_a_fixed_number_of_queries(self, region, django_assert_max_num_queries):
        first = reviewed_in(30)
        for number in range(3):
            reviewed_in(90, lead=first.lead_agency, title=f"Agreement {number}")
        with django_assert_max_num_queries(3):
            due = reminders.review_reminders_due(today=timezone.localdate())
        assert sorted(threshold for _, threshold in due) == [30, 90, 90, 90]


class ReminderCommandTests:
    def test_the_command_sends_what_the_task_would_once_and_takes_a_date(self, region, mailoutbox):
        from io import StringIO

        from django.core.management import CommandError, call_command

        agreement = reviewed_in(40)
        out = StringIO()
        call_command("send_review_reminders", stdout=out)
        assert out.getvalue().strip() == "0 review reminder(s) sent."
        ten_days_on = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
        call_command("send_review_reminders", "--today", ten_days_on, stdout=out)
        call_command("send_review_reminders", "--today", ten_days_on, stdout=out)
        assert "1 review reminder(s) sent." in out.getvalue() and len(mailoutbox) == len(OFFICERS)
        event = AuditEvent.objects.get(action="agreement.review_reminded")
        assert event.actor_name == "send_review_reminders" and event.object_ref == agreement.reference
        with pytest.raises(CommandError, match="as a date"):
            call_command("send_review_reminders", "--today", "next week")


class ExpiryTaskTests:
    def test_daily_expiry_is_recorded_by_the_system_actor_and_is_idempotent(self, region):
        start = timezone.localdate() - dt.timedelta(days=400)
        agreement = agreement_factory(state="active", start_date=start, end_date=start + dt.timedelta(days=100),
                                      review_date=start + dt.timedelta(days=50))
        result = expire.apply()
        assert result.get() == 1
        assert expire.apply().get() == 0
        assert Agreement.objects.get(pk=agreement.pk).status == "expired"
        event = AuditEvent.objects.get(action="agreement.expired")
        assert event.actor is None and event.actor_name == "task:agreements.expire"
        assert event.request_id == result.id


def test_the_daily_tasks_are_in_beats_editable_schedule(beat_schedules):
    from django_celery_beat.models import PeriodicTask

    from sharing_registry.celery import app

    app.loader.import_default_modules()
    scheduled = {task.task: task for task in PeriodicTask.objects.select_related("crontab")}
    for name, hour in (("agreements.expire", "0"), ("agreements.review_reminders", "7")):
        assert name in app.tasks and scheduled[name].enabled and scheduled[name].crontab.hour == hour


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_reminder_at_once_send_it_once(mailoutbox, settings):
    """The claim is a unique row: of two concurrent sends of one threshold, exactly one emails anyone."""
    import threading

    from django.db import connection

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    version_id = reviewed_in(30).in_force_version_id
    mailoutbox.clear()  # the notices of its signing, emailed as each step committed
    barrier, results = threading.Barrier(2), []

    def send():
        try:
            barrier.wait(timeout=10)
            results.append(reminders.review_reminder_send(version_id=version_id, days_before=30,
                                                          today=timezone.localdate()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
    assert len(mailoutbox) == len(OFFICERS) and ReviewReminder.objects.count() == 1
    assert AuditEvent.objects.filter(action="agreement.review_reminded").count() == 1
