"""The rules an agreement's terms must meet, and the warnings worth showing a signatory.

`resolve_terms` turns codes into rows in a fixed number of queries and raises `TermsInvalid` with DRF-shaped
errors ({"field": [...], "flows": [{...}, {...}]}) so that nothing is half-written. Services call it; the API
and the import command read the errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError

from agencies.models import Agency, Dataset
from common.limits import (
    DATA_ITEM_MAX,
    DATA_ITEMS_MAX,
    DPIA_REFERENCE_MAX,
    FLOWS_MAX,
    PURPOSE_MAX,
    RETENTION_MAX,
    TITLE_MAX,
    too_long,
    too_many,
)

from .choices import Frequency, LegalBasisKind, Method, TermsErrorCode
from .models import AgreementVersion, LegalBasis

# Article 9 conditions that, in the UK, also need a DPA 2018 Schedule 1 condition (DPA 2018 s10(2) and (3)).
NEEDS_SCHEDULE_1 = {"ukgdpr-9-2-b", "ukgdpr-9-2-g", "ukgdpr-9-2-h", "ukgdpr-9-2-i", "ukgdpr-9-2-j", "ukgdpr-10"}
SCHEDULE_1_PREFIX = "dpa-2018-sch1-"

EARLIEST_DATE, LATEST_DATE = date(2000, 1, 1), date(2100, 12, 31)
Code = TermsErrorCode


class Problem(str):
    """A rule's message that carries its code, as DRF's ErrorDetail does: it reads, prints and serialises as the
    message, and `code` (a TermsErrorCode) says which rule it is, for pages and DRF's error codes."""

    code: TermsErrorCode

    def __new__(cls, message: str, code: TermsErrorCode) -> Problem:
        problem = super().__new__(cls, message)
        problem.code = code
        return problem


class TermsInvalid(ValidationError):
    """The terms break a rule. `errors` is DRF-shaped; the Django form flattens flow errors to "Flow N: ..."."""

    def __init__(self, errors: dict[str, Any]):
        self.errors = errors
        super().__init__(_flatten(errors))

    def flow_errors(self) -> dict[int, list[str]]:
        """Messages per flow index (0-based), for reporting against spreadsheet lines."""
        out: dict[int, list[str]] = {}
        flows = self.errors.get("flows")
        if isinstance(flows, list):
            for index, item in enumerate(flows):
                if isinstance(item, dict) and item:
                    out[index] = [msg for msgs in item.values() for msg in msgs]
        return out

    def agreement_errors(self) -> list[str]:
        """Messages that concern the agreement as a whole, not one flow."""
        out: list[str] = []
        for name, messages in self.errors.items():
            for message in messages:
                if isinstance(message, str):
                    out.append(message if name == "flows" else f"{name}: {message}")
        return out


def _flatten(errors: dict[str, Any]) -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for name, messages in errors.items():
        for position, message in enumerate(messages):
            if isinstance(message, dict):
                flat.setdefault(name, []).extend(
                    f"Flow {position + 1}: {msg}" for msgs in message.values() for msg in msgs
                )
            else:
                flat.setdefault(name, []).append(message)
    return flat


@dataclass
class ResolvedFlow:
    dataset: Dataset
    provider: Agency
    recipient: Agency
    purpose: str
    legal_bases: list[LegalBasis]
    data_items: list[str]
    method: str
    frequency: str
    retention: str


