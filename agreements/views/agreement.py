"""Pages of one agreement: the agreement page, the confirmation step of each action, the printout and the PDF.

Each view parses its input, calls one selector or service, and renders the result. The selectors decide what is
visible (404 otherwise) and which actions to offer; the services decide every POST (403, 409 or a reason to fix).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from accounts.selectors import display_name, job_title
from agencies.choices import Role
from agencies.selectors import user_agency_ids
from audit.choices import AuditAction
from common.date_input import DatePartsField, date_input
from common.errors import Conflict
from common.limits import COMMENTS_MAX, REVIEW_NOTES_MAX, form_text
from common.types import AuthenticatedHttpRequest, User

from .. import services
from ..canonical import version_digest
from ..choices import AgreementStatus, LegalBasisKind, VersionState
from ..compare import version_changes
from ..lifecycle import Action, Refusal, verdict, verdicts
from ..models import Agreement, AgreementVersion, Party, VersionComment
from ..pdf import render_pdf
from ..rules import SCHEDULE_1_PREFIX, version_warnings
from ..selectors import (
    agreement_get,
    agreement_get_full,
    agreement_standing_event,
    agreement_timeline,
    agreement_usage,
    version_comments,
    version_get,
)
from ..services import agreement_record_viewed
from ..status import starts_later

T = TypeVar("T")


def _shown_version(agreement: Agreement) -> AgreementVersion:
    """The terms this user may read: the current ones for a full viewer, else those in force (a summary viewer
    sees only agreements that have one)."""
    return agreement.current_version if getattr(agreement, "full_view", False) else agreement.version_in_force()


# --- the agreement page --------------------------------------------------------------------------------------


TIMELINE_TEXT: dict[str, str] = {
    AuditAction.AGREEMENT_CREATED: "Drafted version {version}",
    AuditAction.AGREEMENT_IMPORTED: "Imported as a draft (version {version})",
    AuditAction.AGREEMENT_UPDATED: "Changed the draft of version {version}",
    AuditAction.AGREEMENT_SUBMITTED: "Sent version {version} for signature",
    AuditAction.AGREEMENT_APPROVED: "Signed version {version} for {party}",
    AuditAction.AGREEMENT_ACTIVATED: "Version {version} came into force: every party had signed",
    AuditAction.AGREEMENT_REJECTED: "Rejected version {version}",
    AuditAction.AGREEMENT_SUSPENDED: "Suspended: sharing stopped",
    AuditAction.AGREEMENT_REINSTATED: "Reinstated: version {version} back in force",
    AuditAction.AGREEMENT_REVOKED: "Revoked: the agreement ended for good",
    AuditAction.AGREEMENT_EXPIRED: "Expired: version {version} reached its end date",
    AuditAction.AGREEMENT_AMENDED: "Started an amendment, version {version}; version {in_force_version} stays in force",
    AuditAction.AGREEMENT_REVIEW_REMINDED: "Review reminder sent",
    AuditAction.AGREEMENT_WITHDRAWN: "Withdrew version {version} to change it; its signatures were cleared",
    AuditAction.AGREEMENT_CHANGES_REQUESTED: "Asked for changes to version {version} for {party}",
    AuditAction.AGREEMENT_COPIED: "Copied from {copied_from} into this new draft",
    AuditAction.AGREEMENT_REVIEW_CONFIRMED: "Confirmed the review of version {version} for {party}, with no changes",
    AuditAction.AGREEMENT_REVIEWED: "Review done: every party confirmed version {version}; next review {review_date}",
    AuditAction.AGREEMENT_COMMENTED: "Commented on version {version} for {party}",
}


def _long_date(iso: str) -> str:
    try:
        day = dt.date.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso or "?"
    return f"{day.day} {day:%B %Y}"


def _timeline(agreement: Agreement, agency_names: dict[str, str]) -> list[dict[str, Any]]:
    entries = []
    for event in agreement_timeline(agreement=agreement):
        detail = event.detail if isinstance(event.detail, dict) else {}
        values = {"version": detail.get("version", "?"), "in_force_version": detail.get("in_force_version", "?"),
                  "copied_from": detail.get("copied_from", "another agreement"),
                  "review_date": _long_date(detail.get("review_date", "")),
                  "party": agency_names.get(detail.get("party", ""), detail.get("party", "a party"))}
        entries.append({
            "event": event,
            "text": TIMELINE_TEXT.get(event.action, event.get_action_display()).format(**values),
            "reason": detail.get("reason", "") or detail.get("notes", ""),
            "agency": agency_names.get(event.agency_code, event.agency_code),
        })
    return entries


STANDING_TEXT = {
    AuditAction.AGREEMENT_SUSPENDED: "Suspended",
    AuditAction.AGREEMENT_REVOKED: "Revoked",
    AuditAction.AGREEMENT_REJECTED: "Rejected",
}


def _standing(event: Any, agreement: Agreement, names: dict[str, str]) -> dict[str, Any]:
    """Who suspended, revoked or rejected it, for the top of the page: their name, agency, when and why."""
    detail = event.detail or {}
    what = STANDING_TEXT[AuditAction(event.action)]
    if event.action == AuditAction.AGREEMENT_REJECTED and agreement.status != AgreementStatus.REJECTED:
        what = f"Version {detail.get('version', '?')} was rejected"
    return {
        "what": what, "event": event, "reason": detail.get("reason", ""),
        "who": display_name(event.actor) if event.actor_id else event.actor_name or "the system",
        "job_title": job_title(event.actor) if event.actor_id else "",
        "agency": names.get(event.agency_code, event.agency_code),
    }


@login_required
@require_safe
def agreement_detail(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    agreement = agreement_get(user=request.user, reference=reference)
    version = _shown_version(agreement)
    flows = list(version.flow_list())
    in_force = agreement.in_force_version
    context: dict[str, Any] = {
        "agreement": agreement, "version": version, "flows": flows, "legal_bases": version.cited_legal_bases(),
        "in_force": in_force,
        "starts_later": starts_later(agreement),
        "parties": [p.agency for p in version.party_list()],
    }
    if getattr(agreement, "full_view", False):
        earlier = (
            {p.agency_id: p for p in in_force.party_list()} if in_force and in_force.pk != version.pk else {}
        )
        standing = agreement_standing_event(agreement=agreement)
        names = {p.agency.code: p.agency.name
                 for v in (in_force, version) if v is not None for p in v.party_list()}
        signatures = [{"party": p, "earlier": earlier.get(p.agency_id)} for p in version.party_list()]
        answers = verdicts(user=request.user, agreement=agreement)
        context.update(
            amending=bool(earlier),
            signatures=signatures,
            timeline=_timeline(agreement, names),
            usage=agreement_usage(agreement=agreement),
            buttons=[(name, ACTION_PAGES[name]) for name in ACTION_PAGES if answers[Action(name)].allowed],
            why_not=_why_not(request.user, answers),
            threads=_threads(request.user, agreement),
            comments_max=COMMENTS_MAX,
            may_edit=answers[Action.EDIT].allowed,
            warnings=version_warnings(version) if version.state in (VersionState.DRAFT, VersionState.SUBMITTED) else [],
            changes=version_changes(agreement=agreement, version=version),
            digest=version_digest(agreement=agreement, version=version),
            standing=_standing(standing, agreement, names) if standing else None,
        )
    agreement_record_viewed(actor=request.user, agreement=agreement, page="detail")
    return render(request, "agreements/agreement_detail.html", context)


# --- each version's comments --------------------------------------------------------------------------------


def _threads(user: Any, agreement: Agreement) -> list[dict[str, Any]]:
    """Each version's thread, newest version first: the current version's and the in-force one's while they take
    comments, and any version's that has comments, with the lifecycle's answer to whether this user may add one.
    One query for every comment; past versions' parties (one more) only when they have comments."""
    comments = list(VersionComment.objects.filter(version__agreement_id=agreement.pk)
                    .select_related("version", "agency", "author__profile").order_by("created_at", "id"))
    versions = {v.pk: v for v in (agreement.current_version, agreement.in_force_version) if v is not None}
    past = {c.version_id: c.version for c in comments if c.version_id not in versions}
    prefetch_related_objects(list(past.values()), Prefetch("parties", queryset=Party.objects.select_related("agency")))
    versions.update(past)
    threads = []
    for version in sorted(versions.values(), key=lambda v: -v.number):
        answer = verdict(user=user, agreement=agreement, action=Action.COMMENT, version=version)
        said = [c for c in comments if c.version_id == version.pk]
        if said or answer.in_state:  # an ended agreement shows only the threads that have something in them
            threads.append({"version": version, "comments": said, "answer": answer,
                            "in_force": version.pk == agreement.in_force_version_id})
    return threads


