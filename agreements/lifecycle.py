"""The agreement lifecycle as one table, and the one answer to "may this user take this action now, and if not, why".

Each `Rule` declares an action: the agreement statuses and current-version states it is allowed from, where it
leads, who may take it (`Authority`: officers of which agency, for which version) and its refusal wording, each
refusal with a stable `Refusal` code. `verdict()` reads the table; nothing else decides. The services raise on a
refusal (403 for `PermissionDenied`, 409 for `Conflict`), the API answers with it, the pages show a button or say
why there is none, and the dashboards list what it allows.

Authority follows versions, not agreements: the parties of the version in force act on the version in force, the
parties of the version awaiting signature act on that version, and only the agency that suspended an agreement
may reinstate it. A superuser may take any action its state allows. Why not django-fsm-2: its transitions are
methods on one model's state field, while ours span the agreement's status and its current version's state, and
its conditions answer yes or no where every channel here needs the reason and its code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q

from agencies.choices import Role
from agencies.selectors import user_agency_ids
from common.errors import Conflict
from common.types import User

from .choices import AgreementStatus, VersionState
from .models import Agreement, AgreementVersion, Party

S, V = AgreementStatus, VersionState


class Action(models.TextChoices):
    """Every lifecycle action. The values are the API's action paths and the pages' URLs."""

    EDIT = "edit", "Change the draft"
    SUBMIT = "submit", "Send for signature"
    SIGN = "sign", "Sign"
    REJECT = "reject", "Reject"
    AMEND = "amend", "Start an amendment"
    SUSPEND = "suspend", "Suspend"
    REINSTATE = "reinstate", "Reinstate"
    REVOKE = "revoke", "Revoke"
    WITHDRAW = "withdraw", "Withdraw to change it"
    REQUEST_CHANGES = "request-changes", "Ask for changes"
    COPY = "copy", "Copy into a new draft"
    REVIEW = "review", "Confirm the review"
    COMMENT = "comment", "Add a comment"


class Authority(models.TextChoices):
    """Whose governance officers may take an action."""

    LEAD = "lead", "governance officers of the lead agency"
    SIGNATORIES = "signatories", "governance officers of the parties of the version awaiting signature"
    IN_FORCE_PARTIES = "in_force_parties", "governance officers of the parties of the version in force"
    SUSPENDER = "suspender", "governance officers of the agency that suspended the agreement"
    VERSION_PARTIES = "version_parties", "governance officers of the parties of the version concerned"


class Refusal(models.TextChoices):
    """Why an action was refused: stable codes the API returns beside the message (`code`)."""

    NOT_SIGNED_IN = "not_signed_in", "Not signed in"
    NOT_LEAD_OFFICER = "not_lead_officer", "Not a governance officer of the lead agency"
    NOT_SIGNATORY = "not_signatory", "Not a governance officer of a party to the version awaiting signature"
    NOT_IN_FORCE_PARTY = "not_in_force_party", "Not a governance officer of a party to the version in force"
    NOT_SUSPENDER = "not_suspender", "Not a governance officer of the agency that suspended it"
    NOT_VERSION_PARTY = "not_version_party", "Not a governance officer of a party to that version"
    WRONG_STATE = "wrong_state", "The agreement is in the wrong state for this action"
    AMENDMENT_PENDING = "amendment_pending", "An amendment is already being prepared"
    ALREADY_SIGNED = "already_signed", "Your agency has already signed this version"
    LAST_EDITOR = "last_editor", "The last editor cannot sign for the lead agency"
    ALREADY_REVIEWED = "already_reviewed", "Your agency has already confirmed this review"


FORBIDDEN = {Refusal.NOT_SIGNED_IN, Refusal.NOT_LEAD_OFFICER, Refusal.NOT_SIGNATORY, Refusal.NOT_IN_FORCE_PARTY,
             Refusal.NOT_SUSPENDER, Refusal.NOT_VERSION_PARTY, Refusal.LAST_EDITOR}


@dataclass(frozen=True)
class Rule:
    """One action: allowed from `statuses` (of the agreement) and `version_states` (of its current version; empty
    means any), leading to `leads_to`, taken by `authority`. `verb` and `wrong_state` word its refusals."""

    action: Action
    statuses: frozenset[str]
    version_states: frozenset[str]
    leads_to: str
    authority: Authority
    verb: str
    wrong_state: str


def _rule(action: Action, statuses: Iterable[str], version_states: Iterable[str], leads_to: str,
          authority: Authority, verb: str, wrong_state: str) -> Rule:
    return Rule(action, frozenset(statuses), frozenset(version_states), leads_to, authority, verb, wrong_state)


# The lifecycle. `{where}` is "Version N of ISA-…", `{state}` its state, `{status}` the agreement's status.
RULES: dict[Action, Rule] = {rule.action: rule for rule in (
    _rule(Action.EDIT, {S.DRAFT, S.ACTIVE, S.SUSPENDED}, {V.DRAFT}, "the same draft, changed",
          Authority.LEAD, "change", "{where} is {state}: only a draft can be changed."),
    _rule(Action.SUBMIT, {S.DRAFT, S.ACTIVE, S.SUSPENDED}, {V.DRAFT}, "awaiting signatures",
          Authority.LEAD, "send for signature", "{where} is {state}: only a draft can be sent for signature."),
    _rule(Action.SIGN, {S.SUBMITTED, S.ACTIVE}, {V.SUBMITTED}, "active once every party has signed",
          Authority.SIGNATORIES, "sign", "{where} is {state}, not awaiting signatures."),
    _rule(Action.REJECT, {S.SUBMITTED, S.ACTIVE, S.SUSPENDED}, {V.SUBMITTED},
          "rejected (an amendment's rejection leaves the version in force)",
          Authority.SIGNATORIES, "reject", "{where} is {state}, not awaiting signatures, so it cannot be rejected."),
    _rule(Action.AMEND, {S.ACTIVE, S.SUSPENDED}, set(), "a new draft version; the signed one stays in force",
          Authority.LEAD, "amend", "{reference} is {status}: only an active or suspended agreement can be amended."),
    _rule(Action.SUSPEND, {S.ACTIVE}, set(), S.SUSPENDED, Authority.IN_FORCE_PARTIES, "suspend",
          "{reference} is {status}: only an active agreement can be suspended."),
    _rule(Action.REINSTATE, {S.SUSPENDED}, set(), S.ACTIVE, Authority.SUSPENDER, "reinstate",
          "{reference} is {status}: only a suspended agreement can be reinstated."),
    _rule(Action.REVOKE, {S.ACTIVE, S.SUSPENDED}, set(), S.REVOKED, Authority.IN_FORCE_PARTIES, "revoke",
          "{reference} is {status}: only an active or suspended agreement can be revoked."),
    _rule(Action.WITHDRAW, {S.SUBMITTED, S.ACTIVE, S.SUSPENDED}, {V.SUBMITTED},
          "a draft again, its signatures cleared", Authority.LEAD, "withdraw",
          "{where} is {state}: only a version awaiting signatures can be withdrawn."),
    _rule(Action.REQUEST_CHANGES, {S.SUBMITTED, S.ACTIVE, S.SUSPENDED}, {V.SUBMITTED},
          "a draft again, its signatures cleared, with the comments kept beside it", Authority.SIGNATORIES,
          "ask for changes to", "{where} is {state}, not awaiting signatures, so no changes can be asked for."),
    _rule(Action.COPY, set(S.values), set(), "a new draft agreement with the same terms", Authority.LEAD, "copy",
          "{reference} cannot be copied."),
    # A review of the version in force, without re-signing: while it is in force, suspended too (a suspension is
    # often the moment to look at it again, and reminders go to suspended agreements as well).
    _rule(Action.REVIEW, {S.ACTIVE, S.SUSPENDED}, set(),
          "the review confirmed for this party; once every party has, the review date moves",
          Authority.IN_FORCE_PARTIES, "confirm the review of",
          "{reference} is {status}: only an agreement in force (active or suspended) can be reviewed."),
    # A note in one version's thread (the current version, or the one in force), for its parties to read. A past
    # version's thread (superseded, rejected or withdrawn), and any thread once the agreement has ended, is read-only.
    _rule(Action.COMMENT, {S.DRAFT, S.SUBMITTED, S.ACTIVE, S.SUSPENDED}, {V.DRAFT, V.SUBMITTED, V.SIGNED},
          "a comment in the version's thread, shown to every party", Authority.VERSION_PARTIES, "comment on",
          "{reference} is {status}: its comments are kept, but no more can be added."),
)}


# Plainer refusals for some actions asked of a version in a particular state.
_WRONG_VERSION_STATE: dict[tuple[Action, str], str] = {
    (Action.SIGN, V.DRAFT): "{where} is a draft: the lead agency must send it for signature before anyone signs it.",
    (Action.SIGN, V.SIGNED): "{where} has already been signed by every party: there is nothing left to sign.",
    (Action.SUBMIT, V.SUBMITTED): "{where} is already awaiting signatures: only a draft can be sent for signature.",
    **{(Action.COMMENT, state): "{where} is {state}: comments on a past version are kept, but no more can be added."
       for state in (V.SUPERSEDED, V.REJECTED, V.WITHDRAWN)},
}


@dataclass(frozen=True)
class Verdict:
    """The answer for one user, agreement and action. `parties` are the parties the user may act for (for signing,
    the unsigned ones); `acting_agency` is the agency the action is recorded under."""

    action: Action
    allowed: bool
    code: Refusal | None = None
    message: str = ""
    in_state: bool = False  # the agreement's state allows the action (whoever asks)
    parties: tuple[Party, ...] = field(default_factory=tuple)
    acting_agency: Any = None

    @property
    def forbidden(self) -> bool:
        return self.code in FORBIDDEN

    @property
    def http_status(self) -> int:
        if self.allowed:
            return 200
        return 403 if self.forbidden else 409

    def raise_if_refused(self) -> None:
        """What the services do with a verdict: PermissionDenied (403) or Conflict (409), with the code."""
        if self.allowed:
            return
        if self.forbidden:
            raise LifecycleForbidden(self.message, code=self.code)
        raise LifecycleConflict(self.message, code=self.code)


class LifecycleForbidden(PermissionDenied):
    def __init__(self, message: str, *, code: Refusal | None):
        super().__init__(message)
        self.code = code


class LifecycleConflict(Conflict):
    def __init__(self, message: str, *, code: Refusal | None):
        super().__init__(message)
        self.code = code


def _parties(version: AgreementVersion | None) -> list[Party]:
    return version.party_list() if version is not None else []


def _names(parties: list[Party]) -> str:
    names = sorted({p.agency.name for p in parties})
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else "no agency"


def _authorised(rule: Rule, agreement: Agreement, version: AgreementVersion | None) -> tuple[
        list[Party] | None, Refusal, str]:
    """The parties whose officers hold the rule's authority now (None: the lead agency), the refusal code for
    everyone else, and its message. `version` is the version acted on."""
    ref = agreement.reference
    if rule.authority == Authority.VERSION_PARTIES:
        parties = _parties(version)
        number = (version or agreement.current_version).number
        return parties, Refusal.NOT_VERSION_PARTY, (
            f"Only governance officers of the parties to version {number} of {ref} ({_names(parties)}) "
            f"can {rule.verb} it.")
    if rule.authority == Authority.LEAD:
        lead = agreement.lead_agency.name
        return None, Refusal.NOT_LEAD_OFFICER, (
            f"Only governance officers of {lead}, the lead agency, can {rule.verb} {ref}.")
    if rule.authority == Authority.SIGNATORIES:
        version = agreement.current_version
        parties = _parties(version)
        return parties, Refusal.NOT_SIGNATORY, (
            f"Only governance officers of the parties to version {version.number} of {ref} ({_names(parties)}) "
            f"can {rule.verb} it.")
    in_force = agreement.in_force_version
    parties = _parties(in_force or agreement.current_version)
    if rule.authority == Authority.SUSPENDER and agreement.status == AgreementStatus.SUSPENDED:
        suspender = agreement.suspended_by
        if suspender is None:
            return [], Refusal.NOT_SUSPENDER, (
                f"{ref} was suspended by a registry administrator, so only a registry administrator can reinstate it.")
        return [p for p in parties if p.agency_id == suspender.pk], Refusal.NOT_SUSPENDER, (
            f"Only governance officers of {suspender.name}, which suspended {ref}, can reinstate it.")
    return parties, Refusal.NOT_IN_FORCE_PARTY, (
        f"Only governance officers of the agencies that signed the version of {ref} in force ({_names(parties)}) "
        f"can {rule.verb} it.")


def _pending_amendment(agreement: Agreement) -> AgreementVersion | None:
    current, in_force = agreement.current_version, agreement.in_force_version
    if current is not None and in_force is not None and current.pk != in_force.pk and current.state in (
        VersionState.DRAFT, VersionState.SUBMITTED
    ):
        return current
    return None


def verdict(*, user: User, agreement: Agreement, action: Action | str,
            version: AgreementVersion | None = None) -> Verdict:
    """May `user` take `action` on `agreement` now? Authority first (403), then state (409), then the action's own
    conditions. Reads the agreement's versions and their parties (prefetched on the pages, queried otherwise).

    `version` is the version a comment is about (the current one when not given); every other action acts on the
    current version. Only the current version and the one in force are open: an older one is past."""
    action = Action(action)
    rule = RULES[action]
    if action != Action.COMMENT or version is None:
        version = agreement.current_version
    in_state = agreement.status in rule.statuses and (
        not rule.version_states or (version is not None and version.state in rule.version_states))
    if version is not None and version.pk not in (agreement.current_version_id, agreement.in_force_version_id):
        in_state = False
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Verdict(action, False, Refusal.NOT_SIGNED_IN, "Sign in to do this.", in_state)
    officer_of = user_agency_ids(user, {Role.GOVERNANCE_OFFICER})
    authorised, refusal, refusal_text = _authorised(rule, agreement, version)
    if authorised is None:  # the lead agency
        mine = [] if agreement.lead_agency_id not in officer_of else [agreement.lead_agency_id]
        acting = agreement.lead_agency
        parties: list[Party] = []
    else:
        parties = [p for p in authorised if user.is_superuser or p.agency_id in officer_of]
        mine = [p.agency_id for p in parties if p.agency_id in officer_of]
        # Recorded under the party the officer acts for (the lead first), so that its auditors see it.
        own = sorted((p for p in parties if p.agency_id in officer_of),
                     key=lambda p: (p.agency_id != agreement.lead_agency_id, p.agency_id))
        acting = own[0].agency if own else agreement.lead_agency
    if not (mine or user.is_superuser):
        return Verdict(action, False, refusal, refusal_text, in_state)

    names = {
        "reference": agreement.reference,
        "status": agreement.get_status_display().lower(),
        "where": f"Version {version.number} of {agreement.reference}" if version else agreement.reference,
        "state": version.get_state_display().lower() if version else "",
    }
    if not in_state:
        message = _WRONG_VERSION_STATE.get((action, version.state if version else ""), rule.wrong_state)
        if action == Action.COMMENT and agreement.status not in rule.statuses:
            message = rule.wrong_state  # the agreement has ended: say so, whichever version is asked about
        message = message.format(**names)
        if action == Action.SIGN and agreement.status == AgreementStatus.SUSPENDED and version is not None \
                and version.state == VersionState.SUBMITTED:
            message = f"{agreement.reference} is suspended: reinstate it before signing an amendment."
        elif action in (Action.EDIT, Action.SUBMIT) and version is not None \
                and version.state == VersionState.SUBMITTED:
            message += " It is waiting for every party to sign it."
        elif action == Action.EDIT and agreement.status in (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED):
            message += (" To change an agreement in force, start an amendment from its page: the signed version "
                        "stays in force until every party signs the new one.")
        return Verdict(action, False, Refusal.WRONG_STATE, message, in_state)

    if action == Action.AMEND and (pending := _pending_amendment(agreement)) is not None:
        return Verdict(action, False, Refusal.AMENDMENT_PENDING, (
            f"Version {pending.number} of {agreement.reference} is already being prepared "
            f"({pending.get_state_display().lower()}). Finish or reject it first."), in_state)
    if action == Action.SIGN:
        return _sign_verdict(user, agreement, parties, acting)
    if action == Action.REVIEW:
        return _review_verdict(agreement, parties)
    return Verdict(action, True, in_state=True, parties=tuple(parties), acting_agency=acting)


def _sign_verdict(user: User, agreement: Agreement, parties: list[Party], acting: Any) -> Verdict:
    """Signing also needs an unsigned party of the user's, and a second officer for the lead's signature."""
    version = agreement.current_version
    unsigned = [p for p in parties if p.signed_at is None]
    if not unsigned:
        return Verdict(Action.SIGN, False, Refusal.ALREADY_SIGNED,
                       f"Your agency has already signed version {version.number} of {agreement.reference}.", True)
    last_editor = version.last_edited_by_id == user.pk
    signable = [p for p in unsigned if not (p.agency_id == agreement.lead_agency_id and last_editor)]
    if not signable:
        lead = agreement.lead_agency.name
        return Verdict(Action.SIGN, False, Refusal.LAST_EDITOR, (
            f"You were the last person to edit version {version.number}, so another governance officer of "
            f"{lead} must sign it for {lead}. This makes sure two people have checked it."), True)
    return Verdict(Action.SIGN, True, in_state=True, parties=tuple(signable), acting_agency=signable[0].agency)


def review_confirmed_agency_ids(version: AgreementVersion) -> set[int]:
    """The parties that have confirmed the current review cycle of `version` (the one for its review date)."""
    cached = getattr(version, "_review_confirmed", None)
    if cached is None:
        cached = set(
            version.review_confirmations.filter(review_date=version.review_date).values_list("agency_id", flat=True))
        version.__dict__["_review_confirmed"] = cached  # read back by the getattr above
    return cached


def _review_verdict(agreement: Agreement, parties: list[Party]) -> Verdict:
    """Confirming a review also needs a party of the user's that has not confirmed this cycle yet."""
    version = agreement.version_in_force()
    done = review_confirmed_agency_ids(version)
    open_parties = [p for p in parties if p.agency_id not in done]
    if not open_parties:
        return Verdict(Action.REVIEW, False, Refusal.ALREADY_REVIEWED, (
            f"Your agency has already confirmed the review of version {version.number} of {agreement.reference} "
            f"due on {version.review_date.day} {version.review_date:%B %Y}. It waits for the other parties."), True)
    own = sorted(open_parties, key=lambda p: (p.agency_id != agreement.lead_agency_id, p.agency_id))
    return Verdict(Action.REVIEW, True, in_state=True, parties=tuple(own), acting_agency=own[0].agency)


def verdicts(*, user: User, agreement: Agreement) -> dict[Action, Verdict]:
    """Every action's verdict, for a page that shows the buttons the user may press."""
    return {action: verdict(user=user, agreement=agreement, action=action) for action in Action}


def require(*, user: User, agreement: Agreement, action: Action | str,
            version: AgreementVersion | None = None) -> Verdict:
    """The verdict, raised as PermissionDenied (403) or Conflict (409) when the action is refused."""
    answer = verdict(user=user, agreement=agreement, action=action, version=version)
    answer.raise_if_refused()
    return answer


def state_q(action: Action, *, prefix: str = "") -> Q:
    """The rule's allowed states as a filter on agreements (or, with a prefix, on a relation to one), so a list
    such as "waiting for you" asks the database for exactly what the table allows."""
    rule = RULES[action]
    condition = Q(**{f"{prefix}status__in": sorted(rule.statuses)})
    if rule.version_states:
        condition &= Q(**{f"{prefix}current_version__state__in": sorted(rule.version_states)})
    return condition