@dataclass
class ResolvedTerms:
    lead_agency: Agency
    title: str
    purpose: str
    start_date: date
    end_date: date
    review_date: date
    dpia_reference: str
    flows: list[ResolvedFlow] = field(default_factory=list)

    def party_agencies(self) -> list[Agency]:
        """Every provider, every recipient and the lead agency, each once."""
        seen: dict[int, Agency] = {self.lead_agency.pk: self.lead_agency}
        for flow in self.flows:
            seen.setdefault(flow.provider.pk, flow.provider)
            seen.setdefault(flow.recipient.pk, flow.recipient)
        return list(seen.values())


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def resolve_terms(
    *,
    lead_agency: str | Agency,
    title: str,
    purpose: str,
    start_date: date | None,
    end_date: date | None,
    review_date: date | None,
    dpia_reference: str,
    flows: Sequence[Mapping[str, Any]],
) -> ResolvedTerms:
    """Check every rule and return the terms with codes resolved to rows, or raise TermsInvalid."""
    errors: dict[str, list[Any]] = {}

    def add(name: str, message: str, code: TermsErrorCode) -> None:
        errors.setdefault(name, []).append(Problem(message, code))

    lead = lead_agency if isinstance(lead_agency, Agency) else None
    lead_code = lead.code if lead else _text(lead_agency)
    codes_agency = {lead_code} | {_text(f.get(k)) for f in flows for k in ("provider", "recipient")}
    codes_dataset = {_text(f.get("dataset")) for f in flows}
    codes_basis = {_text(c) for f in flows for c in (f.get("legal_bases") or [])}
    agencies = {a.code: a for a in Agency.objects.filter(code__in=codes_agency - {""})}
    datasets = {d.code: d for d in Dataset.objects.filter(code__in=codes_dataset - {""}).select_related("owner")}
    bases = {b.code: b for b in LegalBasis.objects.filter(code__in=codes_basis - {""}, active=True)}

    lead = agencies.get(lead_code)
    if not lead_code:
        add("lead_agency", "Name the lead agency.", Code.REQUIRED)
    elif lead is None:
        add("lead_agency", f"There is no agency with the code '{lead_code}'.", Code.UNKNOWN_AGENCY)
    elif not lead.active:
        add("lead_agency", f"{lead.name} is no longer active, so it cannot lead a new agreement.",
            Code.INACTIVE_AGENCY)

    title, purpose, dpia_reference = _text(title), _text(purpose), _text(dpia_reference)
    if not title:
        add("title", "Give the agreement a title.", Code.REQUIRED)
    elif len(title) > TITLE_MAX:
        add("title", too_long("title", TITLE_MAX), Code.TOO_LONG)
    if not purpose:
        add("purpose", "Say what the sharing is for.", Code.REQUIRED)
    elif len(purpose) > PURPOSE_MAX:
        add("purpose", too_long("purpose", PURPOSE_MAX), Code.TOO_LONG)
    if len(dpia_reference) > DPIA_REFERENCE_MAX:
        add("dpia_reference", too_long("DPIA reference", DPIA_REFERENCE_MAX), Code.TOO_LONG)
    for name, value in (("start_date", start_date), ("end_date", end_date), ("review_date", review_date)):
        if value is None:
            # as GOV.UK words it: "Enter the end date"
            add(name, f"Enter the {name.removesuffix('_date')} date.", Code.REQUIRED)
        elif not EARLIEST_DATE <= value <= LATEST_DATE:  # not year 1 or 9999: the range a check can ask about
            add(name, f"Give a date between {EARLIEST_DATE:%d/%m/%Y} and {LATEST_DATE:%d/%m/%Y}.",
                Code.DATE_OUT_OF_RANGE)
    if start_date and end_date and end_date < start_date:
        add("end_date", "The end date must be on or after the start date.", Code.END_BEFORE_START)
    elif start_date and end_date and review_date and not start_date <= review_date <= end_date:
        add("review_date", "The review date must fall within the agreement's period, between its start and end dates.",
            Code.REVIEW_OUTSIDE_PERIOD)

    resolved: list[ResolvedFlow] = []
    flow_errors: list[dict[str, list[str]]] = []
    seen: dict[tuple[str, str, str], int] = {}
    if not flows:
        add("flows", "An agreement needs at least one flow of data: which dataset goes from which agency to which.",
            Code.NO_FLOWS)
    elif len(flows) > FLOWS_MAX:
        add("flows", f"An agreement can have at most {FLOWS_MAX} flows. Split the sharing into more agreements.",
            Code.TOO_MANY)
        flows = []  # nothing more to say about each of them
    for position, raw in enumerate(flows):
        problems: dict[str, list[str]] = {}

        def problem(name: str, message: str, code: TermsErrorCode, problems: dict[str, list[str]] = problems) -> None:
            problems.setdefault(name, []).append(Problem(message, code))

        dataset_code, provider_code, recipient_code = (_text(raw.get(k)) for k in ("dataset", "provider", "recipient"))
        dataset = datasets.get(dataset_code)
        provider, recipient = agencies.get(provider_code), agencies.get(recipient_code)
        for name, code, found in (("dataset", dataset_code, dataset), ("provider", provider_code, provider),
                                  ("recipient", recipient_code, recipient)):
            kind = "dataset" if name == "dataset" else "agency"
            if not code:
                problem(name, f"Name the {name}.", Code.REQUIRED)
            elif found is None:
                problem(name, f"There is no {kind} with the code '{code}'.",
                        Code.UNKNOWN_DATASET if name == "dataset" else Code.UNKNOWN_AGENCY)
        for name, agency in (("provider", provider), ("recipient", recipient)):
            if agency is not None and not agency.active:
                problem(name, f"{agency.name} is no longer active.", Code.INACTIVE_AGENCY)
        if provider_code and provider_code == recipient_code:
            problem("recipient", "The provider and the recipient must be different agencies.", Code.SAME_AGENCY)
        if dataset is not None and provider is not None and dataset.owner_id != provider.pk:
            problem(
                "dataset",
                f"The dataset {dataset.name} belongs to {dataset.owner.name}, not to {provider.name}. "
                "Only the agency that holds a dataset can provide it.",
                Code.NOT_DATASET_OWNER,
            )
        key = (dataset_code, provider_code, recipient_code)
        if all(key) and key in seen:
            problem("dataset", f"This repeats flow {seen[key] + 1}: the same dataset from the same provider to the "
                               "same recipient. Combine them into one flow.", Code.REPEATED_FLOW)
        seen.setdefault(key, position)

        basis_codes = [_text(c) for c in (raw.get("legal_bases") or [])]
        unknown = [c for c in basis_codes if c not in bases]
        cited = [bases[c] for c in dict.fromkeys(basis_codes) if c in bases]
        kinds = {b.kind for b in cited}
        if unknown:
            problem("legal_bases", "Unknown legal basis: " + ", ".join(f"'{c}'" for c in unknown) + ".",
                    Code.UNKNOWN_LEGAL_BASIS)
        if LegalBasisKind.ARTICLE6 not in kinds:
            problem("legal_bases", "Name at least one UK GDPR Article 6 lawful basis, for example public task "
                                   "(Article 6(1)(e)).", Code.NO_ARTICLE6)
        if dataset is not None and dataset.special_category and LegalBasisKind.ARTICLE9 not in kinds:
            problem("legal_bases", f"The dataset {dataset.name} holds special category data (such as health), so "
                                   "also name a UK GDPR Article 9 condition, for example health or social care "
                                   "(Article 9(2)(h)).", Code.NO_ARTICLE9)
        if dataset is not None and dataset.criminal_offence and LegalBasisKind.ARTICLE10 not in kinds:
            problem("legal_bases", f"The dataset {dataset.name} holds criminal offence data, so also cite UK GDPR "
                                   "Article 10 (criminal offence data) with the Data Protection Act 2018 Schedule 1 "
                                   "condition that authorises it.", Code.NO_ARTICLE10)

        items = raw.get("data_items")
        items = [] if items is None else items
        if isinstance(items, str) or not isinstance(items, Iterable):
            problem("data_items", "List the data items shared.", Code.INVALID)
            items = []
        items = [_text(i) for i in items if _text(i)]
        if len(items) > DATA_ITEMS_MAX:
            problem("data_items", too_many("data items", DATA_ITEMS_MAX), Code.TOO_MANY)
        elif any(len(i) > DATA_ITEM_MAX for i in items):
            problem("data_items", too_long("name of each data item", DATA_ITEM_MAX), Code.TOO_LONG)
        elif dataset is not None:
            if not items:
                items = list(dataset.data_items)
            missing = [i for i in items if i not in dataset.data_items]
            if missing:
                problem("data_items", f"These items are not in the dataset {dataset.name}: " + ", ".join(missing)
                        + ". Choose from: " + ", ".join(dataset.data_items) + ".", Code.UNKNOWN_DATA_ITEM)
        method = _text(raw.get("method")) or Method.SECURE_EMAIL
        if method not in Method.values:
            problem("method", f"'{method}' is not a method we know. Choose one of: " + ", ".join(Method.values) + ".",
                    Code.UNKNOWN_CHOICE)
        frequency = _text(raw.get("frequency")) or Frequency.AS_NEEDED
        if frequency not in Frequency.values:
            problem("frequency", f"'{frequency}' is not a frequency we know. Choose one of: "
                    + ", ".join(Frequency.values) + ".", Code.UNKNOWN_CHOICE)
        retention = _text(raw.get("retention"))
        if len(retention) > RETENTION_MAX:
            problem("retention", too_long("retention period", RETENTION_MAX), Code.TOO_LONG)
        flow_purpose = _text(raw.get("purpose"))
        if len(flow_purpose) > PURPOSE_MAX:
            problem("purpose", too_long("flow's purpose", PURPOSE_MAX), Code.TOO_LONG)
        flow_errors.append(problems)
        if not problems:
            if dataset is None or provider is None or recipient is None:  # each would have been a problem above
                raise AssertionError("a flow without its dataset or agencies was not refused")
            resolved.append(ResolvedFlow(
                dataset=dataset, provider=provider, recipient=recipient,
                purpose=flow_purpose or purpose, legal_bases=cited, data_items=items,
                method=method, frequency=frequency, retention=retention,
            ))
    if any(flow_errors):
        errors.setdefault("flows", []).extend(flow_errors)
    if errors:
        raise TermsInvalid(errors)
    if lead is None or start_date is None or end_date is None or review_date is None:  # each would be an error
        raise AssertionError("terms without a lead agency or a date were not refused")
    return ResolvedTerms(
        lead_agency=lead, title=title, purpose=purpose, start_date=start_date, end_date=end_date,
        review_date=review_date, dpia_reference=dpia_reference, flows=resolved,
    )


