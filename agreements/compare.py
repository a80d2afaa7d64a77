"""What changed between two versions of an agreement: its terms, and its flows added, removed or changed.

A flow is the same flow in both versions when it shares dataset, provider and recipient; anything else about it
(purpose, legal bases, data items, method, frequency, retention) is a change to that flow. Versions are compared in
their canonical form (agreements/canonical.py), so a version can also be compared with its terms as last sent for
signature, kept when it came back to draft.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils import timezone

from agencies.models import Agency, Dataset

from .canonical import TERMS, version_terms
from .choices import Frequency, Method, VersionState
from .models import Agreement, AgreementVersion, LegalBasis
from .selectors import version_get

FLOW_FIELDS = ("purpose", "legal_bases", "data_items", "method", "frequency", "retention")
LIST_FIELDS = ("legal_bases", "data_items")


@dataclass
class FieldChange:
    field: str
    before: Any
    after: Any

    @property
    def added(self) -> list[Any]:
        """For a list (legal bases, data items): what is new."""
        return [v for v in self.after if v not in self.before] if self.field in LIST_FIELDS else []

    @property
    def removed(self) -> list[Any]:
        return [v for v in self.before if v not in self.after] if self.field in LIST_FIELDS else []


@dataclass
class FlowChange:
    dataset: str
    provider: str
    recipient: str
    change: str  # "added", "removed" or "changed"
    fields: list[FieldChange] = field(default_factory=list)


@dataclass
class Comparison:
    reference: str
    version: int
    to: int
    terms: list[FieldChange]
    parties_added: list[str]
    parties_removed: list[str]
    flows: list[FlowChange]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def changed(self) -> bool:
        return bool(self.terms or self.parties_added or self.parties_removed or self.flows)


def _keyed(flows: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(f["dataset"], f["provider"], f["recipient"]): f for f in flows}


def compare_terms(before: dict[str, Any], after: dict[str, Any], *, reference: str, version: int,
                  to: int) -> Comparison:
    """`after` against `before`, each in the form `canonical.version_terms` gives."""
    terms = [FieldChange(name, before.get(name), after.get(name)) for name in TERMS
             if before.get(name) != after.get(name)]
    old, new = _keyed(before["flows"]), _keyed(after["flows"])
    flows = [FlowChange(*key, change="added") for key in sorted(new.keys() - old.keys())]
    flows += [FlowChange(*key, change="removed") for key in sorted(old.keys() - new.keys())]
    for key in sorted(old.keys() & new.keys()):
        changed = [FieldChange(name, old[key][name], new[key][name]) for name in FLOW_FIELDS
                   if old[key][name] != new[key][name]]
        if changed:
            flows.append(FlowChange(*key, change="changed", fields=changed))
    parties_before, parties_after = set(before["parties"]), set(after["parties"])
    return Comparison(
        reference=reference, version=version, to=to, terms=terms,
        parties_added=sorted(parties_after - parties_before),
        parties_removed=sorted(parties_before - parties_after), flows=flows,
    )


def compare_versions(before: AgreementVersion, after: AgreementVersion, *, reference: str) -> Comparison:
    """`after` against `before` (two versions of one agreement, their parties and flows loaded)."""
    return compare_terms(version_terms(before), version_terms(after), reference=reference, version=after.number,
                         to=before.number)


# --- the changes as the pages show them ------------------------------------------------------------------------

TERM_LABELS = {"title": "Title", "purpose": "Purpose", "start_date": "Starts", "end_date": "Ends",
               "review_date": "Review due", "dpia_reference": "DPIA reference"}
FLOW_LABELS = {"purpose": "For", "legal_bases": "Legal bases", "data_items": "Data items", "method": "How",
               "frequency": "How often", "retention": "Kept for"}
DATE_FIELDS = {"start_date", "end_date", "review_date"}


@dataclass
class ShownChange:
    """One changed field, in words: `before` and `after` for a value, `added` and `removed` for a list."""

    label: str
    before: str = ""
    after: str = ""
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    is_list: bool = False


@dataclass
class ShownFlow:
    title: str
    change: str
    fields: list[ShownChange] = field(default_factory=list)


@dataclass
class PageChanges:
    """What changed in a version, said in names, and what it is compared with (`since`)."""

    since: str
    comparison: Comparison
    terms: list[ShownChange]
    parties_added: list[str]
    parties_removed: list[str]
    flows: list[ShownFlow]

    @property
    def changed(self) -> bool:
        return self.comparison.changed


def _date(value: str | None) -> str:
    if not value:
        return ""
    day = dt.date.fromisoformat(value)
    return f"{day.day} {day:%B %Y}"


def _names(comparison: Comparison) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Agency, dataset and legal-basis names for the codes a comparison mentions: three queries at most."""
    agencies = set(comparison.parties_added) | set(comparison.parties_removed)
    datasets, bases = set(), set()
    for flow in comparison.flows:
        agencies |= {flow.provider, flow.recipient}
        datasets.add(flow.dataset)
        for change in flow.fields:
            if change.field == "legal_bases":
                bases |= set(change.before) | set(change.after)
    return (
        dict(Agency.objects.filter(code__in=agencies).values_list("code", "name")) if agencies else {},
        dict(Dataset.objects.filter(code__in=datasets).values_list("code", "name")) if datasets else {},
        {code: f"{citation}: {title}" for code, citation, title in
         LegalBasis.objects.filter(code__in=bases).values_list("code", "citation", "title")} if bases else {},
    )