class CommentForm(forms.Form):
    text = form_text("comment", COMMENTS_MAX, label="Your comment", required=False, widget=forms.Textarea)
    agency = forms.CharField(required=False, max_length=64)


@login_required
@require_http_methods(["GET", "POST"])
def agreement_comments(request: AuthenticatedHttpRequest, reference: str, number: int) -> HttpResponse:
    """One version's thread. GET: the thread and, for those the lifecycle allows, the form (the agreement page
    shows the same form); POST: the comment through the service, its errors shown with what was typed kept."""
    agreement = agreement_get_full(user=request.user, reference=reference)
    version = version_get(agreement=agreement, number=number)
    answer = verdict(user=request.user, agreement=agreement, action=Action.COMMENT, version=version)
    if request.method == "POST" and not answer.allowed:
        return _refuse(request, agreement, answer.message, status=answer.http_status)
    form = CommentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done, refusal = _through_service(request, agreement, form, lambda: services.comment_add(
            actor=request.user, agreement=agreement, number=number, text=form.cleaned_data["text"],
            agency=form.cleaned_data["agency"] or None))
        if refusal is not None:
            return refusal
        if done is not None:
            messages.success(request, f"Your comment on version {number} of {agreement.reference} was added. "
                                      "Every party can read it on this page.")
            return redirect(reverse("agreements:detail", args=[agreement.reference]) + f"#comments-{number}")
    context = {
        "agreement": agreement, "version": version, "form": form, "answer": answer, "comments_max": COMMENTS_MAX,
        "comments": list(version_comments(version=version)),
        "error_list": [(f"comment-agency-{number}" if name == "agency" else f"comment-text-{number}", message)
                       for name, field_errors in form.errors.items() for message in field_errors],
    }
    agreement_record_viewed(actor=request.user, agreement=agreement, page=f"comments-{number}")
    return render(request, "agreements/agreement_comments.html", context, status=400 if form.errors else 200)


