"""Writes for agreements: drafting, signing by every party, and the lifecycle (docs/architecture.md).

Each service is keyword-only, runs in one transaction, takes the agreement row lock for lifecycle actions
(so that concurrent last signatures activate exactly once) and records its audit event in that transaction.
Bad terms raise `rules.TermsInvalid` (400), actions not yours raise PermissionDenied (403), and actions
from the wrong state raise `common.errors.Conflict` (409).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Prefetch
from django.utils import timezone

from accounts.selectors import display_name, job_title
from agencies.choices import Role
from agencies.models import Agency
from agencies.selectors import has_role
from agencies.services import permission_grant, permission_revoke
from audit.choices import AuditAction
from audit.models import AuditEvent
from audit.services import events_index_add, record
from common.errors import Conflict
from common.limits import COMMENTS_MAX, REASON_MAX, REVIEW_NOTES_MAX, text_problem
from common.types import UNCHANGED, Unchanged, User, given

from . import lifecycle, notices
from .canonical import version_terms
from .choices import AgreementStatus, CommentKind, PeriodEndReason, PeriodState, VersionState
from .lifecycle import Action
from .models import (
    Agreement,
    AgreementGroupObjectPermission,
    AgreementPeriod,
    AgreementVersion,
    Flow,
    Party,
    ReferenceCounter,
    ReviewConfirmation,
    VersionComment,
)
from .rules import ResolvedTerms, resolve_terms
from .selectors import TIMELINE_ACTIONS, version_get

VIEW = "view_agreement"
COMMENT_MISSING = "Write your comment. Every party will read it."
TERM_FIELDS = ("title", "purpose", "start_date", "end_date", "review_date", "dpia_reference")


class StaleDraft(Conflict):
    """The draft changed after the editor opened it; `revision` is the draft's revision now."""

    def __init__(self, message: str, *, revision: str):
        super().__init__(message)
        self.revision = revision


def version_revision(version: AgreementVersion) -> str:
    """A token that changes whenever the version is saved: an editor sends back the one they started from."""
    return version.updated_at.isoformat()


# --- helpers -------------------------------------------------------------------------------------------------


def _next_reference(*, year: int) -> str:
    """ISA-<year>-<nnnn> from a locked counter row; numbers are never handed out twice."""
    try:
        counter = ReferenceCounter.objects.select_for_update().get(year=year)
    except ReferenceCounter.DoesNotExist:
        try:
            with transaction.atomic():
                ReferenceCounter.objects.create(year=year, last_number=0)
        except IntegrityError:
            pass  # another transaction created the year's counter first
        counter = ReferenceCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"ISA-{year}-{counter.last_number:04d}"


def _lock(agreement: Agreement) -> Agreement:
    """The agreement row, locked for the rest of the transaction, with its versions and their parties loaded fresh
    (the lifecycle's verdict reads them)."""
    parties = Party.objects.select_related("agency")
    return (
        Agreement.objects.select_for_update(of=("self",))
        .select_related("lead_agency", "current_version", "in_force_version", "suspended_by")
        .prefetch_related(Prefetch("current_version__parties", queryset=parties),
                          Prefetch("in_force_version__parties", queryset=parties))
        .get(pk=agreement.pk)
    )


def _write_terms(*, version: AgreementVersion, terms: ResolvedTerms) -> None:
    """Replace the version's parties and flows with the resolved terms (the version must be a draft)."""
    Party.objects.filter(version=version).delete()
    Flow.legal_bases.through.objects.filter(flow__version=version).delete()
    Flow.objects.filter(version=version).delete()
    Party.objects.bulk_create([Party(version=version, agency=agency) for agency in terms.party_agencies()])
    flows = Flow.objects.bulk_create([
        Flow(version=version, dataset=f.dataset, provider=f.provider, recipient=f.recipient, purpose=f.purpose,
             data_items=f.data_items, method=f.method, frequency=f.frequency, retention=f.retention)
        for f in terms.flows
    ])
    through = Flow.legal_bases.through
    through.objects.bulk_create([
        through(flow_id=flow.pk, legalbasis_id=basis.pk)
        for flow, resolved in zip(flows, terms.flows, strict=True) for basis in resolved.legal_bases
    ])


def _desired_grants(agreement: Agreement) -> set[tuple[int, str, str]]:
    """(agency id, role, codename) the agreement's parties should hold: every role of a party to the current or
    the in-force version may see it. Who may act is not stored: the lifecycle table decides it from the versions'
    parties (agreements/lifecycle.py), so a grant can never disagree with it."""
    version_ids = {v for v in (agreement.current_version_id, agreement.in_force_version_id) if v}
    if agreement.in_force_version_id:  # a rejected or withdrawn amendment gives its own parties no lasting sight
        version_ids -= set(AgreementVersion.objects.filter(  # the current version, when it is not the one in force
            pk__in=version_ids, state__in=[VersionState.REJECTED, VersionState.WITHDRAWN],
        ).exclude(pk=agreement.in_force_version_id).values_list("pk", flat=True))
    party_ids = set(Party.objects.filter(version_id__in=version_ids).values_list("agency_id", flat=True))
    return {(agency_id, role, VIEW) for agency_id in party_ids for role in Role.values}


