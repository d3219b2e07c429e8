"""The three ways to redraw a status line, as pure functions of what is on screen.

Each strategy turns (cells now shown, new line) into the text to write. None of them
ever leaves a trailing carriage return (PyCharm blanks the line on one) and none of
them relies on the terminal wrapping: the caller keeps the line inside the usable width.
"""
from typing import Tuple

ERASE_TO_END = "\x1b[K"


class CarriageReturn:
    """`\\r` + the new text in one write; the tail of a longer old line is cleared with
    ESC[K on VT consoles, with spaces where ESC[K is not understood, and not at all where
    `\\r` itself empties the line (PyCharm's run window, Emacs)."""

    name = "cr"

    def __init__(self, erase: str = "csi"):
        self.erase_with = erase

    def draw(self, shown: int, text: str, cells: int) -> Tuple[str, int]:
        if self.erase_with == "csi":
            return "\r" + text + ERASE_TO_END, cells
        if self.erase_with == "pad" and shown > cells:
            return "\r" + text + " " * (shown - cells), cells
        return "\r" + text, cells

    def erase(self, shown: int) -> str:
        if self.erase_with == "csi":
            return "\r" + ERASE_TO_END
        if self.erase_with == "pad":
            return "\r" + " " * shown + "\r"
        return "\r"

    def commit(self, shown: int, text: str, cells: int) -> str:
        return self.draw(shown, text, cells)[0] + "\n"


class Backspace:
    """Back over exactly the cells on screen, write the new text, blank what is left of
    the old one and step back to the end of the new text. The reliable way on the legacy
    Windows console, whose `\\b` never erases and stops at column 0."""

    name = "backspace"

    def draw(self, shown: int, text: str, cells: int) -> Tuple[str, int]:
        pad = max(shown - cells, 0)
        return "\b" * shown + text + " " * pad + "\b" * pad, cells

    def erase(self, shown: int) -> str:
        return "\b" * shown + " " * shown + "\b" * shown

    def commit(self, shown: int, text: str, cells: int) -> str:
        return self.draw(shown, text, cells)[0] + "\n"


class Lines:
    """Every update is a complete line: for logs, pipes and consoles that cannot redraw.
    Nothing transient is ever on screen."""

    name = "lines"

    def draw(self, shown: int, text: str, cells: int) -> Tuple[str, int]:
        return text + "\n", 0

    def erase(self, shown: int) -> str:
        return ""

    def commit(self, shown: int, text: str, cells: int) -> str:
        return text + "\n"


def strategy_for(mode: str, erase: str = "csi"):
    if mode == "cr":
        return CarriageReturn(erase)
    if mode == "backspace":
        return Backspace()
    if mode == "lines":
        return Lines()
    raise ValueError("mode must be cr, backspace or lines, not {!r}".format(mode))
