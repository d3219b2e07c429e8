"""`python -m ideconsole clean [FILE]`: a log written through progress bars (`\\r`, `\\b`, escape
codes; stock Keras, tf_keras, tqdm) turned, as it streams, into the lines a terminal finally
showed, with no control characters left.
"""
import codecs
import re
import sys
from typing import Iterable, Iterator, List, Optional, Tuple

from ._compat import exit_for_closed_pipe
from .cells import char_cells

BLOCK = 1 << 20  # bytes asked for per read; a pipe answers with whatever has arrived
MAX_LINE = 1 << 20  # columns of a line; a longer one wraps, so junk cannot fill memory
MAX_SEQUENCE = 4096  # an escape sequence cut by a read is waited for up to this length

# Every control character but "\n" (C0, DEL, C1); the same but the "\r" of "\r\n".
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_BREAK = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
# What shows nothing and moves nothing: every escape sequence but the erases and column moves
# that _TOKEN keeps (ESC [ n K/G/C/D), then every control character but \b \r \t.
_ESCAPE = re.compile(
    r"\x1b(?:\[(?![0-9;]*[KGCD])[0-?]*[ -/]*[@-~]"  # CSI: colours (SGR) and the rest
    r"|[\]PX^_][^\x07\x1b\n]*(?:\x07|\x1b\\)"  # OSC (titles, links), DCS, SOS, PM, APC
    r"|[ -/]*[0-Z\\-~]"  # ESC 7, ESC ( B, ESC = ...
    r"|(?!\[[0-9;]*[KGCD]))")  # an ESC that starts nothing complete
_OTHER = re.compile(r"[\x00-\x07\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
_TOKEN = re.compile(r"([\x08\r]+)|(\t+)|\x1b\[([0-9;]*)([KGCD])|[^\x08\r\t\x1b]+")
# An escape sequence cut off by the end of a read: held back until the next one.
_UNFINISHED = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|[\]PX^_][^\x07\x1b\n]*\x1b?|[ -/]*)?\Z")
# A quick superset of the wide characters (checked by a test), which leaves out the box
# drawing and block characters of progress bars; _wide() is the exact set.
_MAYBE_WIDE = re.compile("[\u1100-\u115f\u2300-\u23ff\u25fd-\u27bf\u2b00-\u2bff\u2e80-\ua4cf"
                         "\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\ufe10-\ufe6f\uff00-\uffef"
                         "\U00016fe0-\U0003fffd]")
# Where the characters that take no cell are (combining marks, zero-width joiners, variation
# selectors), with room for later Unicode: their quick superset (checked by a test); _zero()
# is the exact set.
_ZERO_BLOCKS = ((0x300, 0x1dff), (0x200b, 0x20ff), (0x2cef, 0x2dff), (0x302a, 0x309a), (0xa66f, 0xabff),
                (0xfb1e, 0xfb1e), (0xfe00, 0xfe2f), (0xfeff, 0xfeff), (0xfff9, 0xfffb), (0x10000, 0x1ffff),
                (0xe0000, 0xe0fff))
_MAYBE_ZERO = re.compile("[%s]" % "".join("%s-%s" % (chr(low), chr(high)) for low, high in _ZERO_BLOCKS))
# What a progress bar's redraws are made of; anything else is rare, and may be one of the three
# above: a redrawn line is scanned once for all of them, fast.
_RARE = re.compile("[^\x08\t\r\x1b -~\u00b7\u2500-\u259f]")
_WIDE = _ZERO = _GLUE = None  # compiled patterns, see _wide() and _zero()
_HALF = "\x00"  # the right half of a wide character: control characters never reach the line
# A character and the ones of no cell drawn in its cell take one place in a line, as one of these
# stand-ins (the characters _OTHER removes: no other way into a line); see Cleaner._glued_in.
_STAND_INS = "".join(chr(code) for code in range(0xa0) if _OTHER.match(chr(code)) and code)


