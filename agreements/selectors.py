"""Reads of agreements, already limited to what the user may see (docs/architecture.md).

Anyone signed in sees the summary of an active agreement; members of a party agency (any role) see the full
record, drafts included, through the `view_agreement` grant to their role groups; superusers see everything.
Each row carries `full_view` so the API and pages know whether to show the summary or the whole record.
Filters match the in-force terms for everyone, and the current (perhaps draft) terms only where the user
sees the full record, so that a filter cannot reveal what a draft says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import BooleanField, Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.http import Http404

from .choices import AgreementStatus
from .models import Agreement, AgreementGroupObjectPermission, AgreementVersion, Flow, LegalBasis, Party


def _view_grants(user: Any) -> QuerySet[AgreementGroupObjectPermission]:
    return AgreementGroupObjectPermission.objects.filter(
        group__user=user, permission__codename="view_agreement", permission__content_type__app_label="agreements"
    )


def _version_prefetches(prefix: str) -> list[Prefetch]:
    return [
        Prefetch(f"{prefix}__parties", queryset=Party.objects.select_related("agency", "signed_by")),
        Prefetch(
            f"{prefix}__flows",
            queryset=Flow.objects.select_related("dataset", "provider", "recipient").prefetch_related(
                Prefetch("legal_bases", queryset=LegalBasis.objects.order_by("pk"))  # catalogue order: Art 6 first
            ),
        ),
    ]


def _visible(user: Any) -> tuple[QuerySet[Agreement], Q | None]:
    """All agreements the user may see, annotated with `full_view`, and the condition for full view (None: all)."""
    base = Agreement.objects.all()
    if not getattr(user, "is_authenticated", False):
        return base.none(), Q(pk__in=[])
    if user.is_superuser:
        return base.annotate(full_view=Value(True, output_field=BooleanField())), None
    full = Q(pk__in=_view_grants(user).values("content_object_id"))
    qs = base.filter(full | Q(status=AgreementStatus.ACTIVE)).annotate(
        full_view=Exists(_view_grants(user).filter(content_object_id=OuterRef("pk")))
    )
    return qs, full


def _matching(versions: QuerySet[Any], full: Q | None) -> Q:
    """Agreements whose in-force terms match, or whose current terms match where the user sees the full record."""
    in_force = Q(in_force_version_id__in=versions)
    current = Q(current_version_id__in=versions)
    return in_force | (current if full is None else (current & full))


def agreement_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Agreement]:
    """Agreements the user may see, newest first, filtered by status, agency, dataset, legal_basis and q."""
    filters = filters or {}
    qs, full = _visible(user)
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if agency := filters.get("agency"):
        parties = Party.objects.filter(agency__code=agency).values("version_id")
        qs = qs.filter(_matching(parties, full) | Q(lead_agency__code=agency))
    if dataset := filters.get("dataset"):
        qs = qs.filter(_matching(Flow.objects.filter(dataset__code=dataset).values("version_id"), full))
    if legal_basis := filters.get("legal_basis"):
        qs = qs.filter(_matching(Flow.objects.filter(legal_bases__code=legal_basis).values("version_id"), full))
    if text := (filters.get("q") or "").strip():
        versions = AgreementVersion.objects.filter(Q(title__icontains=text) | Q(purpose__icontains=text)).values("id")
        qs = qs.filter(_matching(versions, full) | Q(reference__iexact=text))
    return (
        qs.select_related("lead_agency", "current_version", "in_force_version")
        .prefetch_related(*_version_prefetches("current_version"), *_version_prefetches("in_force_version"))
        .order_by("-created_at", "-id")
    )


def agreement_get(*, user: Any, reference: str) -> Agreement:
    """One agreement the user may see, or Http404 (exactly as if it did not exist)."""
    qs, _ = _visible(user)
    agreement = (
        qs.filter(reference=reference)
        .select_related("lead_agency", "current_version", "in_force_version", "created_by")
        .prefetch_related(*_version_prefetches("current_version"), *_version_prefetches("in_force_version"))
        .first()
    )
    if agreement is None:
        raise Http404("No agreement with that reference is visible to you.")
    return agreement


def agreement_get_full(*, user: Any, reference: str) -> Agreement:
    """An agreement whose full record the user may see (the printable page), or Http404."""
    agreement = agreement_get(user=user, reference=reference)
    if not agreement.full_view:
        raise Http404("No agreement with that reference is visible to you.")
    return agreement
