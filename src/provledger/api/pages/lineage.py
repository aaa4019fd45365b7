"""The lineage picture of the asset page: the asset's sources in rows above it and what was made
from it in rows below, laid out as boxes and arrows for an SVG whose boxes are links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from provledger.api.pages.labels import short, tiny, words
from provledger.services.views import LineageView

#: The boxes: width, gaps between boxes of a row and between rows, the picture's margin.
BOX_W, BOX_GAP, ROW_GAP, PAD = 190, 16, 64, 8
#: Type sizes and line height in the boxes; the most title lines a box shows.
TITLE_SIZE, META_SIZE, LINE, MAX_LINES = 13, 11, 17, 3
#: Rows of at most this many boxes are centred; wider pictures keep every row at the left, so
#: that the asset's own box (alone in its row) stays in view on a narrow screen.
CENTRED_UP_TO: Final = 3
#: Room above a row for the arcs of links inside it.
ARC_ROOM: Final = 44
#: The relations as the arrows (from a source to what was made from it) read them, and as a
#: sentence from what was made says them ("B is derived from A").
FLOWS: Final = {
    "DERIVED_FROM": "derived into",
    "AGGREGATE_OF": "aggregated into",
    "VERSION_OF": "new version",
}
SENTENCES: Final = {
    "DERIVED_FROM": "derived from",
    "AGGREGATE_OF": "an aggregate of",
    "VERSION_OF": "a version of",
}
_NARROW_CHARS: Final = frozenset("iljI.,:;'!|")
_THIN_CHARS: Final = frozenset(" ftr()[]-/")
_WIDE_CHARS: Final = frozenset("mwMW@%")


def text_width(text: str, size: float) -> float:
    """About how wide ``text`` sets at ``size`` px in a sans-serif such as DejaVu Sans (on
    the generous side: boxes are sized from it, and SVG text does not wrap)."""
    em = 0.0
    for char in text:
        if char in _NARROW_CHARS:
            em += 0.3
        elif char in _THIN_CHARS:
            em += 0.42
        elif char in _WIDE_CHARS:
            em += 0.95
        elif ord(char) >= 0x2E80:  # CJK and beyond: full width
            em += 1.0
        elif char.isupper():
            em += 0.72
        else:
            em += 0.64
    return em * size


def wrap(text: str, width: float, size: float, most: int) -> list[str]:
    """``text`` in lines that fit ``width`` at ``size`` px, at most ``most`` of them (the last
    cut with an ellipsis if more were needed); a word too long for a line is broken."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while word:
            cut = len(word)
            while cut > 1 and text_width(word[:cut], size) > width:
                cut -= 1
            piece, word = word[:cut], word[cut:]
            candidate = f"{current} {piece}" if current else piece
            if text_width(candidate, size) <= width:
                current = candidate
            else:
                lines.append(current)
                current = piece
    if current:
        lines.append(current)
    if len(lines) > most:
        last = lines[most - 1]
        while last and text_width(last + "…", size) > width:
            last = last[:-1].rstrip()
        lines = [*lines[: most - 1], last + "…"]
    return lines


@dataclass(frozen=True)
class GraphNode:
    """A box of the lineage picture: the asset's title (or id) in lines, then status and id."""

    asset_id: str
    x: int
    y: int
    height: int
    root: bool
    """Whether this is the asset whose page it is (its box is outlined)."""
    lines: tuple[str, ...]
    """The title in lines that fit the box, or the shortened id of an untitled asset."""
    meta: str
    """The line under the title: the status and the tiny id (the status alone, untitled)."""
    status: str
    label: str
    """What the box's link says to a screen reader."""


@dataclass(frozen=True)
class GraphEdge:
    """An arrow of the lineage picture, from a source to what was made from it."""

    parent: str
    child: str
    path: str
    relation: str
    label_x: int
    label_y: int
    sentence: str


