"""The status area when several bars are up at once (nested tqdm loops, a tqdm loop in a
Keras epoch): pure functions from the bars' rows to what a console shows, one row per bar
where the console can redraw several rows, else one line that shows the nesting.
"""
from typing import Callable, Dict, Hashable, List, NamedTuple, Optional

from .cells import strip_ansi

SEPARATOR = " \u00b7 "  # between the bars of a composed line: "outer 2/3 · inner 20/40 ..."
MAX_ROWS = 12           # rows of a status area; more bars are counted on the last row


class Row(NamedTuple):
    """One bar's place in the status area."""

    text: str               # the bar's line, already fitted to the width it was given
    brief: Optional[str]    # how it shows next to a bar nested in it ("outer 2/3"); None:
                            # the first word of its line
    depth: int              # nesting: tqdm's position; rows are shown by (depth, since)
    since: int              # when the bar first showed, to order bars of equal depth


def brief_of(row: Row) -> str:
    """How a bar shows next to the bars nested in it; for a line that names no brief of its
    own, its first word (the step count of a Keras line)."""
    if row.brief is not None:
        return row.brief
    words = strip_ansi(row.text).split()
    return words[0] if words else ""


def ordered(rows: Dict[Hashable, Row]) -> List[Hashable]:
    """The bars' keys, outermost first."""
    return sorted(rows, key=lambda key: (rows[key].depth, rows[key].since))


def stacked(rows: Dict[Hashable, Row], max_rows: int = MAX_ROWS) -> List[str]:
    """One line per bar, outermost first; bars beyond `max_rows` are counted, not shown."""
    lines = [rows[key].text for key in ordered(rows)]
    if len(lines) > max_rows:
        hidden = len(lines) - max_rows + 1
        lines = lines[:max_rows - 1] + ["... {} more".format(hidden)]
    return lines


def composed(rows: Dict[Hashable, Row]) -> str:
    """One line: the outer bars brief, the innermost one whole."""
    rows_in_order = [rows[key] for key in ordered(rows)]
    if not rows_in_order:
        return ""
    parts = [brief for brief in map(brief_of, rows_in_order[:-1]) if brief]
    return SEPARATOR.join(parts + [rows_in_order[-1].text])


def depth_for(rows: Dict[Hashable, Row], depth: Optional[int]) -> int:
    """A new bar's depth: as given, else inside every bar already up (Keras's bar, whose
    position nobody names)."""
    if depth is not None:
        return depth
    return max((row.depth for row in rows.values()), default=-1) + 1


def room(rows: Dict[Hashable, Row], key: Hashable, width: Optional[int], depth: Optional[int],
         cells: Callable[[str], int]) -> Optional[int]:
    """Cells left for the line of bar `key` in a composed line `width` cells wide: all of
    them unless it is (or, new, would be) the innermost bar, shown after the others' briefs."""
    others = {other: row for other, row in rows.items() if other != key}
    if width is None or not others:
        return width
    mine = rows.get(key)
    place = (mine.depth, mine.since) if mine else (depth_for(others, depth), float("inf"))
    if any(place < (row.depth, row.since) for row in others.values()):
        return width  # shown as its brief: its own line may take the whole width
    used = sum(cells(brief) + cells(SEPARATOR) for brief in map(brief_of, others.values()) if brief)
    return max(width - used, 0)