def version_warnings(version: AgreementVersion) -> list[str]:
    """Things a signatory should look at again, which do not stop the agreement (uses prefetched flows)."""
    warnings: list[str] = []
    for position, flow in enumerate(version.flow_list(), start=1):
        bases = flow.basis_list()
        codes = {b.code for b in bases}
        kinds = {b.kind for b in bases}
        if LegalBasisKind.ARTICLE9 in kinds and not flow.dataset.special_category:
            warnings.append(
                f"Flow {position}: an Article 9 condition is cited, but the dataset {flow.dataset.name} is not "
                "marked as holding special category data. Check the dataset, or remove the condition if it is not "
                "needed."
            )
        if LegalBasisKind.ARTICLE10 in kinds and not flow.dataset.criminal_offence:
            warnings.append(
                f"Flow {position}: Article 10 is cited, but the dataset {flow.dataset.name} is not marked as holding "
                "criminal offence data. Check the dataset, or remove the citation if it is not needed."
            )
        needing = [b.citation for b in sorted(bases, key=_in_catalogue_order)
                   if b.code in NEEDS_SCHEDULE_1]
        if needing and not any(c.startswith(SCHEDULE_1_PREFIX) for c in codes):
            warnings.append(
                f"Flow {position}: {_and(needing)} also needs a condition from Schedule 1 to the Data Protection "
                "Act 2018 (for example paragraph 2, health or social care purposes, or paragraph 18, safeguarding "
                "of children and individuals at risk). Name it in the flow's legal bases."
            )
    return warnings


_KIND_ORDER = {kind: position for position, kind in enumerate(LegalBasisKind.values)}


def _in_catalogue_order(basis: LegalBasis) -> tuple[int, str]:
    return _KIND_ORDER.get(basis.kind, len(_KIND_ORDER)), basis.code


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