# --- actions, each with a confirmation step ------------------------------------------------------------------


# Refusals worth explaining beside the buttons: the action's state allows it, but not for this officer.
_EXPLAINED = {Refusal.LAST_EDITOR, Refusal.ALREADY_SIGNED, Refusal.ALREADY_REVIEWED, Refusal.AMENDMENT_PENDING,
              Refusal.NOT_SUSPENDER, Refusal.NOT_IN_FORCE_PARTY, Refusal.NOT_SIGNATORY}


def _why_not(user: User, answers: dict[Action, Any]) -> list[str]:
    """Why a governance officer sees no button for an action the agreement's state allows (from the lifecycle)."""
    if not (user.is_superuser or user_agency_ids(user, {Role.GOVERNANCE_OFFICER})):
        return []
    seen: list[str] = []
    for answer in answers.values():
        if not answer.allowed and answer.in_state and answer.code in _EXPLAINED and answer.message not in seen:
            seen.append(answer.message)
    return seen


@dataclass(frozen=True)
class ActionPage:
    """The words of one action's confirmation page. Its button's label is the action's own (lifecycle.Action)."""

    action: Action
    heading: str
    confirm: str
    needs_reason: bool = False
    reason_label: str = ""
    warning: bool = False

    @property
    def label(self) -> str:
        return self.action.label


ACTION_PAGES: dict[str, ActionPage] = {page.action.value: page for page in (
    ActionPage(Action.SUBMIT, "Send version {number} for signature", "Send for signature"),
    ActionPage(Action.SIGN, "Sign version {number}", "Sign this version"),
    ActionPage(Action.REJECT, "Reject version {number}", "Reject this version", needs_reason=True,
               reason_label="Why are you rejecting it?", warning=True),
    ActionPage(Action.AMEND, "Start an amendment to {reference}", "Start the amendment"),
    ActionPage(Action.SUSPEND, "Suspend {reference}", "Suspend the agreement", needs_reason=True,
               reason_label="Why are you suspending it?", warning=True),
    ActionPage(Action.REINSTATE, "Reinstate {reference}", "Reinstate the agreement", needs_reason=True,
               reason_label="Why are you reinstating it?"),
    ActionPage(Action.REVOKE, "Revoke {reference}", "Revoke the agreement for good", needs_reason=True,
               reason_label="Why are you revoking it?", warning=True),
    ActionPage(Action.WITHDRAW, "Withdraw version {number} to change it", "Withdraw it", needs_reason=True,
               reason_label="Why are you withdrawing it?"),
    ActionPage(Action.REQUEST_CHANGES, "Ask for changes to version {number}", "Send it back with my comments",
               needs_reason=True, reason_label="What needs to change? Every party will read this."),
    ActionPage(Action.COPY, "Copy {reference} into a new draft", "Make the new draft"),
    ActionPage(Action.REVIEW, "Confirm the review of {reference}", "Confirm the review"),
)}