@dataclass(frozen=True)
class Graph:
    """The lineage laid out in rows: sources above, the asset, what was made from it below."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    width: int
    height: int
    span: int
    """The most boxes in a row (the stylesheet keeps pictures this wide readable)."""
    summary: str


def _generations(view: LineageView) -> dict[str, int]:
    """Each asset's generation: the asset at 0, its parents at -1, its children at 1, and so
    on (the shortest way there)."""
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for edge in view.edges:
        parents.setdefault(edge.child_id, []).append(edge.parent_id)
        children.setdefault(edge.parent_id, []).append(edge.child_id)
    generation = {view.root: 0}
    for links, step in ((parents, -1), (children, 1)):
        frontier = [view.root]
        while frontier:
            following = []
            for node in frontier:
                for other in links.get(node, []):
                    if other not in generation:
                        generation[other] = generation[node] + step
                        following.append(other)
            frontier = following
    return generation


def _columns(
    view: LineageView, rows: dict[int, list[str]], width: int, centred: bool, names: dict[str, str]
) -> dict[str, int]:
    """The left edge of each box: the asset's own box centred (or at the left), then each row
    outward from it, its boxes side by side in the order and around the middle of the boxes
    they link to in the row nearer the asset (then by title), kept inside the picture."""
    linked: dict[str, list[str]] = {}
    for edge in view.edges:
        linked.setdefault(edge.child_id, []).append(edge.parent_id)
        linked.setdefault(edge.parent_id, []).append(edge.child_id)
    x = {view.root: (width - BOX_W) // 2 if centred else PAD}
    for step in (-1, 1):
        level = step
        while level in rows:
            nearer = set(rows[level - step])

            def wanted(node: str, nearer: set[str] = nearer) -> float:
                spots = [x[other] for other in linked.get(node, []) if other in nearer]
                return sum(spots) / len(spots) if spots else float(PAD)

            members = sorted(rows[level], key=lambda node: (wanted(node), names[node], node))
            rows[level] = members
            pitch = BOX_W + BOX_GAP
            used = len(members) * pitch - BOX_GAP
            middle = sum(wanted(node) for node in members) / len(members) + BOX_W / 2
            left = round(middle - used / 2)
            left = max(PAD, min(left, width - PAD - used))
            for index, node in enumerate(members):
                x[node] = left + index * pitch
            level += step
    return x


def layout(view: LineageView, titles: dict[str, str]) -> Graph:
    """The lineage picture of ``view``, its boxes titled from ``titles`` (by asset id)."""
    generation = _generations(view)
    rows: dict[int, list[str]] = {}
    for node, level in sorted(generation.items(), key=lambda item: (item[1], item[0])):
        rows.setdefault(level, []).append(node)
    statuses = {node.asset_id: words(node.status or "not indexed") for node in view.nodes}
    text: dict[str, tuple[list[str], str, str]] = {}
    for key in generation:
        status = statuses.get(key, "not indexed")
        title = titles.get(key)
        if title:
            lines = wrap(title, BOX_W - 20, TITLE_SIZE, MAX_LINES)
            text[key] = (lines, f"{status} · {tiny(key)}", title)
        else:
            text[key] = ([short(key)], status, f"untitled asset {short(key)}")
    span = max(len(members) for members in rows.values())
    width = 2 * PAD + span * BOX_W + (span - 1) * BOX_GAP
    names = {key: named for key, (_, _, named) in text.items()}
    x = _columns(view, rows, width, span <= CENTRED_UP_TO, names)
    arcs = {  # rows with a link inside them: an arc above the row needs room
        generation[edge.child_id]
        for edge in view.edges
        if edge.child_id in generation
        and generation.get(edge.parent_id) == generation[edge.child_id]
    }
    place: dict[str, tuple[int, int]] = {}  # top, height
    nodes = []
    top = PAD
    for level in sorted(rows):
        members = rows[level]
        top += ARC_ROOM if level in arcs else 0
        height = 30 + LINE * max(len(text[node][0]) for node in members)
        for node in members:
            place[node] = (top, height)
            lines, meta, named = text[node]
            root = node == view.root
            label = (
                f"{'this asset' if root else 'asset'}: {named}, {statuses.get(node, 'not indexed')}"
            )
            nodes.append(
                GraphNode(
                    node,
                    x=x[node],
                    y=top,
                    height=height,
                    root=root,
                    lines=tuple(lines),
                    meta=meta,
                    status=statuses.get(node, "not indexed"),
                    label=label,
                )
            )
        top += height + ROW_GAP
    # Arrows leave and enter a box at points spread along its edge, one per arrow.
    ends: dict[tuple[str, str], list[str]] = {}
    for edge in view.edges:
        ends.setdefault((edge.parent_id, "out"), []).append(edge.child_id)
        ends.setdefault((edge.child_id, "in"), []).append(edge.parent_id)

    def spot(node: str, side: str, other: str) -> int:
        others = sorted(ends[(node, side)], key=lambda key: (x.get(key, 0), key))
        return x[node] + BOX_W * (others.index(other) + 1) // (len(others) + 1)

    edges = []
    for link in view.edges:
        if link.parent_id not in place or link.child_id not in place:
            continue
        (py, ph), (cy, ch) = place[link.parent_id], place[link.child_id]
        x1 = spot(link.parent_id, "out", link.child_id)
        x2 = spot(link.child_id, "in", link.parent_id)
        if cy > py:  # downwards, the usual way
            y1, y2 = py + ph, cy - 2
            bend = (y2 - y1) // 2
            path = f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2}"
            label_x, label_y = x1, y1 + 20  # under the source, where its arrow leaves
        elif cy < py:  # a source drawn below what was made from it
            y1, y2 = py, cy + ch + 2
            bend = (y1 - y2) // 2
            path = f"M{x1},{y1} C{x1},{y1 - bend} {x2},{y2 + bend} {x2},{y2}"
            label_x, label_y = (x1 + x2) // 2, (y1 + y2) // 2
        else:  # both in one row: an arc above it
            y1 = py
            lift = ARC_ROOM - 4
            path = f"M{x1},{y1} C{x1},{y1 - lift} {x2},{y1 - lift} {x2},{y1 - 2}"
            label_x, label_y = (x1 + x2) // 2, y1 - lift + 12
        flow = FLOWS.get(link.relation, words(link.relation))
        relation = SENTENCES.get(link.relation, words(link.relation))
        sentence = f"{text[link.child_id][2]} is {relation} {text[link.parent_id][2]}"
        edges.append(
            GraphEdge(link.parent_id, link.child_id, path, flow, label_x, label_y, sentence)
        )
    summary = f"{len(generation)} assets, {len(view.edges)} links"
    return Graph(nodes, edges, width, top - ROW_GAP + PAD, span, summary)