def _ranges(low: int, high: int, cells: int) -> List[Tuple[int, int]]:
    """(first, last) of the runs of code points in low..high-1 that take `cells` cells:
    by char_cells, the rule for ideconsole's own lines (not its cache: there are many)."""
    width = char_cells.__wrapped__
    ranges = []  # type: List[Tuple[int, int]]
    for code in range(low, high):
        char = chr(code)
        if width(char, False) == cells and not _OTHER.match(char):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return ranges


def _charset(ranges) -> str:
    return "[%s]" % "".join(re.escape(chr(a)) if a == b else "%s-%s" % (re.escape(chr(a)), re.escape(chr(b)))
                            for a, b in ranges)


def _wide():
    """The characters that take two cells, built on first need."""
    global _WIDE
    if _WIDE is None:
        ranges = _ranges(0x1100, 0x40000, 2)
        # Two classes: the basic plane's compiles to a table, the rest stays out of it.
        basic = [run for run in ranges if run[1] < 0x10000]
        _WIDE = re.compile("%s|(?=[\U00010000-\U0010ffff])%s" % (
            _charset(basic), _charset([run for run in ranges if run[0] >= 0x10000])))
    return _WIDE


def _zero():
    """The characters that take no cell, built on first need; and _GLUE, which finds them
    after the character in whose cell they are drawn (and after its _HALF, if wide)."""
    global _ZERO, _GLUE
    if _ZERO is None:
        zero = _charset([run for low, high in _ZERO_BLOCKS for run in _ranges(low, high + 1, 0)])
        _GLUE = re.compile("((?![\x00-\x1f\x7f-\x9f])[^%s])(%s?)(%s+)" % (zero[1:-1], _HALF, zero))
        _ZERO = re.compile(zero + "+")
    return _ZERO


def _shown(line: str, plain: bool, wide: bool, glued=None) -> str:
    if wide:
        line = line.replace(_HALF, "")
    if glued:
        line = line.translate(glued)
    return line if plain else line.rstrip(" ")


