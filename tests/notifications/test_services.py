"""Notices: who is told of each agreement event, once each, in the inbox and by email after commit, audited."""

import datetime as dt
import smtplib

import pytest
from django.core import mail as django_mail
from django.utils import timezone

from agencies.choices import Role
from agreements import services
from agreements.models import Agreement
from audit.models import AuditEvent
from notifications.models import Notification
from notifications.services import notification_email_send, notification_preference_set
from tests.factories import AgencyFactory, UserFactory, agreement_factory, member, sign_all

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER
DRAFTER, SECOND = "lead-council-governance_officer", "lead-council-second-officer"
NHS = "nhs-provider-governance_officer"


def fresh(agreement) -> Agreement:
    return Agreement.objects.get(pk=agreement.pk)


def told(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def active_agreement():
    agreement = agreement_factory(state="active")
    Notification.objects.all().delete()
    return agreement


class WhoIsToldTests:
    def test_submitting_tells_every_officer_of_every_party_once_but_not_the_sender(
            self, django_capture_on_commit_callbacks):
        agreement = agreement_factory()
        second = member(agreement.lead_agency, GO, username=SECOND)
        nhs = AgencyFactory(code="nhs-provider")
        member(nhs, GO, username=NHS)
        both = member(nhs, GO, username="officer-of-both")  # an officer of two parties is told once
        agreement.lead_agency.roles.get(role=GO).group.user_set.add(both)
        member(nhs, Role.FRONTLINE, username="nhs-frontline")  # not a governance officer
        member(AgencyFactory(code="fire"), GO, username="fire-officer")  # not a party
        UserFactory(username="switched-off-officer", is_active=False)
        with django_capture_on_commit_callbacks(execute=True):
            services.agreement_submit(actor=second.__class__.objects.get(username=DRAFTER), agreement=agreement)
        assert told("submitted") == {SECOND, NHS, "officer-of-both"}
        notice = Notification.objects.get(user__username=NHS)
        event = AuditEvent.objects.get(action="agreement.submitted")
        assert notice.event_id == event.seq and notice.object_ref == agreement.reference
        assert notice.subject == f"Please sign {agreement.reference}: Hospital discharge to adult social care"
        assert notice.link == f"/agreements/{agreement.reference}/"
        assert {m.to[0] for m in django_mail.outbox} == {f"{u}@example.org" for u in (SECOND, NHS, "officer-of-both")}
        assert len(django_mail.outbox) == 3

    def test_every_lifecycle_event_tells_the_parties(self, django_capture_on_commit_callbacks):
        agreement = agreement_factory(state="submitted")
        nhs = member(AgencyFactory(code="nhs-provider"), GO, username=NHS)
        services.agreement_request_changes(actor=nhs, agreement=agreement, comments="Name the retention period.")
        notice = Notification.objects.get(kind="changes_requested", user__username=DRAFTER)
        assert "Name the retention period." in notice.body and "NHS Provider" in notice.body
        drafter = notice.user
        services.agreement_submit(actor=drafter, agreement=agreement)
        sign_all(fresh(agreement))
        assert told("signed") >= {DRAFTER, NHS}
        assert told("activated") == {DRAFTER, SECOND}  # NHS signed last: the last signer is not told what they did
        services.agreement_suspend(actor=nhs, agreement=fresh(agreement), reason="A data breach at the trust.")
        suspended = Notification.objects.get(kind="suspended", user__username=DRAFTER)
        assert "A data breach at the trust." in suspended.body
        services.agreement_reinstate(actor=nhs, agreement=fresh(agreement), reason="Breach contained.")
        assert "Breach contained." in Notification.objects.get(kind="reinstated", user__username=DRAFTER).body
        services.agreement_revoke(actor=drafter, agreement=fresh(agreement), reason="The service closed.")
        assert told("revoked") == {SECOND, NHS}
        # Each notice is about the audit event of the same action.
        for kind, action in (("suspended", "agreement.suspended"), ("revoked", "agreement.revoked")):
            assert {n.event.action for n in Notification.objects.filter(kind=kind)} == {action}


class EmailTests:
    def test_the_email_goes_after_commit_in_text_and_html_and_is_audited(self, django_capture_on_commit_callbacks):
        agreement = agreement_factory()
        member(AgencyFactory(code="nhs-provider"), GO, username=NHS)
        drafter = agreement.created_by
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.agreement_submit(actor=drafter, agreement=agreement)
        assert django_mail.outbox == [] and len(callbacks) == 1  # nothing is sent before the commit
        callbacks[0]()
        [message] = django_mail.outbox
        assert message.to == [f"{NHS}@example.org"]
        assert agreement.reference in message.body and "/notifications/settings/" in message.body
        html, mime = message.alternatives[0]
        assert mime == "text/html" and f"/agreements/{agreement.reference}/" in html
        event = AuditEvent.objects.get(action="notification.emailed")
        notice = Notification.objects.get()
        assert event.detail["to"] == NHS and event.detail["notification"] == notice.pk
        assert event.object_ref == agreement.reference and "nhs-provider" in event.agencies
        assert notice.emailed_at is not None

    def test_a_second_delivery_of_the_same_send_sends_nothing(self, django_capture_on_commit_callbacks):
        agreement = agreement_factory()
        member(AgencyFactory(code="nhs-provider"), GO, username=NHS)
        with django_capture_on_commit_callbacks(execute=True):
            services.agreement_submit(actor=agreement.created_by, agreement=agreement)
        notice = Notification.objects.get()
        assert notification_email_send(notification_id=notice.pk) is False
        assert len(django_mail.outbox) == 1
        assert AuditEvent.objects.filter(action="notification.emailed").count() == 1

    def test_a_mail_server_failure_leaves_it_unsent_for_the_retry(self, django_capture_on_commit_callbacks, settings):
        agreement = agreement_factory()
        member(AgencyFactory(code="nhs-provider"), GO, username=NHS)
        with django_capture_on_commit_callbacks(execute=False):
            services.agreement_submit(actor=agreement.created_by, agreement=agreement)
        notice = Notification.objects.get()
        settings.EMAIL_BACKEND = "tests.notifications.failing_mail.RefusingBackend"
        with pytest.raises(smtplib.SMTPException):
            notification_email_send(notification_id=notice.pk)
        notice.refresh_from_db()
        assert notice.emailed_at is None and not AuditEvent.objects.filter(action="notification.emailed").exists()
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert notification_email_send(notification_id=notice.pk) is True
        assert len(django_mail.outbox) == 1

    def test_someone_who_turned_email_off_gets_the_inbox_item_only(self, django_capture_on_commit_callbacks):
        agreement = agreement_factory()
        nhs = member(AgencyFactory(code="nhs-provider"), GO, username=NHS)
        notification_preference_set(user=nhs, email=False)
        assert AuditEvent.objects.get(action="notification.settings_changed").detail == {"email": False}
        with django_capture_on_commit_callbacks(execute=True):
            services.agreement_submit(actor=agreement.created_by, agreement=agreement)
        assert django_mail.outbox == []
        notice = Notification.objects.get(user=nhs)
        assert not notice.email_wanted and notice.read_at is None

    def test_turning_email_off_after_the_notice_was_made_stops_its_email(self, django_capture_on_commit_callbacks):
        agreement = agreement_factory()
        nhs = member(AgencyFactory(code="nhs-provider"), GO, username=NHS)
        with django_capture_on_commit_callbacks(execute=False):
            services.agreement_submit(actor=agreement.created_by, agreement=agreement)
        notification_preference_set(user=nhs, email=False)
        assert notification_email_send(notification_id=Notification.objects.get().pk) is False
        assert django_mail.outbox == []


class ReviewDueTests:
    def test_the_review_reminder_also_puts_an_item_in_every_officers_inbox(self, django_capture_on_commit_callbacks):
        from agreements.reminders import review_reminder_send

        today = timezone.localdate()
        agreement = agreement_factory(state="active", start_date=today - dt.timedelta(days=30),
                                      review_date=today + dt.timedelta(days=30))
        Notification.objects.all().delete()
        no_email = member(agreement.lead_agency, GO, username="no-email-officer", email="")
        with django_capture_on_commit_callbacks(execute=True):
            assert review_reminder_send(version_id=agreement.in_force_version_id, days_before=30, today=today)
        assert told("review_due") == {DRAFTER, SECOND, NHS, no_email.username}
        assert len(django_mail.outbox) == 3  # the reminder's own email, one each; no second email
        assert not Notification.objects.filter(email_wanted=True).exists()
