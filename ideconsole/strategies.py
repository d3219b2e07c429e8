"""The three ways to redraw a status line, as pure functions of what is on screen.

Each strategy turns (cells now shown, new line) into the text to write. None of them
ever leaves a trailing carriage return (PyCharm blanks the line on one) and none of
them relies on the terminal wrapping: the caller keeps the line inside the usable width.
`columns` is the terminal's width when it changed since the line on screen was drawn.
"""
from typing import Optional, Sequence, Tuple, Union

ERASE_TO_END = "\x1b[K"
ERASE_BELOW = "\x1b[J"
# ESC[J from the top-left cell is a screen clear, which tmux and GNU screen first scroll into
# the scrollback, old line included: from the first column, erase the row, step one cell
# right, erase below from there and come back.
ERASE_BELOW_FROM_LINE_START = ERASE_TO_END + "\x1b[C" + ERASE_BELOW + "\r"


class CarriageReturn:
    """`\\r` + the new text in one write; the tail of a longer old line is cleared with
    ESC[K on VT consoles, with spaces where ESC[K is not understood, and not at all where
    `\\r` itself empties the line (PyCharm's run window, Emacs).

    A narrower window may have rewrapped the old line onto several rows, the cursor on the
    last (see `detect.RESIZES`). "reflow": once the width is seen to change, cursor up over
    the rows the line takes now and erase from there. "reflow-backspace" (tmux, GNU screen,
    whose backspace climbs back over a wrapped row): back over every cell of the line, then
    erase below, on every redraw, so a resize not yet reported to us is covered too.
    "truncate": the old line kept one row, and the row above is not ours."""

    name = "cr"

    def __init__(self, erase: str = "csi", resize: str = "truncate"):
        self.erase_with = erase
        self.resize = resize if erase == "csi" else "truncate"

    def _home(self, shown: int, columns: Optional[int]) -> str:
        """Back to the first cell of the line on screen."""
        if self.resize == "reflow-backspace":
            return "\b" * shown + "\r"
        if self.resize == "reflow" and columns and shown > columns:
            return "\r\x1b[{}A".format((shown - 1) // columns)
        return "\r"

    def _tail(self, cells: int) -> str:
        """Erases what is left of the old line after `cells` of new text."""
        if self.resize == "truncate":
            return ERASE_TO_END
        return ERASE_BELOW if cells else ERASE_BELOW_FROM_LINE_START

    def draw(self, shown: int, text: str, cells: int, columns: Optional[int] = None) -> Tuple[str, int]:
        home = self._home(shown, columns)
        if self.erase_with == "csi":
            return home + text + self._tail(cells), cells
        if self.erase_with == "pad" and shown > cells:
            return home + text + " " * (shown - cells), cells
        return home + text, cells

    def erase(self, shown: int, columns: Optional[int] = None) -> str:
        if self.erase_with == "csi":
            return self._home(shown, columns) + self._tail(0)
        if self.erase_with == "pad":
            return "\r" + " " * shown + "\r"
        return "\r"

    def commit(self, shown: int, text: str, cells: int, columns: Optional[int] = None) -> str:
        return self.draw(shown, text, cells, columns)[0] + "\n"


class StatusRows(CarriageReturn):
    """Carriage return on a VT console, which can also show a status area of several rows
    (nested bars): `text` a list of lines, `cells` a tuple of their cells, and `shown` then
    the cells of each row on screen, the cursor at the end of the last. One line is drawn
    exactly as CarriageReturn draws it. Several go back up to the first row (over the rows
    each takes now where the terminal rewrapped them, as for one line), rewrite every row
    with ESC[K after it and erase what is left below."""

    stacks = True

    def _rows(self, shown, columns: Optional[int]) -> str:
        """Back to the first cell of the rows on screen."""
        if isinstance(shown, int):
            return self._home(shown, columns)
        *above, last = shown
        home = self._home(last, columns)  # to the first row of the last line

        def rows(cells: int) -> int:
            return max(1, -(-cells // columns)) if columns and self.resize != "truncate" else 1
        up = sum(rows(cells) for cells in above)
        return home + ("\x1b[{}A".format(up) if up else "")

    def draw(self, shown, text: Union[str, Sequence[str]], cells, columns: Optional[int] = None):
        if isinstance(text, str):
            if isinstance(shown, int):
                return super().draw(shown, text, cells, columns)
            lines, counts = [text], (cells,)
        else:
            lines, counts = list(text), tuple(cells)
        if not lines:
            return self.erase(shown, columns), 0
        body = "".join(line + ERASE_TO_END + "\n" for line in lines[:-1]) + lines[-1]
        tail = ERASE_BELOW if counts[-1] else ERASE_BELOW_FROM_LINE_START
        return self._rows(shown, columns) + body + tail, counts if len(counts) > 1 else counts[0]

    def erase(self, shown, columns: Optional[int] = None) -> str:
        if isinstance(shown, int):
            return super().erase(shown, columns)
        return self._rows(shown, columns) + ERASE_BELOW_FROM_LINE_START


class Backspace:
    """Back over exactly the cells on screen, write the new text, blank what is left of
    the old one and step back to the end of the new text. The reliable way on the legacy
    Windows console, whose `\\b` never erases and stops at column 0."""

    name = "backspace"

    def draw(self, shown: int, text: str, cells: int, columns: Optional[int] = None) -> Tuple[str, int]:
        pad = max(shown - cells, 0)
        return "\b" * shown + text + " " * pad + "\b" * pad, cells

    def erase(self, shown: int, columns: Optional[int] = None) -> str:
        return "\b" * shown + " " * shown + "\b" * shown

    def commit(self, shown: int, text: str, cells: int, columns: Optional[int] = None) -> str:
        return self.draw(shown, text, cells)[0] + "\n"


class Lines:
    """Every update is a complete line: for logs, pipes and consoles that cannot redraw.
    Nothing transient is ever on screen."""

    name = "lines"

    def draw(self, shown: int, text: str, cells: int, columns: Optional[int] = None) -> Tuple[str, int]:
        return text + "\n", 0

    def erase(self, shown: int, columns: Optional[int] = None) -> str:
        return ""

    def commit(self, shown: int, text: str, cells: int, columns: Optional[int] = None) -> str:
        return text + "\n"


def strategy_for(mode: str, erase: str = "csi", resize: str = "truncate"):
    if mode == "cr":
        return StatusRows(erase, resize) if erase == "csi" else CarriageReturn(erase, resize)
    if mode == "backspace":
        return Backspace()
    if mode == "lines":
        return Lines()
    raise ValueError("mode must be cr, backspace or lines, not {!r}".format(mode))
