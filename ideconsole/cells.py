"""How many terminal cells a piece of text takes, and how to cut text to a width.

Escape codes take no cells, wide (CJK) characters take two, and on East Asian code
pages (936 and friends) so do the "ambiguous" ones such as the box characters of a bar.
"""
import re
import unicodedata
from functools import lru_cache

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text) if "\x1b" in text else text


@lru_cache(maxsize=4096)
def char_cells(char: str, ambiguous_wide: bool = False) -> int:
    """Cells one character takes on a terminal, as xterm, VTE and pyte count them (wcwidth):
    0 for combining marks and other format characters, drawn in the cell before them (the soft
    hyphen, shown as a hyphen, excepted), and for control characters; 2 for wide (CJK) ones,
    and for East Asian ambiguous ones where `ambiguous_wide`; 1 for the rest, unassigned code
    points included (Python before 3.13 calls them fullwidth). `python -m ideconsole clean`
    places characters by this rule too."""
    category = unicodedata.category(char)
    if (unicodedata.combining(char) or category in ("Mn", "Me", "Cf", "Cc")) and char != "\u00ad":
        return 0
    kind = unicodedata.east_asian_width(char)
    if kind == "W" or (kind == "F" and category != "Cn") or (kind == "A" and ambiguous_wide):
        return 2
    return 1


NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def cell_width(text: str, ambiguous_wide: bool = False) -> int:
    """Display width of `text` on one row, in cells."""
    text = strip_ansi(text)
    width = len(text)
    if CONTROL.search(text):
        width -= len(CONTROL.findall(text))
    other = "".join(NON_ASCII.findall(text))
    if other:  # a bar is one character many times: look each distinct one up once
        width += sum((char_cells(char, ambiguous_wide) - 1) * other.count(char) for char in set(other))
    return width


def truncate(text: str, width: int, ambiguous_wide: bool = False, ellipsis: str = "...") -> str:
    """Cut `text` to at most `width` cells, ending with `ellipsis` when cut. Escape codes
    are kept (they take no room) and a reset is appended if any colour was open. A word
    with a digit in it is left out whole rather than cut: `18/2` or `0.80` would mislead."""
    if cell_width(text, ambiguous_wide) <= width:
        return text
    room = width - cell_width(ellipsis, ambiguous_wide)
    if room < 0:
        ellipsis, room = "", width
    out, used, position = [], 0, 0
    for match in list(ANSI.finditer(text)) + [None]:
        end = match.start() if match else len(text)
        used, stop = _take(text, position, end, room, used, ambiguous_wide, out)
        if stop is not None:
            _drop_cut_number(out, strip_ansi(text[stop:]))
            break
        if match:
            out.append(match.group())
            position = match.end()
    result = "".join(out) + ellipsis
    return result + "\x1b[0m" if "\x1b[" in result else result


def _take(text, start, end, room, used, ambiguous_wide, out):
    """Characters of text[start:end] while they fit; the index of the first that does not."""
    for index in range(start, end):
        cells = char_cells(text[index], ambiguous_wide)
        if used + cells > room:
            return used, index
        out.append(text[index])
        used += cells
    return used, None


def _drop_cut_number(out, rest: str) -> None:
    """Take back the word cut at the end of `out` (`rest` is what was left out) when it
    holds a digit. Escape codes in it stay."""
    if not rest or rest[0].isspace():
        return
    start = len(out)
    while start and (out[start - 1].startswith("\x1b") or not out[start - 1].isspace()):
        start -= 1
    word = out[start:]
    visible = "".join(item for item in word if not item.startswith("\x1b")) + rest.split(None, 1)[0]
    if any(char.isdigit() for char in visible):
        out[start:] = [item for item in word if item.startswith("\x1b")]