def _sync_permissions(agreement: Agreement) -> None:
    """Grant and revoke object permissions so that they follow the parties, each change audited."""
    held = set(
        AgreementGroupObjectPermission.objects.filter(content_object=agreement, group__agency_role__isnull=False)
        .values_list("group__agency_role__agency_id", "group__agency_role__role", "permission__codename")
    )
    wanted = _desired_grants(agreement)
    agencies = {a.pk: a for a in Agency.objects.filter(pk__in={g[0] for g in held ^ wanted})}
    for agency_id, role, codename in sorted(wanted - held):
        permission_grant(perm=f"agreements.{codename}", agency=agencies[agency_id], role=role, obj=agreement)
    for agency_id, role, codename in sorted(held - wanted):
        permission_revoke(perm=f"agreements.{codename}", agency=agencies[agency_id], role=role, obj=agreement)
    joined = {agencies[agency_id].code for agency_id in {g[0] for g in wanted} - {g[0] for g in held}}
    if joined:  # a new party's auditors see what happened to the agreement before it joined
        events_index_add(codes=joined, object_type="agreement", object_ref=agreement.reference,
                         actions=TIMELINE_ACTIONS)


def agreement_agency_codes(agreement: Agreement) -> list[str]:
    """Every agency an agreement concerns: the lead and every party of any of its versions (one query). Its
    events carry them all, so that every party's auditors see what happened to it."""
    codes = set(Party.objects.filter(version__agreement_id=agreement.pk).values_list("agency__code", flat=True))
    return sorted(codes | {agreement.lead_agency.code})


def _event(action: AuditAction, agreement: Agreement, actor: User | None, agency: Agency | None = None,
           **detail: Any) -> AuditEvent:
    """`agency` is the agency the actor acted for (the lead agency when none is given)."""
    return record(
        action=action,
        object_type="agreement",
        object_ref=agreement.reference,
        agency=agency or agreement.lead_agency,
        agencies=agreement_agency_codes(agreement),
        actor=actor,
        detail={"reference": agreement.reference, **detail},
    )


def _open_period(*, agreement: Agreement, version: AgreementVersion, state: str, now: datetime,
                 reason: str = "") -> None:
    AgreementPeriod.objects.create(agreement=agreement, version=version, state=state, started_at=now, reason=reason)


def _close_period(*, agreement: Agreement, reason: PeriodEndReason, now: datetime) -> None:
    AgreementPeriod.objects.filter(agreement=agreement, ended_at__isnull=True).update(ended_at=now, end_reason=reason)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give a reason. It is kept in the audit log."]})
    problem = text_problem(reason, what="reason", limit=REASON_MAX)  # a NUL: PostgreSQL's jsonb refuses it
    if problem:
        raise ValidationError({"reason": [problem]})
    return reason


def _withdraw_pending_amendment(agreement: Agreement) -> int | None:
    """A draft or submitted amendment dies with the agreement (revoked or expired)."""
    current = agreement.current_version
    if current and current.pk != agreement.in_force_version_id and current.state in (
        VersionState.DRAFT, VersionState.SUBMITTED
    ):
        current.state = VersionState.WITHDRAWN
        current.save(update_fields=["state", "updated_at"])
        return current.number
    return None


# --- drafting ------------------------------------------------------------------------------------------------


@transaction.atomic
def agreement_create(
    *,
    actor: User,
    lead_agency: str | Agency,
    title: str,
    purpose: str,
    start_date: date | None,
    end_date: date | None,
    review_date: date | None,
    flows: Sequence[Mapping[str, Any]],
    dpia_reference: str = "",
    check_permissions: bool = True,
    imported_from: str = "",
) -> Agreement:
    """Draft a new agreement (version 1). Only the lead agency's governance officers may draft for it.

    `check_permissions=False` is for the import command, which drafts on behalf of the register.
    `imported_from` records the agreement as imported (agreement.imported) rather than created.
    """
    terms = resolve_terms(
        lead_agency=lead_agency, title=title, purpose=purpose, start_date=start_date, end_date=end_date,
        review_date=review_date, dpia_reference=dpia_reference, flows=flows,
    )
    lead = terms.lead_agency
    if check_permissions and not (actor.is_superuser or has_role(actor, lead.pk, Role.GOVERNANCE_OFFICER)):
        raise PermissionDenied(
            f"Only governance officers of {lead.name} can draft an agreement that {lead.name} leads."
        )
    reference = _next_reference(year=timezone.localdate().year)
    agreement = Agreement.objects.create(reference=reference, lead_agency=lead, created_by=actor)
    version = AgreementVersion.objects.create(
        agreement=agreement, number=1, title=terms.title, purpose=terms.purpose, start_date=terms.start_date,
        end_date=terms.end_date, review_date=terms.review_date, dpia_reference=terms.dpia_reference,
        created_by=actor, last_edited_by=actor,
    )
    _write_terms(version=version, terms=terms)
    agreement.current_version = version
    agreement.save(update_fields=["current_version", "updated_at"])
    if imported_from:
        _event(AuditAction.AGREEMENT_IMPORTED, agreement, actor, version=1, source=imported_from,
               parties=[a.code for a in terms.party_agencies()])
    else:
        _event(AuditAction.AGREEMENT_CREATED, agreement, actor, version=1, title=terms.title,
               parties=[a.code for a in terms.party_agencies()])
    _sync_permissions(agreement)
    return agreement


