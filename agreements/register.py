"""The public register and the sharing map: what anyone may read without signing in.

Only agreements in force today (`status.in_force_today_q`, the one rule) and their version in force are public:
no drafts, no people, no emails. Every function here costs a fixed number of queries, whatever the size of the
register.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from agencies.models import Agency

from .models import Agreement, Flow, Party
from .status import in_force_today_q


def public_agreements(*, text: str = "") -> QuerySet[Agreement]:
    """Agreements in force today and the version in force: nothing else is public."""
    qs = Agreement.objects.filter(in_force_today_q()).select_related("in_force_version")
    text = text.strip()
    if text:
        party_named = Party.objects.filter(version_id=OuterRef("in_force_version_id"), agency__name__icontains=text)
        qs = qs.filter(
            Q(reference__iexact=text)
            | Q(in_force_version__title__icontains=text)
            | Q(in_force_version__purpose__icontains=text)
            | Exists(party_named)
        )
    return qs.order_by("-created_at", "-pk")


@dataclass
class PublicEntry:
    agreement: Agreement
    parties: list[str] = field(default_factory=list)
    flows: list[dict[str, Any]] = field(default_factory=list)
    legal_bases: list[dict[str, str]] = field(default_factory=list)


def public_entries(agreements: list[Agreement]) -> list[PublicEntry]:
    """Parties, flows and legal bases for one page of the register, in three queries. No people, no emails."""
    entries = {a.in_force_version_id: PublicEntry(agreement=a) for a in agreements}
    if not entries:
        return []
    for version_id, name in (
        Party.objects.filter(version_id__in=entries).order_by("agency__name").values_list("version_id", "agency__name")
    ):
        entries[version_id].parties.append(name)
    for flow in (
        Flow.objects.filter(version_id__in=entries)
        .order_by("pk")
        .values("version_id", "dataset__name", "provider__name", "recipient__name", "purpose")
    ):
        entries[flow["version_id"]].flows.append(dict(flow))
    seen: dict[int, set[str]] = defaultdict(set)
    through = Flow.legal_bases.through
    for row in (
        through.objects.filter(flow__version_id__in=entries)
        .order_by("legalbasis__kind", "legalbasis__code")
        .values("flow__version_id", "legalbasis__code", "legalbasis__citation", "legalbasis__title")
    ):
        version_id = row["flow__version_id"]
        if row["legalbasis__code"] not in seen[version_id]:
            seen[version_id].add(row["legalbasis__code"])
            entries[version_id].legal_bases.append(
                {"citation": row["legalbasis__citation"], "title": row["legalbasis__title"]}
            )
    return [entries[a.in_force_version_id] for a in agreements]


# The sharing map -------------------------------------------------------------------------------------------

MAP_NODES = 40
MAP_FOCUS_EDGES = 200


def active_flows() -> QuerySet[Flow]:
    """Flows of the version in force of every agreement in force today: what may be shared today."""
    in_force = Agreement.objects.filter(in_force_today_q()).values("in_force_version_id")
    return Flow.objects.filter(version_id__in=in_force)


@dataclass
class SharingMap:
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    total_agencies: int
    total_links: int
    focus: Agency | None = None


def _edge_rows(qs: QuerySet[Flow]) -> QuerySet:
    return qs.order_by().values("provider_id", "recipient_id").annotate(flows=Count("pk"))


def sharing_map(*, focus: Agency | None = None, limit: int = MAP_NODES) -> SharingMap:
    """Who shares with whom, aggregated in SQL: the busiest `limit` agencies, or one agency and its partners."""
    if focus is None:
        out_count = active_flows().filter(provider_id=OuterRef("pk")).order_by().values("provider_id")
        in_count = active_flows().filter(recipient_id=OuterRef("pk")).order_by().values("recipient_id")
        ranked = (
            Agency.objects.annotate(
                provides=Coalesce(Subquery(out_count.annotate(c=Count("pk")).values("c")), Value(0)),
                receives=Coalesce(Subquery(in_count.annotate(c=Count("pk")).values("c")), Value(0)),
            )
            .annotate(degree=F("provides") + F("receives"))
            .filter(degree__gt=0)
        )
        nodes: list[dict[str, Any]] = [dict(node) for node in ranked.order_by("-degree", "name")
                 .values("pk", "code", "name", "kind", "provides", "receives")[:limit]]
        total_agencies = ranked.count() if len(nodes) >= limit else len(nodes)
        ids = [n["pk"] for n in nodes]
        edges = list(_edge_rows(active_flows().filter(provider_id__in=ids, recipient_id__in=ids)))
        total_links = _edge_rows(active_flows()).count()
        return SharingMap(nodes=nodes, edges=edges, total_agencies=total_agencies, total_links=total_links)

    touching = active_flows().filter(Q(provider_id=focus.pk) | Q(recipient_id=focus.pk))
    rows = list(_edge_rows(touching).order_by("-flows", "provider_id", "recipient_id")[:MAP_FOCUS_EDGES])
    partner_ids: list[int] = []
    for row in rows:
        partner = row["recipient_id"] if row["provider_id"] == focus.pk else row["provider_id"]
        if partner not in partner_ids and len(partner_ids) < limit:
            partner_ids.append(partner)
    partners = {a["pk"]: a for a in Agency.objects.filter(pk__in=partner_ids).values("pk", "code", "name", "kind")}
    focus_node = {"pk": focus.pk, "code": focus.code, "name": focus.name, "kind": focus.kind, "focus": True}
    nodes = [focus_node] + [dict(p) for p in sorted(partners.values(), key=lambda n: (n["kind"], n["name"]))]
    shown = {n["pk"] for n in nodes}
    edges = [r for r in rows if r["provider_id"] in shown and r["recipient_id"] in shown]
    for node in nodes:
        node["provides"] = sum(e["flows"] for e in edges if e["provider_id"] == node["pk"])
        node["receives"] = sum(e["flows"] for e in edges if e["recipient_id"] == node["pk"])
    total_partners = (
        Agency.objects.filter(
            Q(pk__in=touching.values("provider_id")) | Q(pk__in=touching.values("recipient_id"))
        ).exclude(pk=focus.pk).count()
        if len(partner_ids) >= limit
        else len(partner_ids)
    )
    total_links = _edge_rows(touching).count() if len(rows) >= MAP_FOCUS_EDGES else len(rows)
    return SharingMap(nodes=nodes, edges=edges, total_agencies=total_partners, total_links=total_links, focus=focus)
