"""Geometry for the sharing map, drawn as SVG on the server: agencies on a circle, a curved arrow per link.

Pure functions of the aggregated rows (at most a few dozen nodes), so the page needs no JavaScript.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SIZE = 960
CENTRE = SIZE / 2
RADIUS = 250
NODE_RADIUS = 9
FOCUS_RADIUS = 14
LABEL_CHARS = 24
BEND = 0.12  # how far a link bows away from the straight line, as a share of its length


@dataclass
class DrawnNode:
    code: str
    name: str
    label: str
    kind: str
    x: float
    y: float
    r: float
    label_x: float
    label_y: float
    rotate: float
    anchor: str
    focus: bool
    provides: int
    receives: int


@dataclass
class DrawnEdge:
    path: str
    width: float
    flows: int
    provider: str
    recipient: str
    focus: bool


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1].rstrip() + "…"


def layout(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> tuple[list[DrawnNode], list[DrawnEdge]]:
    """Places a focused agency (if any) in the centre and the rest evenly round a circle, grouped by kind."""
    focus = [n for n in nodes if n.get("focus")]
    ring = sorted((n for n in nodes if not n.get("focus")), key=lambda n: (n["kind"], n["name"]))
    drawn: dict[int, DrawnNode] = {}
    for node in focus:
        drawn[node["pk"]] = DrawnNode(
            code=node["code"], name=node["name"], label=_short(node["name"]), kind=node["kind"],
            x=CENTRE, y=CENTRE, r=FOCUS_RADIUS, label_x=CENTRE, label_y=CENTRE + FOCUS_RADIUS + 18, rotate=0,
            anchor="middle", focus=True, provides=node.get("provides", 0), receives=node.get("receives", 0),
        )
    count = max(len(ring), 1)
    for i, node in enumerate(ring):
        angle = 2 * math.pi * i / count - math.pi / 2
        x, y = CENTRE + RADIUS * math.cos(angle), CENTRE + RADIUS * math.sin(angle)
        degrees = math.degrees(angle)
        left = math.cos(angle) < 0
        label_r = RADIUS + NODE_RADIUS + 6
        drawn[node["pk"]] = DrawnNode(
            code=node["code"], name=node["name"], label=_short(node["name"]), kind=node["kind"],
            x=round(x, 1), y=round(y, 1), r=NODE_RADIUS,
            label_x=round(CENTRE + label_r * math.cos(angle), 1), label_y=round(CENTRE + label_r * math.sin(angle), 1),
            # Text reads outwards from the circle, and is turned the right way up on the left-hand side.
            rotate=round(degrees + 180 if left else degrees, 1), anchor="end" if left else "start",
            focus=False, provides=node.get("provides", 0), receives=node.get("receives", 0),
        )
    lines = []
    for edge in edges:
        a, b = drawn.get(edge["provider_id"]), drawn.get(edge["recipient_id"])
        if a is None or b is None:
            continue
        lines.append(DrawnEdge(
            path=_curve(a, b), width=round(1 + min(edge["flows"], 8) * 0.4, 1), flows=edge["flows"],
            provider=a.name, recipient=b.name, focus=a.focus or b.focus,
        ))
    return list(drawn.values()), lines


def _curve(a: DrawnNode, b: DrawnNode) -> str:
    """A quadratic curve from a to b that bows to its left, so a→b and b→a stay apart; it stops at b's edge."""
    dx, dy = b.x - a.x, b.y - a.y
    cx, cy = (a.x + b.x) / 2 + dy * BEND, (a.y + b.y) / 2 - dx * BEND
    # Start and end on the circles' edges, in the direction of the control point.
    sx, sy = _towards(a.x, a.y, cx, cy, a.r + 1)
    ex, ey = _towards(b.x, b.y, cx, cy, b.r + 2)
    return f"M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}"


def _towards(x: float, y: float, tx: float, ty: float, distance: float) -> tuple[float, float]:
    dx, dy = tx - x, ty - y
    length = math.hypot(dx, dy) or 1.0
    return x + dx / length * distance, y + dy / length * distance