class Cleaner:
    """The state of one log being cleaned: `feed(text)` and, at its end, `close()` return the
    output that became final, as strings of whole lines ("\\n" included; only `close()` may
    return a last line without one).

    The current line is a VT terminal's row of unbounded width, as a string with one
    character per column: a wide character (two cells by `cells.char_cells`, the rule of
    ideconsole's own lines) is followed by a placeholder for its second column, so the cursor
    is an index; a combining mark, or any other character of no cell, is drawn in the cell
    before it, as terminals draw it: the two are one stand-in character of the line. A line
    that had no control character at all is passed through unchanged (trailing spaces kept,
    "\\r\\n" made "\\n"); any other line is what the terminal shows, trailing spaces stripped.
    A wide character cut in half by an overwrite or an erase is blanked whole, as xterm does.
    Cursor moves to other lines (tqdm's nested bars) cannot be followed and are dropped like
    every other escape sequence. A line longer than `max_line` columns wraps there.
    """

    def __init__(self, max_line: int = MAX_LINE):
        self.max_line = max_line
        self._line = ""
        self._col = 0
        self._plain = True  # no control character on this line so far
        self._wide = False  # the line holds _HALF placeholders
        self._glued = {}  # stand-in (its code) -> the characters drawn in its cell, on this line
        self._stand_in = {}  # the same, the other way
        self._held = ""  # the end of the last text, waiting for what follows

    def feed(self, text: str) -> List[str]:
        out = []  # type: List[str]
        if self._held:
            text, self._held = self._held + text, ""
        cut = _UNFINISHED.search(text, max(0, len(text) - MAX_SEQUENCE))
        if cut:
            text, self._held = text[:cut.start()], text[cut.start():]
        elif text.endswith("\r"):  # perhaps the first half of "\r\n"
            text, self._held = text[:-1], "\r"
        pos, end = 0, len(text)
        while pos < end:
            if self._plain and not self._line and not self._col:
                # Fast path: the complete lines up to the next control character.
                stop = _CONTROL.search(text, pos)
                if stop is not None and text.startswith("\r\n", stop.start()):
                    stop = _BREAK.search(text, stop.start())  # "\r\n" line ends: slower
                last = text.rfind("\n", pos, end if stop is None else stop.start())
                if last >= 0:
                    block = text[pos:last + 1]
                    if len(block) <= self.max_line or max(map(len, block.split("\n"))) <= self.max_line:
                        out.append(block.replace("\r\n", "\n") if "\r" in block else block)
                        pos = last + 1
                        continue
            newline = text.find("\n", pos)
            if newline < 0:
                self._draw(text[pos:], out)
                break
            stop = newline - 1 if newline > pos and text[newline - 1] == "\r" else newline
            self._draw(text[pos:stop], out)
            out.append(_shown(self._line, self._plain, self._wide, self._glued) + "\n")
            self._line, self._col, self._plain, self._wide = "", 0, True, False
            if self._glued:
                self._glued, self._stand_in = {}, {}
            pos = newline + 1
        return out

    def unfinished(self) -> str:
        """The line being written, as the terminal shows it now (no "\\n" yet)."""
        return _shown(self._line, self._plain, self._wide, self._glued)

    def close(self) -> List[str]:
        """The end of the log: an unfinished escape sequence shows nothing; the last line is
        returned without "\\n" when it has content."""
        if self._held == "\r":
            self._col, self._plain = 0, False
        self._held = ""
        line = _shown(self._line, self._plain, self._wide, self._glued)
        self._line, self._col, self._plain, self._wide = "", 0, True, False
        self._glued, self._stand_in = {}, {}
        return [line] if line else []

    def _draw(self, text: str, out: List[str]) -> None:
        """Play `text` (no "\\n" in it) onto the current line."""
        if not text:
            return
        line, col, wide = self._line, self._col, self._wide
        controls = _CONTROL.search(text) is not None
        if controls:
            self._plain = False
            if "\x1b" in text:
                text = _ESCAPE.sub("", text)
            rare = _RARE.search(text)  # one pass for both rare things
            if rare is not None and _OTHER.search(text, rare.start()) is not None:
                text = _OTHER.sub("", text)
            maybe_wide = rare is not None and _MAYBE_WIDE.search(text) is not None
            maybe_zero = rare is not None and _MAYBE_ZERO.search(text) is not None
        else:
            maybe_wide = _MAYBE_WIDE.search(text) is not None
            maybe_zero = _MAYBE_ZERO.search(text) is not None
        if maybe_wide and _wide().search(text) is not None:
            text = _wide().sub("\\g<0>" + _HALF, text)
            wide = True
        zero = maybe_zero and _zero().search(text) is not None
        if zero:
            text = _GLUE.sub(self._glued_in, text)
        if not controls:
            line, col = self._play([_TOKEN.match(text)], line, col, wide, out, zero)
        else:
            first, last = text.find("\r"), text.rfind("\r")
            if first < last and not wide and not zero:
                # Redraws: between the first and the last "\r", pieces that only write text
                # from column 0 (backspaces just before a "\r" move nothing that matters),
                # perhaps ending with ESC[K, are overlaid from the last one back, only as far
                # as they still show.
                middle = text[first + 1:last]
                pieces = [piece.rstrip("\x08") for piece in middle.split("\r")]
                erased = None  # type: Optional[List[bool]]
                if "\x1b" in middle:
                    erased = [piece.endswith("\x1b[K") for piece in pieces]
                    pieces = [piece[:-3] if cut else piece for piece, cut in zip(pieces, erased)]
                middle = "".join(pieces)
                longest = max(map(len, pieces))
                if ("\x08" not in middle and "\t" not in middle and "\x1b" not in middle
                        and longest <= self.max_line):
                    line, col = self._play(_TOKEN.finditer(text, 0, first), line, col, wide, out)
                    line, col = _overlay(pieces, erased, longest, line), 0
                    text = text[last:]
            line, col = self._play(_TOKEN.finditer(text), line, col, wide, out, zero)
        self._line, self._col, self._wide = line, col, wide and bool(line)

    def _play(self, tokens, line: str, col: int, wide: bool, out: List[str],
              zero: bool = False) -> Tuple[str, int]:
        """Apply `tokens` (matches of _TOKEN) to `line` with the cursor at `col`. `zero`: the
        text may begin with characters of no cell, for the cell before the cursor."""
        limit = self.max_line
        for match in tokens:
            kind = match.lastindex
            if kind is None:  # text
                piece = match.group()
                if zero:
                    line, piece = self._joined(line, col, piece)
                    if not piece:
                        continue
                size = len(piece)
                if col == len(line):
                    line += piece
                elif col == 0 and size >= len(line):
                    line = piece
                else:
                    if col > len(line):
                        line += " " * (col - len(line))
                    elif wide:
                        line = _split_wide(line, col, col + size)
                    line = line[:col] + piece + line[col + size:]
                col += size
                if len(line) > limit:  # wrapped, as on a terminal `limit` columns wide
                    start = 0
                    while len(line) - start > limit:
                        out.append(_shown(line[start:start + limit], self._plain, wide, self._glued) + "\n")
                        start += limit
                    line, col = line[start:], col - start
            elif kind == 1:  # \b and \r
                moves = match.group(1)
                col = 0 if "\r" in moves else max(0, col - len(moves))
            elif kind == 2:  # \t: the next multiple of 8
                col = min((col // 8 + len(match.group(2))) * 8, limit)
            else:
                number = match.group(3).split(";")[0]
                number = int(number) if number.isdigit() else 0
                final = match.group(4)
                if final == "K":
                    if wide:
                        line = _split_wide(line, col, col + 1)
                    if number == 0:
                        line = line[:col]
                    elif number == 1:
                        line = " " * min(col + 1, len(line)) + line[col + 1:]
                    elif number == 2:
                        line = ""
                elif final == "G":
                    col = min(max(number, 1) - 1, limit)
                elif final == "C":
                    col = min(col + max(number, 1), limit)
                else:  # "D"
                    col = max(0, col - max(number, 1))
        return line, col


    def _glued_in(self, match) -> str:
        """A character and those of no cell after it (a match of _GLUE) as one stand-in."""
        stand_in = self._stand_in_for(match.group(1) + match.group(3))
        return match.group() if stand_in is None else stand_in + match.group(2)

    def _joined(self, line: str, col: int, piece: str) -> Tuple[str, str]:
        """Characters of no cell at the start of `piece` drawn in the cell before the cursor,
        where a character is; `piece` without them."""
        lead = _ZERO.match(piece)
        if lead is None:
            return line, piece
        at = col - 2 if 1 < col <= len(line) and line[col - 1] == _HALF else col - 1
        if not 0 <= at < len(line):
            return line, piece[lead.end():]  # no character there: they show nowhere
        stand_in = self._stand_in_for(self._glued.get(ord(line[at]), line[at]) + lead.group())
        if stand_in is None:
            return line, piece
        return line[:at] + stand_in + line[at + 1:], piece[lead.end():]

    def _stand_in_for(self, cluster: str) -> Optional[str]:
        """The stand-in of `cluster` on this line; None once all are taken (then its
        characters take a column each)."""
        stand_in = self._stand_in.get(cluster)
        if stand_in is None and len(self._stand_in) < len(_STAND_INS):
            stand_in = self._stand_in[cluster] = _STAND_INS[len(self._stand_in)]
            self._glued[ord(stand_in)] = cluster
        return stand_in


def _overlay(pieces: List[str], erased: Optional[List[bool]], longest: int, line: str) -> str:
    """`line` after each of `pieces` (`longest` the length of the longest) was written over
    it from column 0, in order, each one followed by an erase to the end of the line where
    `erased` says so."""
    shown = ""
    for index in range(len(pieces) - 1, -1, -1):
        piece = pieces[index]
        if len(piece) > len(shown):
            shown += piece[len(shown):]
        if erased and erased[index]:
            return shown  # nothing older shows
        if len(shown) >= longest:
            return shown if erased and any(erased[:index]) else shown + line[len(shown):]
    return shown + line[len(shown):]


def _split_wide(line: str, start: int, stop: int) -> str:
    """Blank the wide characters that columns start..stop-1 cut in half, as xterm does."""
    if 0 < start < len(line) and line[start] == _HALF:
        line = line[:start - 1] + "  " + line[start + 1:]
    if 0 < stop < len(line) and line[stop] == _HALF:
        line = line[:stop - 1] + "  " + line[stop + 1:]
    return line


def clean_lines(chunks: Iterable[str], max_line: int = MAX_LINE) -> Iterator[str]:
    """The lines a terminal finally showed for text written in `chunks` (cut anywhere), each
    ending with "\\n" except a last line that had none. Wide characters take two columns;
    see `Cleaner` for the rules."""
    cleaner = Cleaner(max_line)
    for chunk in chunks:
        for piece in cleaner.feed(chunk):
            yield from _lines(piece)
    for piece in cleaner.close():
        yield from _lines(piece)


def _lines(piece: str) -> Iterator[str]:
    if piece.count("\n") <= 1:
        yield piece
        return
    parts = piece.split("\n")
    last = parts.pop()
    for part in parts:
        yield part + "\n"
    if last:
        yield last


def clean_stream(binary_in, text_out, block_size: int = BLOCK) -> None:
    """Clean UTF-8 bytes from `binary_in` (bad bytes become U+FFFD) into `text_out`, flushed
    after each read that completed a line: a read returns what a pipe holds (read1, or one
    raw read) instead of waiting for a whole block. Memory: the current line plus a block."""
    read = getattr(binary_in, "read1", None) or binary_in.read
    decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
    cleaner = Cleaner()
    while True:
        data = read(block_size)
        if not data:
            break
        out = cleaner.feed(data if isinstance(data, str) else decode(data))
        if out:
            text_out.write("".join(out))
            text_out.flush()
    out = cleaner.feed(decode(b"", True)) + cleaner.close()
    if out:
        text_out.write("".join(out))
    text_out.flush()


class _Utf8Out:
    """UTF-8 text onto a binary stream, "\\n" as is on every platform."""

    def __init__(self, binary):
        self.binary = binary

    def write(self, text: str) -> None:
        self.binary.write(text.encode("utf-8", "replace"))

    def flush(self) -> None:
        self.binary.flush()


def main(argv: Optional[List[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m ideconsole clean",
        description="Write FILE (or stdin) as a terminal finally showed it: progress-bar "
                    "redraws collapsed, escape codes and control characters removed.")
    parser.add_argument("file", nargs="?", default="-", metavar="FILE", help="a log; - or none: stdin")
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as stop:  # -h, or a usage error already printed
        return stop.code if isinstance(stop.code, int) else 2
    if args.file == "-":
        source = getattr(sys.stdin, "buffer", sys.stdin)
    else:
        try:
            source = open(args.file, "rb", buffering=0)
        except OSError as error:
            sys.stderr.write("python -m ideconsole clean: cannot read {}: {}\n".format(
                args.file, error.strerror or error))
            return 2
    binary = getattr(sys.stdout, "buffer", None)
    if binary is not None:
        sys.stdout.flush()
    out = sys.stdout if binary is None else _Utf8Out(binary)
    try:
        clean_stream(source, out)
    except BrokenPipeError:  # `| head` has read enough
        return exit_for_closed_pipe()
    except KeyboardInterrupt:
        return 130
    finally:
        if source is not getattr(sys.stdin, "buffer", sys.stdin):
            source.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
