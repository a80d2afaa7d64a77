"""What changed between two versions of an agreement: its terms, and its flows added, removed or changed.

A flow is the same flow in both versions when it shares dataset, provider and recipient; anything else about it
(purpose, legal bases, data items, method, frequency, retention) is a change to that flow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .models import AgreementVersion, Flow

TERMS = ("title", "purpose", "start_date", "end_date", "review_date", "dpia_reference")
FLOW_FIELDS = ("purpose", "legal_bases", "data_items", "method", "frequency", "retention")


@dataclass
class FieldChange:
    field: str
    before: Any
    after: Any


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


def _flow_values(flow: Flow) -> dict[str, Any]:
    return {
        "purpose": flow.purpose, "legal_bases": sorted(b.code for b in flow.legal_bases.all()),
        "data_items": list(flow.data_items or []), "method": flow.method, "frequency": flow.frequency,
        "retention": flow.retention,
    }


def _flows(version: AgreementVersion) -> dict[tuple[str, str, str], dict[str, Any]]:
    flows = version.flows.select_related("dataset", "provider", "recipient").prefetch_related("legal_bases")
    return {(f.dataset.code, f.provider.code, f.recipient.code): _flow_values(f) for f in flows}


def _value(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def compare_versions(before: AgreementVersion, after: AgreementVersion) -> Comparison:
    """`after` against `before` (two versions of one agreement). Four queries for each version."""
    terms = [FieldChange(name, _value(getattr(before, name)), _value(getattr(after, name)))
             for name in TERMS if getattr(before, name) != getattr(after, name)]
    parties = {v: set(v.parties.values_list("agency__code", flat=True)) for v in (before, after)}
    old, new = _flows(before), _flows(after)
    flows = [FlowChange(*key, change="added") for key in sorted(new.keys() - old.keys())]
    flows += [FlowChange(*key, change="removed") for key in sorted(old.keys() - new.keys())]
    for key in sorted(old.keys() & new.keys()):
        changed = [FieldChange(name, old[key][name], new[key][name]) for name in FLOW_FIELDS
                   if old[key][name] != new[key][name]]
        if changed:
            flows.append(FlowChange(*key, change="changed", fields=changed))
    return Comparison(
        reference=after.agreement.reference, version=after.number, to=before.number, terms=terms,
        parties_added=sorted(parties[after] - parties[before]),
        parties_removed=sorted(parties[before] - parties[after]), flows=flows,
    )