def _flow_field(change: FieldChange, bases: dict[str, str]) -> ShownChange:
    label = FLOW_LABELS[change.field]
    if change.field in LIST_FIELDS:
        name = (lambda code: bases.get(code, code)) if change.field == "legal_bases" else str
        return ShownChange(label, added=[name(v) for v in change.added], removed=[name(v) for v in change.removed],
                           is_list=True)
    choices = {"method": Method, "frequency": Frequency}.get(change.field)
    if choices is not None:
        labels = dict(choices.choices)
        return ShownChange(label, labels.get(change.before, change.before), labels.get(change.after, change.after))
    return ShownChange(label, change.before or "", change.after or "")


def describe(comparison: Comparison, *, since: str) -> PageChanges:
    """The comparison in the names people know things by, for a page."""
    agencies, datasets, bases = _names(comparison)
    terms = [ShownChange(TERM_LABELS[c.field], *((_date(c.before), _date(c.after)) if c.field in DATE_FIELDS
                                                 else (c.before or "", c.after or "")))
             for c in comparison.terms]
    flows = [
        ShownFlow(f"{datasets.get(f.dataset, f.dataset)}, from {agencies.get(f.provider, f.provider)} to "
                  f"{agencies.get(f.recipient, f.recipient)}", f.change, [_flow_field(c, bases) for c in f.fields])
        for f in comparison.flows
    ]
    return PageChanges(
        since=since, comparison=comparison, terms=terms, flows=flows,
        parties_added=[agencies.get(c, c) for c in comparison.parties_added],
        parties_removed=[agencies.get(c, c) for c in comparison.parties_removed],
    )


def version_changes(*, agreement: Agreement, version: AgreementVersion) -> PageChanges | None:
    """What changed in `version` (loaded with its terms): from the version in force, else from its terms as last
    sent for signature (while it is negotiated after coming back to draft), else from the version before it. None
    for a first version never sent back. Constant queries: four for the version before, three for the names."""
    in_force = agreement.in_force_version if agreement.in_force_version_id else None
    after = version_terms(version)
    if in_force is not None and in_force.pk != version.pk:
        before, to = version_terms(in_force), in_force.number
        since = f"version {in_force.number}, in force"
    elif version.returned_terms and version.state in (VersionState.DRAFT, VersionState.SUBMITTED):
        before, to = version.returned_terms, version.number
        when = timezone.localtime(version.returned_at) if version.returned_at else None
        since = f"version {version.number} as sent for signature" + (
            f" (sent back on {when.day} {when:%B %Y} at {when:%H:%M})" if when else "")
    elif version.number > 1:
        previous = version_get(agreement=agreement, number=version.number - 1)
        before, to = version_terms(previous), previous.number
        since = f"version {previous.number}"
    else:
        return None
    comparison = compare_terms(before, after, reference=agreement.reference, version=version.number, to=to)
    return describe(comparison, since=since)