DECLARATION_MISSING = "Confirm that you are authorised to sign this agreement for the agency you sign for"


class ReviewForm(forms.Form):
    """A party's confirmation of a review: the next review date (GOV.UK date input) and optional notes."""

    next_review_date = DatePartsField(label="When should it next be reviewed?", required=False,
                                      help_text="For example, 1 4 2028. It must be in the future, and not after the "
                                                "agreement ends.")
    notes = form_text("notes", REVIEW_NOTES_MAX, label="Notes for the other parties (optional)", required=False)
    agency = forms.CharField(required=False)


def _review_page(request: AuthenticatedHttpRequest, agreement: Agreement, answer: Any) -> HttpResponse:
    """GET: the review form; POST: the confirmation through the service, its errors shown beside their fields."""
    if not answer.allowed:  # a POST from the wrong state: the same refusal as the GET, before any form
        return _refuse(request, agreement, answer.message, status=answer.http_status)
    version = agreement.version_in_force()
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done, refusal = _through_service(request, agreement, form, lambda: services.agreement_review(
            actor=request.user, agreement=agreement, next_review_date=form.cleaned_data["next_review_date"],
            notes=form.cleaned_data["notes"], agency=form.cleaned_data["agency"] or None))
        if refusal is not None:
            return refusal
        if done is not None:
            review_date = done.version_in_force().review_date
            messages.success(request, (
                f"Every party has confirmed the review of {agreement.reference}. The next review is due on "
                f"{review_date.day} {review_date:%B %Y}." if review_date != version.review_date else
                f"You confirmed the review of {agreement.reference}. It waits for the other parties to confirm."))
            return redirect("agreements:detail", reference=agreement.reference)
    confirmations = list(version.review_confirmations.filter(review_date=version.review_date)
                         .select_related("agency", "confirmed_by"))
    done_ids = {c.agency_id for c in confirmations}
    anchors = {"next_review_date": "next_review_date_day", "notes": "notes", "agency": "agency"}
    context = {
        "agreement": agreement, "version": version, "form": form, "date": date_input(form["next_review_date"]),
        "heading": ACTION_PAGES[Action.REVIEW].heading.format(reference=agreement.reference),
        "parties": list(answer.parties), "confirmations": confirmations,
        "waiting": [p.agency for p in version.party_list() if p.agency_id not in done_ids],
        "error_list": [(anchors.get(name, "confirm-button"), message)
                       for name, field_errors in form.errors.items() for message in field_errors],
        "notes_max": REVIEW_NOTES_MAX,
    }
    agreement_record_viewed(actor=request.user, agreement=agreement, page="confirm-review")
    return render(request, "agreements/agreement_review.html", context, status=400 if form.errors else 200)