@transaction.atomic
def agreement_update(
    *,
    actor: User,
    agreement: Agreement,
    expected_revision: str | None = None,
    title: str | Unchanged = UNCHANGED,
    purpose: str | Unchanged = UNCHANGED,
    start_date: date | None | Unchanged = UNCHANGED,
    end_date: date | None | Unchanged = UNCHANGED,
    review_date: date | None | Unchanged = UNCHANGED,
    dpia_reference: str | Unchanged = UNCHANGED,
    lead_agency: str | Agency | Unchanged = UNCHANGED,
    flows: Sequence[Mapping[str, Any]] | None | Unchanged = UNCHANGED,
) -> Agreement:
    """Change the current draft version's terms. Fields not given keep their values; `flows` replaces all flows.

    With `expected_revision` (from `version_revision`), a draft someone else saved in the meantime is refused
    (StaleDraft, a 409) rather than silently overwritten.
    """
    changes = given({"title": title, "purpose": purpose, "start_date": start_date, "end_date": end_date,
                     "review_date": review_date, "dpia_reference": dpia_reference, "lead_agency": lead_agency,
                     "flows": flows})
    agreement = _lock(agreement)
    lifecycle.require(user=actor, agreement=agreement, action=Action.EDIT)
    version = agreement.current_version
    if expected_revision is not None and version_revision(version) != expected_revision:
        editor = version.last_edited_by
        raise StaleDraft(
            f"{editor.get_full_name() or editor.get_username()} changed this draft at "
            f"{timezone.localtime(version.updated_at):%H:%M on %-d %B %Y} after you opened it.",
            revision=version_revision(version),
        )
    if "lead_agency" in changes and agreement.status != AgreementStatus.DRAFT:
        raise ValidationError({"lead_agency": ["The lead agency can only change before the agreement is first "
                                               "submitted."]})
    if "lead_agency" in changes and not actor.is_superuser:
        new_lead = Agency.objects.filter(code=changes["lead_agency"]).first()
        if new_lead is not None and not has_role(actor, new_lead.pk, Role.GOVERNANCE_OFFICER):
            raise PermissionDenied("You can only hand the lead to an agency where you are a governance officer.")
    flows = changes.get("flows")
    if flows is None:
        flows = [
            {"dataset": f.dataset.code, "provider": f.provider.code, "recipient": f.recipient.code,
             "purpose": f.purpose, "legal_bases": [b.code for b in f.basis_list()], "data_items": f.data_items,
             "method": f.method, "frequency": f.frequency, "retention": f.retention}
            for f in version.flows.select_related("dataset", "provider", "recipient").prefetch_related("legal_bases")
        ]
    terms = resolve_terms(
        lead_agency=changes.get("lead_agency", agreement.lead_agency),
        flows=flows,
        **{name: changes.get(name, getattr(version, name)) for name in TERM_FIELDS},
    )
    for name in TERM_FIELDS:
        setattr(version, name, getattr(terms, name))
    version.last_edited_by = actor
    version.save()
    _write_terms(version=version, terms=terms)
    if terms.lead_agency.pk != agreement.lead_agency_id:
        agreement.lead_agency = terms.lead_agency
    agreement.save(update_fields=["lead_agency", "updated_at"])
    _event(AuditAction.AGREEMENT_UPDATED, agreement, actor, version=version.number, fields=sorted(changes))
    _sync_permissions(agreement)
    return agreement


@transaction.atomic
def agreement_submit(*, actor: User, agreement: Agreement) -> Agreement:
    """Send the current draft for signature by every party."""
    agreement = _lock(agreement)
    lifecycle.require(user=actor, agreement=agreement, action=Action.SUBMIT)
    version = agreement.current_version
    version.state = VersionState.SUBMITTED
    version.submitted_at = timezone.now()
    version.save(update_fields=["state", "submitted_at", "updated_at"])
    if agreement.status == AgreementStatus.DRAFT:
        agreement.status = AgreementStatus.SUBMITTED
        agreement.save(update_fields=["status", "updated_at"])
    event = _event(AuditAction.AGREEMENT_SUBMITTED, agreement, actor, version=version.number)
    notices.submitted(agreement=agreement, version=version, event=event, actor=actor)
    return agreement


