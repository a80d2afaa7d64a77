"""The canonical content of one version of an agreement, and its SHA-256: what a printed or PDF copy carries so that
it can be matched to the register.

The content is a JSON object (keys sorted, no spaces, UTF-8, dates as ISO 8601, times in UTC to the second):

    {"format": "sharing-registry/agreement-version/1", "reference": "ISA-2026-0042", "version": 2,
     "lead_agency": "manchester-cc", "title": ..., "purpose": ..., "start_date": "2027-04-01", "end_date": ...,
     "review_date": ..., "dpia_reference": ..., "parties": ["manchester-cc", "mft"],
     "flows": [{"dataset", "provider", "recipient", "purpose", "legal_bases": [codes, sorted],
                "data_items": [sorted], "method", "frequency", "retention"}, ...],   # sorted by dataset, provider,
                                                                                     # recipient
     "signatures": [{"agency", "name", "job_title", "signed_at"}, ...]}               # sorted by agency

Agencies, datasets and legal bases appear by code, which never changes, so a renamed agency leaves the hash of
what it signed as it was. `version_terms` is the part two versions are compared on (agreements/compare.py); the
terms as last sent for signature are kept in that form (`AgreementVersion.returned_terms`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from .models import Agreement, AgreementVersion, Flow

FORMAT = "sharing-registry/agreement-version/1"
TERMS = ("title", "purpose", "start_date", "end_date", "review_date", "dpia_reference")


def _flow(flow: Flow) -> dict[str, Any]:
    return {
        "dataset": flow.dataset.code, "provider": flow.provider.code, "recipient": flow.recipient.code,
        "purpose": flow.purpose, "legal_bases": sorted(b.code for b in flow.basis_list()),
        "data_items": sorted(flow.data_items or []), "method": flow.method, "frequency": flow.frequency,
        "retention": flow.retention,
    }


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def version_terms(version: AgreementVersion) -> dict[str, Any]:
    """The terms of a version: its fields, parties and flows. Reads `version.party_list()`, `version.flow_list()`
    and each flow's legal bases, so load them first (agreements.selectors) to read them without a query each."""
    flows = sorted((_flow(f) for f in version.flow_list()),
                   key=lambda f: (f["dataset"], f["provider"], f["recipient"]))
    return {
        **{name: _value(getattr(version, name)) for name in TERMS},
        "parties": sorted(p.agency.code for p in version.party_list()),
        "flows": flows,
    }


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def version_content(*, agreement: Agreement, version: AgreementVersion) -> dict[str, Any]:
    """The canonical content: the agreement's reference and lead, the version's terms and its signatures."""
    signatures = sorted(
        ({"agency": p.agency.code, "name": p.signer_name, "job_title": p.signer_job_title,
          "signed_at": _utc(p.signed_at)} for p in version.party_list() if p.signed_at is not None),
        key=lambda s: s["agency"],
    )
    return {
        "format": FORMAT, "reference": agreement.reference, "version": version.number,
        "lead_agency": agreement.lead_agency.code, **version_terms(version), "signatures": signatures,
    }


def canonical_bytes(content: dict[str, Any]) -> bytes:
    """The one serialisation that is hashed."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def version_digest(*, agreement: Agreement, version: AgreementVersion) -> str:
    """The SHA-256 of the version's canonical content, in hexadecimal (64 characters)."""
    return hashlib.sha256(canonical_bytes(version_content(agreement=agreement, version=version))).hexdigest()