def _act(action: str, *, actor: User, agreement: Agreement, reason: str, agency: str,
         declared: bool = False) -> tuple[Agreement, str]:
    """Call the action's service; returns the agreement and the success message."""
    number = agreement.current_version.number
    if action == Action.SUBMIT:
        done = services.agreement_submit(actor=actor, agreement=agreement)
        return done, f"Version {number} of {agreement.reference} has been sent to every party for signature."
    if action == Action.SIGN:
        done = services.agreement_approve(actor=actor, agreement=agreement, agency=agency or None, declared=declared)
        if done.status == AgreementStatus.ACTIVE and done.in_force_version_id == done.current_version_id:
            starts = done.version_in_force().start_date
            when = (f"it comes into force on {starts:%-d %B %Y}" if starts > timezone.localdate()
                    else f"version {number} is in force")
            return done, f"You signed version {number} of {agreement.reference}. Every party has now signed: {when}."
        return done, f"You signed version {number} of {agreement.reference}. It now waits for the other parties."
    if action == Action.REJECT:
        done = services.agreement_reject(actor=actor, agreement=agreement, reason=reason)
        return done, f"You rejected version {number} of {agreement.reference}."
    if action == Action.AMEND:
        done = services.agreement_amend(actor=actor, agreement=agreement)
        return done, (f"Version {done.current_version.number} of {agreement.reference} is a new draft. Version "
                      f"{done.version_in_force().number} stays in force until every party signs the new version.")
    if action == Action.SUSPEND:
        done = services.agreement_suspend(actor=actor, agreement=agreement, reason=reason)
        return done, f"{agreement.reference} is suspended. Checks will say no until it is reinstated."
    if action == Action.REINSTATE:
        done = services.agreement_reinstate(actor=actor, agreement=agreement, reason=reason)
        return done, f"{agreement.reference} is reinstated and in force again."
    if action == Action.WITHDRAW:
        done = services.agreement_withdraw(actor=actor, agreement=agreement, reason=reason)
        return done, f"Version {number} of {agreement.reference} is a draft again. Its signatures were cleared."
    if action == Action.REQUEST_CHANGES:
        done = services.agreement_request_changes(actor=actor, agreement=agreement, comments=reason,
                                                  agency=agency or None)
        return done, (f"Version {number} of {agreement.reference} went back to the lead agency with your comments. "
                      "Every party can read them on this page.")
    if action == Action.COPY:
        done = services.agreement_copy(actor=actor, agreement=agreement)
        return done, f"{done.reference} is a new draft with the terms of {agreement.reference}. Change what you need."
    done = services.agreement_revoke(actor=actor, agreement=agreement, reason=reason)
    return done, f"{agreement.reference} is revoked. Sharing under it has ended for good."


def _refuse(request: HttpRequest, agreement: Agreement, message: str, *, status: int) -> HttpResponse:
    return render(request, "agreements/agreement_action.html",
                  {"agreement": agreement, "refusal": message, "status_code": status}, status=status)


def _through_service(request: AuthenticatedHttpRequest, agreement: Agreement, form: forms.Form,
                     call: Callable[[], T]) -> tuple[T | None, HttpResponse | None]:
    """Run a form page's service: (its result, None); a refusal becomes its page (None, 403/409 page); a broken
    rule goes onto the form, beside its field (None, None)."""
    try:
        return call(), None
    except PermissionDenied as error:
        return None, _refuse(request, agreement, str(error), status=403)
    except Conflict as error:
        return None, _refuse(request, agreement, str(error), status=409)
    except ValidationError as error:
        for name, field_errors in _errors(error).items():
            form.add_error(name if name in form.fields else None, field_errors)
        return None, None


