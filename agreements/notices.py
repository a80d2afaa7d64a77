"""What each agreement event tells people: the words of its notice and who gets it (notifications.services.notify).

The services call these after recording their audit event, inside their transaction. Every governance officer of
every party to the version concerned is told once, except the officer who acted: the version awaiting signatures
for a submission, a request for changes or a signature; the version commented on for a comment; the version in
force for everything after. The words say what happened, who did it and what the reader can do now, in plain
English.
"""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from accounts.selectors import display_name
from agencies.models import Agency
from audit.models import AuditEvent
from common.types import User
from notifications.choices import NotificationKind
from notifications.services import notify

from .models import Agreement, AgreementVersion

Kind = NotificationKind


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _party_ids(version: AgreementVersion) -> list[int]:
    return list(version.parties.values_list("agency_id", flat=True))


def _send(kind: Kind, *, agreement: Agreement, version: AgreementVersion, event: AuditEvent, actor: User | None,
          subject: str, body: str, email: bool = True) -> None:
    notify(kind=kind, event=event, agency_ids=_party_ids(version), subject=subject, body=body,
           link=reverse("agreements:detail", args=[agreement.reference]), exclude_user=actor, email=email)


def _who(actor: User | None, agency: Agency | None) -> str:
    name = display_name(actor) if actor is not None else "The registry"
    return f"{name} of {agency.name}" if agency is not None else name


def submitted(*, agreement: Agreement, version: AgreementVersion, event: AuditEvent, actor: User) -> None:
    _send(Kind.SUBMITTED, agreement=agreement, version=version, event=event, actor=actor,
          subject=f"Please sign {agreement.reference}: {version.title}",
          body=(f"{_who(actor, agreement.lead_agency)} sent version {version.number} of {agreement.reference} "
                f"“{version.title}” for signature.\n\nEvery party’s governance officers are asked to read and sign "
                "it. It comes into force when every party has signed. If something needs to change, ask for "
                "changes from the agreement’s page."))


def changes_requested(*, agreement: Agreement, version: AgreementVersion, event: AuditEvent, actor: User | None,
                      agency: Agency, comments: str) -> None:
    _send(Kind.CHANGES_REQUESTED, agreement=agreement, version=version, event=event, actor=actor,
          subject=f"Changes asked for: {agreement.reference} {version.title}",
          body=(f"{_who(actor, agency)} asked for changes to version {version.number} of {agreement.reference}. "
                f"It is a draft again, and any signatures on it were cleared.\n\nTheir comments:\n\n{comments}"))


def commented(*, agreement: Agreement, version: AgreementVersion, event: AuditEvent, actor: User, agency: Agency,
              text: str) -> None:
    """Told to the officers of the parties of the version commented on."""
    _send(Kind.COMMENTED, agreement=agreement, version=version, event=event, actor=actor,
          subject=f"New comment on {agreement.reference} version {version.number}: {version.title}",
          body=(f"{_who(actor, agency)} commented on version {version.number} of {agreement.reference} "
                f"“{version.title}”.\n\nTheir comment:\n\n{text}\n\nEvery party can read the thread, and reply, "
                "on the agreement’s page."))


def signed(*, agreement: Agreement, version: AgreementVersion, event: AuditEvent, actor: User,
           agency: Agency) -> None:
    unsigned = sorted(version.parties.filter(signed_at__isnull=True).values_list("agency__name", flat=True))
    waiting = (f"Still to sign: {', '.join(unsigned)}." if unsigned
               else "Every party has now signed.")
    _send(Kind.SIGNED, agreement=agreement, version=version, event=event, actor=actor,
          subject=f"{agency.name} signed {agreement.reference}",
          body=(f"{_who(actor, agency)} signed version {version.number} of {agreement.reference} “{version.title}” "
                f"for {agency.name}.\n\n{waiting}"))


def activated(*, agreement: Agreement, version: AgreementVersion, event: AuditEvent, actor: User | None,
              today: date) -> None:
    when = (f"It comes into force on {_day(version.start_date)}." if version.start_date > today
            else "It is in force now.")
    _send(Kind.ACTIVATED, agreement=agreement, version=version, event=event, actor=actor,
          subject=f"Every party signed {agreement.reference}",
          body=(f"Every party has signed version {version.number} of {agreement.reference} “{version.title}”. "
                f"{when} Its review is due on {_day(version.review_date)}."))


def _status_changed(kind: Kind, verb: str, outcome: str, *, agreement: Agreement, event: AuditEvent, actor: User,
                    agency: Agency, reason: str) -> None:
    """Suspended, reinstated or revoked: who did it, what it means now, and their reason."""
    version = agreement.version_in_force()
    _send(kind, agreement=agreement, version=version, event=event, actor=actor,
          subject=f"{agreement.reference} is {verb}",
          body=(f"{_who(actor, agency)} {verb} {agreement.reference} “{version.title}”. "
                f"{outcome.format(version=version)}\n\nThe reason given:\n\n{reason}"))


def suspended(*, agreement: Agreement, event: AuditEvent, actor: User, agency: Agency, reason: str) -> None:
    _status_changed(Kind.SUSPENDED, "suspended", "Sharing under it has stopped: checks that rely on it answer no "
                    "until it is reinstated.", agreement=agreement, event=event, actor=actor, agency=agency,
                    reason=reason)


def reinstated(*, agreement: Agreement, event: AuditEvent, actor: User, agency: Agency, reason: str) -> None:
    _status_changed(Kind.REINSTATED, "reinstated", "Version {version.number} is in force again.",
                    agreement=agreement, event=event, actor=actor, agency=agency, reason=reason)


def revoked(*, agreement: Agreement, event: AuditEvent, actor: User, agency: Agency, reason: str) -> None:
    _status_changed(Kind.REVOKED, "revoked", "Sharing under it has ended for good.",
                    agreement=agreement, event=event, actor=actor, agency=agency, reason=reason)


def review_due(*, agreement: Agreement, version: AgreementVersion, event: AuditEvent, subject: str,
               days_left: int) -> None:
    """The review reminder's inbox item: its email is the reminder itself (agreements/reminders.py)."""
    when = (f"is due on {_day(version.review_date)}" if days_left >= 0
            else f"was due on {_day(version.review_date)} and is overdue")
    _send(Kind.REVIEW_DUE, agreement=agreement, version=version, event=event, actor=None, subject=subject,
          email=False,
          body=(f"The review of {agreement.reference} “{version.title}” {when}. If nothing needs to change, each "
                "party’s governance officer confirms the review from the agreement’s page, without signing it "
                "again. If something has changed, the lead agency starts an amendment."))


def review_confirmed(*, agreement: Agreement, version: AgreementVersion, event: AuditEvent, actor: User | None,
                     previous: date, proposed: dict[str, date]) -> None:
    differing = len(set(proposed.values())) > 1
    note = ""
    if differing:
        dates = ", ".join(f"{name}: {_day(day)}" for name, day in sorted(proposed.items()))
        note = f"\n\nThe parties proposed different dates ({dates}), so the earliest was taken."
    _send(Kind.REVIEW_CONFIRMED, agreement=agreement, version=version, event=event, actor=actor,
          subject=f"Review confirmed: {agreement.reference} {version.title}",
          body=(f"Every party has confirmed the review of version {version.number} of {agreement.reference} "
                f"(due {_day(previous)}) with no changes. The next review is due on {_day(version.review_date)}."
                f"{note}"))