@transaction.atomic
def agreement_amend(*, actor: User, agreement: Agreement) -> Agreement:
    """Start an amendment: a new draft version copied from the in-force one. The signed version stays in force."""
    agreement = _lock(agreement)
    lifecycle.require(user=actor, agreement=agreement, action=Action.AMEND)
    source = agreement.version_in_force()
    number = (agreement.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = AgreementVersion.objects.create(
        agreement=agreement, number=number, created_by=actor, last_edited_by=actor,
        **{name: getattr(source, name) for name in TERM_FIELDS},
    )
    Party.objects.bulk_create([Party(version=version, agency_id=p.agency_id) for p in source.party_list()])
    through = Flow.legal_bases.through
    for flow in source.flows.prefetch_related("legal_bases"):
        bases = flow.basis_list()
        flow.pk = None
        flow.version = version
        flow.save()
        through.objects.bulk_create([through(flow_id=flow.pk, legalbasis_id=b.pk) for b in bases])
    agreement.current_version = version
    agreement.save(update_fields=["current_version", "updated_at"])
    _event(AuditAction.AGREEMENT_AMENDED, agreement, actor, version=number, in_force_version=source.number)
    return agreement


def _back_to_draft(agreement: Agreement) -> list[str]:
    """The version awaiting signatures becomes a draft again: its signatures are cleared (they were for the words
    as sent) and a first version's agreement is a draft again. Returns the codes of the parties that had signed."""
    version = agreement.current_version
    signed = list(version.parties.filter(signed_at__isnull=False).values_list("agency__code", flat=True))
    # The terms as they were sent: whoever signs the next submission sees what changed from them.
    version.returned_terms, version.returned_at = version_terms(version_get(agreement=agreement,
                                                                             number=version.number)), timezone.now()
    version.parties.update(signed_by=None, signed_at=None, signer_name="", signer_job_title="",
                           signer_declared=False)
    version.state, version.submitted_at = VersionState.DRAFT, None
    version.save(update_fields=["state", "submitted_at", "returned_terms", "returned_at", "updated_at"])
    if agreement.status == AgreementStatus.SUBMITTED:
        agreement.status = AgreementStatus.DRAFT
        agreement.save(update_fields=["status", "updated_at"])
    return sorted(signed)


@transaction.atomic
def agreement_withdraw(*, actor: User, agreement: Agreement, reason: str) -> Agreement:
    """The lead agency takes the version awaiting signatures back to change it (a typo, say)."""
    reason = _reason(reason)
    agreement = _lock(agreement)
    lifecycle.require(user=actor, agreement=agreement, action=Action.WITHDRAW)
    number = agreement.current_version.number
    cleared = _back_to_draft(agreement)
    _event(AuditAction.AGREEMENT_WITHDRAWN, agreement, actor, version=number, reason=reason,
           signatures_cleared=cleared)
    return agreement


@transaction.atomic
def agreement_request_changes(*, actor: User, agreement: Agreement, comments: str,
                              agency: str | Agency | None = None) -> Agreement:
    """A party sends the version awaiting signatures back to the lead agency with comments, which stay with the
    version for every party to read. Unlike a rejection, the negotiation goes on."""
    comments = (comments or "").strip()
    if not comments:
        raise ValidationError({"comments": ["Say what needs to change. Every party will read it."]})
    problem = text_problem(comments, what="comments", limit=COMMENTS_MAX)
    if problem:
        raise ValidationError({"comments": [problem]})
    agreement = _lock(agreement)
    answer = lifecycle.require(user=actor, agreement=agreement, action=Action.REQUEST_CHANGES)
    party = _speaking_for(agreement=agreement, parties=answer.parties, agency=agency)
    version = agreement.current_version
    VersionComment.objects.create(version=version, agency=party.agency, author=actor,
                                  kind=CommentKind.CHANGES_REQUESTED, body=comments)
    cleared = _back_to_draft(agreement)
    event = _event(AuditAction.AGREEMENT_CHANGES_REQUESTED, agreement, actor, agency=party.agency,
                   version=version.number, party=party.agency.code, comments=comments, signatures_cleared=cleared)
    notices.changes_requested(agreement=agreement, version=version, event=event, actor=actor, agency=party.agency,
                              comments=comments)
    return agreement


@transaction.atomic
def comment_add(*, actor: User, agreement: Agreement, number: int, text: str,
                agency: str | Agency | None = None) -> VersionComment:
    """A party's officer adds a comment to one version's thread, for every party to read. Only the current version
    and the one in force take comments, and only while the agreement has not ended (the lifecycle's COMMENT)."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": [COMMENT_MISSING]})
    problem = text_problem(text, what="comment", limit=COMMENTS_MAX)
    if problem:
        raise ValidationError({"text": [problem]})
    agreement = _lock(agreement)
    version = agreement.versions.prefetch_related(
        Prefetch("parties", queryset=Party.objects.select_related("agency"))).get(number=number)
    answer = lifecycle.require(user=actor, agreement=agreement, action=Action.COMMENT, version=version)
    party = _speaking_for(agreement=agreement, parties=answer.parties, agency=agency)
    comment = VersionComment.objects.create(version=version, agency=party.agency, author=actor,
                                            kind=CommentKind.COMMENT, body=text)
    # The event concerns every party of any version (the contract), and an agency an amendment removed cannot read
    # the thread: the event holds the text's SHA-256, which proves what was said, not the text itself.
    event = _event(AuditAction.AGREEMENT_COMMENTED, agreement, actor, agency=party.agency, version=version.number,
                   party=party.agency.code, comment=comment.pk,
                   text_sha256=hashlib.sha256(text.encode()).hexdigest(), length=len(text))
    notices.commented(agreement=agreement, version=version, event=event, actor=actor, agency=party.agency, text=text)
    return comment


def _speaking_for(*, agreement: Agreement, parties: Sequence[Party], agency: str | Agency | None) -> Party:
    """The party an officer speaks for: the one named, or their only one (the lead's first)."""
    if agency is None:
        return sorted(parties, key=lambda p: (p.agency_id != agreement.lead_agency_id, p.agency_id))[0]
    code = agency.code if isinstance(agency, Agency) else str(agency).strip()
    party = next((p for p in parties if p.agency.code == code), None)
    if party is None:
        raise ValidationError({"agency": [f"You cannot speak for {_agency_name(code)} on {agreement.reference}."]})
    return party


def _agency_name(code: str) -> str:
    """An agency as people know it, for a message about a code that was sent: its name, or the code if unknown."""
    name = Agency.objects.filter(code=code).values_list("name", flat=True).first()
    return name or f"“{code}”"


@transaction.atomic
def agreement_copy(*, actor: User, agreement: Agreement) -> Agreement:
    """A new draft agreement (a new reference) holding the terms of this one's latest version, whatever its state:
    the way to start again after a rejection, a revocation or an expiry."""
    lifecycle.require(user=actor, agreement=agreement, action=Action.COPY)
    source = agreement.current_version
    flows = [
        {"dataset": f.dataset.code, "provider": f.provider.code, "recipient": f.recipient.code,
         "purpose": f.purpose, "legal_bases": [b.code for b in f.basis_list()], "data_items": f.data_items,
         "method": f.method, "frequency": f.frequency, "retention": f.retention}
        for f in source.flows.select_related("dataset", "provider", "recipient").prefetch_related("legal_bases")
    ]
    copy = agreement_create(actor=actor, lead_agency=agreement.lead_agency, flows=flows,
                            **{name: getattr(source, name) for name in TERM_FIELDS})
    _event(AuditAction.AGREEMENT_COPIED, copy, actor, copied_from=agreement.reference, from_version=source.number)
    return copy


# --- signing -------------------------------------------------------------------------------------------------


def _signing_party(
    *, actor: User, agreement: Agreement, signable: Sequence[Party], agency: str | Agency | None
) -> Party:
    """The party the officer signs for, among those the lifecycle lets them sign for (`signable`)."""
    if agency is None:
        if len(signable) > 1:
            names = ", ".join(p.agency.name for p in signable)
            raise ValidationError({"agency": [f"You can sign for more than one party that has not signed yet "
                                              f"({names}). Say which agency you are signing for."]})
        return signable[0]
    code = agency.code if isinstance(agency, Agency) else str(agency).strip()
    party = next((p for p in signable if p.agency.code == code), None)
    if party is not None:
        return party
    version = agreement.current_version
    named = version.parties.select_related("agency").filter(agency__code=code).first()
    if named is None:
        raise ValidationError({"agency": [f"{_agency_name(code)} is not a party to {agreement.reference}."]})
    if named.signed_at is not None:
        raise lifecycle.LifecycleConflict(
            f"{named.agency.name} has already signed version {version.number} of {agreement.reference}.",
            code=lifecycle.Refusal.ALREADY_SIGNED)
    if named.agency_id == agreement.lead_agency_id and version.last_edited_by_id == actor.pk:
        raise lifecycle.LifecycleForbidden(
            f"You were the last person to edit version {version.number}, so another governance officer of "
            f"{named.agency.name} must sign it for {named.agency.name}. This makes sure two people have checked it.",
            code=lifecycle.Refusal.LAST_EDITOR)
    raise lifecycle.LifecycleForbidden(f"Only governance officers of {named.agency.name} can sign for "
                                       f"{named.agency.name}.", code=lifecycle.Refusal.NOT_SIGNATORY)


@transaction.atomic
def agreement_approve(*, actor: User, agreement: Agreement, agency: str | Agency | None = None,
                      declared: bool = False) -> Agreement:
    """One party signs the submitted version. When every party has signed, that version comes into force.

    `agency` may be left out when the officer can sign for exactly one unsigned party. The officer who last
    edited the version cannot sign it for the lead agency: a second officer must. The signature keeps the signer's
    name and job title as they are now, and whether they declared they are authorised to sign (`declared`: the
    page requires it; the API accepts it).
    """
    agreement = _lock(agreement)
    version = agreement.current_version
    signable = lifecycle.require(user=actor, agreement=agreement, action=Action.SIGN).parties
    party = _signing_party(actor=actor, agreement=agreement, signable=signable, agency=agency)
    now = timezone.now()
    party.signed_by, party.signed_at = actor, now
    party.signer_name, party.signer_job_title = display_name(actor), job_title(actor)
    party.signer_declared = declared
    party.save(update_fields=["signed_by", "signed_at", "signer_name", "signer_job_title", "signer_declared"])
    event = _event(AuditAction.AGREEMENT_APPROVED, agreement, actor, agency=party.agency, version=version.number,
                   party=party.agency.code, signer_name=party.signer_name, signer_job_title=party.signer_job_title,
                   declared=declared)
    notices.signed(agreement=agreement, version=version, event=event, actor=actor, agency=party.agency)
    if version.parties.filter(signed_at__isnull=True).exists():
        return agreement
    previous = agreement.in_force_version
    if previous is not None:
        previous.state = VersionState.SUPERSEDED
        previous.save(update_fields=["state", "updated_at"])
        _close_period(agreement=agreement, reason=PeriodEndReason.SUPERSEDED, now=now)
    version.state, version.signed_at = VersionState.SIGNED, now
    version.save(update_fields=["state", "signed_at", "updated_at"])
    agreement.status = AgreementStatus.ACTIVE
    agreement.in_force_version = version
    agreement.save(update_fields=["status", "in_force_version", "updated_at"])
    _open_period(agreement=agreement, version=version, state=PeriodState.IN_FORCE, now=now)
    event = _event(AuditAction.AGREEMENT_ACTIVATED, agreement, actor, version=version.number,
                   superseded_version=previous.number if previous else None)
    notices.activated(agreement=agreement, version=version, event=event, actor=actor, today=timezone.localdate())
    _sync_permissions(agreement)
    return agreement


@transaction.atomic
def agreement_reject(*, actor: User, agreement: Agreement, reason: str) -> Agreement:
    """A party declines to sign the submitted version. A rejected amendment leaves the agreement in force."""
    reason = _reason(reason)
    agreement = _lock(agreement)
    acting = lifecycle.require(user=actor, agreement=agreement, action=Action.REJECT).acting_agency
    version = agreement.current_version
    version.state = VersionState.REJECTED
    version.save(update_fields=["state", "updated_at"])
    if agreement.status == AgreementStatus.SUBMITTED:
        agreement.status = AgreementStatus.REJECTED
        agreement.save(update_fields=["status", "updated_at"])
    _event(AuditAction.AGREEMENT_REJECTED, agreement, actor, agency=acting,
           version=version.number, reason=reason,
           amendment=agreement.in_force_version_id is not None)
    _sync_permissions(agreement)
    return agreement


# --- the life of an agreement in force -----------------------------------------------------------------------


def _switch_period(*, actor: User, agreement: Agreement, reason: str, action: Action) -> Agreement:
    """Suspend or reinstate: close the open period and open one in the other state, for the same signed version.
    A suspension remembers the agency that suspended, which alone may reinstate (the lifecycle's SUSPENDER)."""
    reason = _reason(reason)
    agreement = _lock(agreement)
    acting = lifecycle.require(user=actor, agreement=agreement, action=action).acting_agency
    suspending = action == Action.SUSPEND
    now = timezone.now()
    _close_period(agreement=agreement, now=now,
                  reason=PeriodEndReason.SUSPENDED if suspending else PeriodEndReason.REINSTATED)
    _open_period(agreement=agreement, version=agreement.version_in_force(),
                 state=PeriodState.SUSPENDED if suspending else PeriodState.IN_FORCE, now=now, reason=reason)
    agreement.status = AgreementStatus.SUSPENDED if suspending else AgreementStatus.ACTIVE
    # A registry administrator acting for no agency of theirs leaves no agency: only administrators may reinstate.
    agreement.suspended_by = acting if suspending and has_role(actor, acting.pk, Role.GOVERNANCE_OFFICER) else None
    agreement.save(update_fields=["status", "suspended_by", "updated_at"])
    event = _event(AuditAction.AGREEMENT_SUSPENDED if suspending else AuditAction.AGREEMENT_REINSTATED, agreement,
                   actor, agency=acting, version=agreement.version_in_force().number, reason=reason)
    announce = notices.suspended if suspending else notices.reinstated
    announce(agreement=agreement, event=event, actor=actor, agency=acting, reason=reason)
    return agreement


@transaction.atomic
def agreement_suspend(*, actor: User, agreement: Agreement, reason: str) -> Agreement:
    """Stop sharing under the agreement for now; the suspending agency can reinstate it."""
    return _switch_period(actor=actor, agreement=agreement, reason=reason, action=Action.SUSPEND)


@transaction.atomic
def agreement_reinstate(*, actor: User, agreement: Agreement, reason: str) -> Agreement:
    """Lift a suspension: the same signed version is in force again."""
    return _switch_period(actor=actor, agreement=agreement, reason=reason, action=Action.REINSTATE)


@transaction.atomic
def agreement_revoke(*, actor: User, agreement: Agreement, reason: str) -> Agreement:
    """End the agreement for good. Revocation is final."""
    reason = _reason(reason)
    agreement = _lock(agreement)
    acting = lifecycle.require(user=actor, agreement=agreement, action=Action.REVOKE).acting_agency
    now = timezone.now()
    _close_period(agreement=agreement, reason=PeriodEndReason.REVOKED, now=now)
    withdrawn = _withdraw_pending_amendment(agreement)
    previous = agreement.status
    agreement.status = AgreementStatus.REVOKED
    agreement.suspended_by = None
    agreement.save(update_fields=["status", "suspended_by", "updated_at"])
    event = _event(AuditAction.AGREEMENT_REVOKED, agreement, actor, agency=acting,
                   version=agreement.version_in_force().number, reason=reason,
                   previous_status=previous, withdrawn_version=withdrawn)
    notices.revoked(agreement=agreement, event=event, actor=actor, agency=acting, reason=reason)
    if withdrawn:
        _sync_permissions(agreement)
    return agreement


@transaction.atomic
def agreement_review(*, actor: User, agreement: Agreement, next_review_date: date | None, notes: str = "",
                     agency: str | Agency | None = None) -> Agreement:
    """A party's officer confirms that the version in force still holds with no changes, and proposes the next
    review date. Once every party of the version in force has confirmed this cycle (the current review date), the
    review date moves to the earliest date proposed and `agreement.reviewed` is recorded. Nothing is signed again."""
    notes = (notes or "").strip()
    problem = text_problem(notes, what="notes", limit=REVIEW_NOTES_MAX)
    if problem:
        raise ValidationError({"notes": [problem]})
    if next_review_date is None:
        raise ValidationError({"next_review_date": ["Enter the date of the next review."]})
    agreement = _lock(agreement)
    answer = lifecycle.require(user=actor, agreement=agreement, action=Action.REVIEW)
    version = agreement.version_in_force()
    party = _reviewing_party(agreement=agreement, open_parties=answer.parties, agency=agency, actor=actor)
    today = timezone.localdate()
    if next_review_date <= today:
        raise ValidationError({"next_review_date": [
            f"The next review date must be in the future, after {today.day} {today:%B %Y}."]})
    if next_review_date > version.end_date:
        raise ValidationError({"next_review_date": [
            f"The next review date must be on or before the agreement ends, "
            f"{version.end_date.day} {version.end_date:%B %Y}."]})
    cycle = version.review_date
    ReviewConfirmation.objects.create(version=version, agency=party.agency, review_date=cycle,
                                      next_review_date=next_review_date, notes=notes, confirmed_by=actor)
    _event(AuditAction.AGREEMENT_REVIEW_CONFIRMED, agreement, actor, agency=party.agency, version=version.number,
           party=party.agency.code, review_date=cycle, next_review_date=next_review_date, notes=notes)
    confirmations = list(ReviewConfirmation.objects.filter(version=version, review_date=cycle)
                         .select_related("agency"))
    if {p.agency_id for p in version.party_list()} - {c.agency_id for c in confirmations}:
        return agreement
    proposed = {c.agency.name: c.next_review_date for c in confirmations}
    version.review_date = min(proposed.values())
    version.save(update_fields=["review_date", "updated_at"])
    ReviewConfirmation.objects.filter(version=version, review_date=cycle).update(completed_at=timezone.now())
    event = _event(AuditAction.AGREEMENT_REVIEWED, agreement, actor, agency=party.agency, version=version.number,
                   previous_review_date=cycle, review_date=version.review_date,
                   proposed={c.agency.code: c.next_review_date for c in confirmations},
                   earliest_taken=len(set(proposed.values())) > 1)
    notices.review_confirmed(agreement=agreement, version=version, event=event, actor=actor, previous=cycle,
                             proposed=proposed)
    return agreement


def _reviewing_party(*, agreement: Agreement, open_parties: Sequence[Party], agency: str | Agency | None,
                     actor: User) -> Party:
    """The party an officer confirms the review for: the one named, or their first that has not confirmed yet."""
    if agency is None:
        return open_parties[0]
    code = agency.code if isinstance(agency, Agency) else str(agency).strip()
    party = next((p for p in open_parties if p.agency.code == code), None)
    if party is not None:
        return party
    version = agreement.version_in_force()
    named = next((p for p in version.party_list() if p.agency.code == code), None)
    if named is None:
        raise ValidationError({"agency": [f"'{code}' is not a party to the version of {agreement.reference} in "
                                          "force."]})
    if not (actor.is_superuser or has_role(actor, named.agency_id, Role.GOVERNANCE_OFFICER)):
        raise lifecycle.LifecycleForbidden(f"Only governance officers of {named.agency.name} can confirm the review "
                                           f"for {named.agency.name}.", code=lifecycle.Refusal.NOT_IN_FORCE_PARTY)
    raise lifecycle.LifecycleConflict(
        f"{named.agency.name} has already confirmed the review of version {version.number} of {agreement.reference}.",
        code=lifecycle.Refusal.ALREADY_REVIEWED)


@transaction.atomic
def agreement_expire(*, agreement: Agreement, today: date) -> bool:
    """Expire one agreement whose in-force version ended before `today`. Returns False if it no longer applies."""
    agreement = _lock(agreement)
    if agreement.status not in (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED):
        return False
    if agreement.in_force_version is None or agreement.in_force_version.end_date >= today:
        return False
    _close_period(agreement=agreement, reason=PeriodEndReason.EXPIRED, now=timezone.now())
    withdrawn = _withdraw_pending_amendment(agreement)
    previous = agreement.status
    agreement.status = AgreementStatus.EXPIRED
    agreement.suspended_by = None
    agreement.save(update_fields=["status", "suspended_by", "updated_at"])
    _event(AuditAction.AGREEMENT_EXPIRED, agreement, None, version=agreement.in_force_version.number,
           end_date=agreement.in_force_version.end_date, previous_status=previous, withdrawn_version=withdrawn)
    if withdrawn:
        _sync_permissions(agreement)
    return True


def agreement_expire_due(*, today: date) -> list[str]:
    """Expire every active or suspended agreement whose in-force end date is before `today`.

    Each agreement expires in its own transaction, so one failure does not hold back the rest, and a rerun
    carries on where it stopped. Returns the references expired.
    """
    due = (
        Agreement.objects.filter(
            status__in=[AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED], in_force_version__end_date__lt=today
        )
        .order_by("pk")
        .values_list("pk", "reference")
    )
    expired: list[str] = []
    for pk, reference in due.iterator(chunk_size=500):
        if agreement_expire(agreement=Agreement(pk=pk), today=today):
            expired.append(reference)
    return expired


# --- reads that are recorded ---------------------------------------------------------------------------------


@transaction.atomic
def agreement_record_viewed(*, actor: User, agreement: Agreement, page: str = "api") -> None:
    """Record that someone looked at an agreement (the detail or the printable page). A view of the public summary
    names only the parties the summary shows (those of the version in force), so the viewer's own auditors learn
    nothing from the event that the viewer could not see."""
    if getattr(agreement, "full_view", True) or agreement.in_force_version is None:
        _event(AuditAction.AGREEMENT_VIEWED, agreement, actor, page=page)
        return
    record(action=AuditAction.AGREEMENT_VIEWED, object_type="agreement", object_ref=agreement.reference,
           agency=agreement.lead_agency, actor=actor, detail={"reference": agreement.reference, "page": page},
           agencies=[p.agency.code for p in agreement.in_force_version.party_list()])


@transaction.atomic
def agreement_record_listed(*, actor: User, filters: Mapping[str, Any], count: int, count_exact: bool = True) -> None:
    """Record one list request, its filters and the count it showed (with `count_exact` false: more than that)."""
    detail: dict[str, Any] = {"filters": {k: v for k, v in filters.items() if v not in (None, "")}, "count": count}
    if not count_exact:
        detail["count_exact"] = False
    record(action=AuditAction.AGREEMENT_LISTED, object_type="agreement", actor=actor, detail=detail)


@transaction.atomic
def access_denied_record(*, actor: User, method: str, path: str, status: int, reference: str = "") -> None:
    """Record a refused request (`access.denied`): what was asked and the answer. It concerns the asker's own
    agencies only: naming the parties of an agreement they may not see would tell their auditors (perhaps
    themselves) that it exists."""
    record(action=AuditAction.ACCESS_DENIED, object_type="agreement" if reference else "", object_ref=reference,
           actor=actor, detail={"method": method, "path": path[:500], "status": status})