def _errors(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {name: list(messages_) for name, messages_ in error.message_dict.items()}
    return {"__all__": list(error.messages)}


@login_required
@require_http_methods(["GET", "POST"])
def agreement_action(request: AuthenticatedHttpRequest, reference: str, action: str) -> HttpResponse:
    """GET explains what will happen and asks to confirm; POST does it through the service."""
    spec = ACTION_PAGES[action]
    agreement = agreement_get(user=request.user, reference=reference)
    answer = verdict(user=request.user, agreement=agreement, action=action)
    version = agreement.current_version
    names = {"number": version.number, "reference": agreement.reference, "lead": agreement.lead_agency.name}
    if not answer.allowed and (answer.forbidden or request.method != "POST"):
        return _refuse(request, agreement, answer.message, status=answer.http_status)
    if action == Action.REVIEW:
        return _review_page(request, agreement, answer)
    reason = request.POST.get("reason", "") if request.method == "POST" else ""
    agency = (request.POST.get("agency") or "").strip() if request.method == "POST" else ""
    declared = request.method == "POST" and request.POST.get("declaration") == "yes"
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and action == Action.SIGN and answer.allowed and not declared:
        # The page asks every signer to declare their authority (the API may leave it out).
        if len(answer.parties) > 1 and not agency:
            errors["agency"] = ["Say which agency you are signing for"]
        errors["declaration"] = [DECLARATION_MISSING]
    elif request.method == "POST":
        try:
            agreement, message = _act(action, actor=request.user, agreement=agreement, reason=reason, agency=agency,
                                      declared=declared)
        except PermissionDenied as error:
            return _refuse(request, agreement, str(error), status=403)
        except Conflict as error:
            return _refuse(request, agreement, str(error), status=409)
        except ValidationError as error:
            errors = _errors(error)
        else:
            messages.success(request, message)
            return redirect("agreements:detail", reference=agreement.reference)
    in_force = agreement.in_force_version
    context = {
        "agreement": agreement, "version": version, "in_force": in_force, "action": action, "spec": spec,
        "heading": spec.heading.format(**names), "reason": reason, "agency": agency, "errors": errors,
        "error_list": [(name if name in ("reason", "agency", "declaration") else "confirm-button", message)
                       for name, field_errors in errors.items() for message in field_errors],
        "signable": list(answer.parties) if action == Action.SIGN else [],
        "unsigned": [p.agency for p in version.party_list() if p.signed_at is None],
        "amending": in_force is not None and in_force.pk != version.pk,
        "next_number": version.number + 1,  # the current version is always the latest
        "declared": declared,
        "user_name": display_name(request.user), "user_job_title": job_title(request.user),
        # Signatories, and whoever is asked to send or answer a version, see what changed in it.
        "changes": version_changes(agreement=agreement, version=version)
        if action in (Action.SIGN, Action.SUBMIT, Action.REJECT, Action.REQUEST_CHANGES) else None,
    }
    # The confirmation page shows the version it acts on: recorded as a view.
    agreement_record_viewed(actor=request.user, agreement=agreement, page=f"confirm-{action}")
    return render(request, "agreements/agreement_action.html", context, status=400 if errors else 200)


# --- the printable page --------------------------------------------------------------------------------------


@login_required
def agreement_print(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """The current version under the ICO data sharing code's headings. Only for those who see the full record."""
    agreement = agreement_get_full(user=request.user, reference=reference)
    version = agreement.current_version
    agreement_record_viewed(actor=request.user, agreement=agreement, page="print")
    return render(request, "agreements/print.html", _printable(agreement, version, changes=True))


def _printable(agreement: Agreement, version: Any, *, changes: bool) -> dict[str, Any]:
    """What the printable page and the PDF show of one version (loaded with its terms)."""
    flows = list(version.flow_list())
    bases = version.cited_legal_bases()
    in_force = agreement.in_force_version
    signed_in_force = agreement.earlier_signatures(version)
    parties = [
        {"party": p, "agency": p.agency, "earlier": signed_in_force.get(p.agency_id)} for p in version.party_list()
    ]
    return {
        "agreement": agreement,
        "version": version,
        "in_force": in_force,
        "flows": flows,
        "parties": parties,
        "article6": [b for b in bases if b.kind == LegalBasisKind.ARTICLE6],
        "conditions": [b for b in bases if b.kind in (LegalBasisKind.ARTICLE9, LegalBasisKind.ARTICLE10)
                       or b.code.startswith(SCHEDULE_1_PREFIX)],
        "gateways": [b for b in bases if b.kind in (LegalBasisKind.STATUTE, LegalBasisKind.COMMON_LAW)
                     and not b.code.startswith(SCHEDULE_1_PREFIX)],
        "special_flows": [f for f in flows if f.dataset.special_category],
        "criminal_flows": [f for f in flows if f.dataset.criminal_offence],
        "warnings": version_warnings(version),
        "digest": version_digest(agreement=agreement, version=version),
        "changes": version_changes(agreement=agreement, version=version) if changes else None,
    }


@login_required
@require_safe
def agreement_version_pdf(request: AuthenticatedHttpRequest, reference: str, number: int) -> HttpResponse:
    """One version as a PDF (WeasyPrint), carrying the SHA-256 of its canonical content. For those who see the full
    record; each download is recorded as a view."""
    agreement = agreement_get_full(user=request.user, reference=reference)
    version = version_get(agreement=agreement, number=number)
    context = _printable(agreement, version, changes=False)
    context["generated_at"] = timezone.now()
    pdf = render_pdf(render_to_string("agreements/version_pdf.html", context))
    agreement_record_viewed(actor=request.user, agreement=agreement, page=f"pdf-{number}")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{agreement.reference}-version-{number}.pdf"'
    return response
