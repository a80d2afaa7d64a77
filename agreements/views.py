"""Pages for agreements. The printable page shows everything a signatory signs."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .choices import LegalBasisKind
from .rules import SCHEDULE_1_PREFIX, version_warnings
from .selectors import agreement_get_full
from .services import agreement_record_viewed


@login_required
def agreement_print(request, reference: str):
    """The current version under the ICO data sharing code's headings. Only for those who see the full record."""
    agreement = agreement_get_full(user=request.user, reference=reference)
    version = agreement.current_version
    flows = list(version.flows.all())
    bases = {}
    for flow in flows:
        for basis in flow.legal_bases.all():
            bases.setdefault(basis.code, basis)
    in_force = agreement.in_force_version
    signed_in_force = (
        {p.agency_id: p for p in in_force.parties.all() if p.signed_at} if in_force and in_force != version else {}
    )
    parties = [
        {"party": p, "agency": p.agency, "earlier": signed_in_force.get(p.agency_id)} for p in version.parties.all()
    ]
    agreement_record_viewed(actor=request.user, agreement=agreement, page="print")
    return render(request, "agreements/print.html", {
        "agreement": agreement,
        "version": version,
        "in_force": in_force,
        "flows": flows,
        "parties": parties,
        "article6": [b for b in bases.values() if b.kind == LegalBasisKind.ARTICLE6],
        "conditions": [b for b in bases.values() if b.kind in (LegalBasisKind.ARTICLE9, LegalBasisKind.ARTICLE10)
                       or b.code.startswith(SCHEDULE_1_PREFIX)],
        "gateways": [b for b in bases.values() if b.kind in (LegalBasisKind.STATUTE, LegalBasisKind.COMMON_LAW)
                     and not b.code.startswith(SCHEDULE_1_PREFIX)],
        "special_flows": [f for f in flows if f.dataset.special_category],
        "criminal_flows": [f for f in flows if f.dataset.criminal_offence],
        "warnings": version_warnings(version),
    })
