"""Console models: what a person finally sees after a program wrote some text.

Each model follows docs/consoles.md. Shared interface:
``feed(text, stream="stdout")``, ``feed_all(chunks)``, ``lines()`` and ``text()``.
Models are for replaying bytes quickly; tests/test_tmux.py and tests/test_xterm.py run real
terminal emulators, and where a model and a real emulator disagree, the real one is right
and the model is what gets fixed.
"""

import re
import unicodedata
from typing import Iterable, List, Optional, Tuple, Union

import pyte
from wcwidth import wcwidth

STREAMS = ("stdout", "stderr")
Chunk = Union[str, Tuple[str, str]]

# ESC [ parameters intermediates final: a complete CSI sequence, and one cut off by the
# end of a write (held back until the next write on that stream).
_CSI = r"\x1b\[[0-?]*[ -/]*[@-~]"
_CSI_UNFINISHED = re.compile(r"\x1b(\[[0-?]*[ -/]*)?\Z")


def _check_stream(stream: str) -> None:
    if stream not in STREAMS:
        raise ValueError("stream must be 'stdout' or 'stderr', not %r" % (stream,))


def _strip_trailing_empty(rows: List[str]) -> List[str]:
    while rows and not rows[-1]:
        rows.pop()
    return rows


class Console:
    """Shared interface of the models."""

    columns: Optional[int] = None  # None: no width, no wrapping

    def feed(self, text: str, stream: str = "stdout") -> None:
        raise NotImplementedError

    def feed_all(self, chunks: Iterable[Chunk]) -> "Console":
        """Feed writes in order; each is a str (stdout) or a (stream, text) pair."""
        for chunk in chunks:
            if isinstance(chunk, str):
                self.feed(chunk)
            else:
                stream, text = chunk
                self.feed(text, stream)
        return self

    def lines(self) -> List[str]:
        raise NotImplementedError

    def text(self) -> str:
        return "\n".join(self.lines())


class VT(Console):
    """A VT terminal (xterm and friends) behind a pseudo terminal, emulated by pyte.

    Rows scrolled off the top are kept, so ``lines()`` shows the whole session. A resize
    cuts rows, as xterm does; it cannot stand for terminals that rewrap lines on resize
    (tmux, VTE, kitty...): those are tested in a real tmux. Nor does it know xterm's
    habit of showing cut cells again when the window widens."""

    def __init__(self, columns: int = 80, rows: int = 24, history: int = 100000):
        self.columns = columns
        self.screen = pyte.HistoryScreen(columns, rows, history=history)
        self._stream = pyte.Stream(self.screen)

    def feed(self, text: str, stream: str = "stdout") -> None:
        _check_stream(stream)
        # Both streams reach the same screen; the pty's onlcr turns "\n" into "\r\n".
        self._stream.feed(text.replace("\n", "\r\n"))

    def resize(self, columns: int) -> None:
        """The window was resized: existing rows are cut, not rewrapped."""
        self.columns = columns
        self.screen.resize(self.screen.lines, columns)

    def _row(self, line) -> str:
        cells, skip = [], False
        for x in range(self.columns):
            if skip:  # the stub cell after a wide character
                skip = False
                continue
            data = line[x].data
            cells.append(data)
            skip = bool(data) and wcwidth(data[0]) == 2
        return "".join(cells).rstrip()

    def lines(self) -> List[str]:
        rows = [self._row(line) for line in self.screen.history.top]
        rows += [row.rstrip() for row in self.screen.display]
        return _strip_trailing_empty(rows)

    @property
    def cursor(self) -> Tuple[int, int]:
        """(row, column), rows counted from the first row ever shown. The column equals
        ``columns`` while a wrap is pending (VT terminals delay it)."""
        return len(self.screen.history.top) + self.screen.cursor.y, self.screen.cursor.x


class PyCharm(Console):
    """PyCharm's run window with "Emulate terminal in output console" off (the default).

    One document shared by stdout and stderr; no wrapping."""

    _TOKEN = re.compile(r"(%s)|\r\n|[^\x1b\r\n\b]+|." % _CSI, re.S)

    def __init__(self):
        self.saw_color = False
        self._done: List[str] = []
        self._line = ""
        self._held = {"stdout": "", "stderr": ""}

    def feed(self, text: str, stream: str = "stdout") -> None:
        _check_stream(stream)
        text = self._held[stream] + text
        cut = _CSI_UNFINISHED.search(text)
        self._held[stream] = text[cut.start():] if cut else ""
        if cut:
            text = text[:cut.start()]
        for match in self._TOKEN.finditer(text):
            token = match.group(0)
            if match.group(1):
                # SGR is shown as colour; every other CSI sequence is dropped.
                self.saw_color = self.saw_color or token.endswith("m")
            elif token in ("\n", "\r\n"):  # "\r\n" becomes "\n"
                self._done.append(self._line)
                self._line = ""
            elif token == "\r":
                # "\r" erases the whole current line, even at the end of a write.
                self._line = ""
            elif token == "\b":
                self._line = self._line[:-1]  # deletes; never crosses a line start
            else:
                self._line += token  # a lone ESC stays in the document as text

    @property
    def document(self) -> str:
        """The document's raw text (colours removed)."""
        return "\n".join(self._done + [self._line])

    def lines(self) -> List[str]:
        rows = self._done + ([self._line] if self._line else [])
        return [row.rstrip() for row in rows]


# Code page 437 glyphs of the C0 controls and DEL: legacy conhost draws them.
_CP437_CONTROLS = " ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼"


class LegacyConhost(Console):
    """The Windows console host without VT processing (Windows 7 cmd.exe).

    A grid ``columns`` wide that never scrolls anything away."""

    def __init__(self, columns: int = 80, codepage: int = 437):
        self.columns = columns
        self.codepage = codepage
        self._codec = "cp%d" % codepage
        self._grid: List[List[Optional[str]]] = [[]]  # None: right half of a wide char
        self._row = self._col = 0
        self._garbage = False

    @property
    def cursor(self) -> Tuple[int, int]:
        return self._row, self._col

    def garbage(self) -> bool:
        """True once a control glyph (ESC drawn as "←"...) or a "?" replacement appeared."""
        return self._garbage

    def feed(self, text: str, stream: str = "stdout") -> None:
        _check_stream(stream)
        for char in text:
            if char == "\r":
                self._col = 0
            elif char == "\n":
                self._row, self._col = self._row + 1, 0
            elif char == "\b":
                self._col = max(0, self._col - 1)  # not destructive; stops at column 0
            elif char == "\t":
                for _ in range(8 - self._col % 8):
                    self._put(" ", 1)
            elif ord(char) < 0x20 or char == "\x7f":
                self._garbage = True
                self._put("⌂" if char == "\x7f" else _CP437_CONTROLS[ord(char)], 1)
            else:
                self._put(*self._glyph(char))

    def _glyph(self, char: str) -> Tuple[str, int]:
        try:
            char.encode(self._codec)
        except UnicodeEncodeError:
            self._garbage = True
            return "?", 1
        # On code page 936 (GBK) wide and ambiguous-width characters, box drawing
        # included, take two cells (CONSOLES.md, tqdm #454).
        wide = self.codepage == 936 and unicodedata.east_asian_width(char) in "WFA"
        return char, 2 if wide else 1

    def _put(self, glyph: str, width: int) -> None:
        if self._col + width > self.columns:  # a wide char that does not fit moves down
            self._row, self._col = self._row + 1, 0
        while len(self._grid) <= self._row:
            self._grid.append([])
        cells = self._grid[self._row]
        cells.extend([" "] * (self.columns - len(cells)))
        col = self._col
        if cells[col] is None:  # overwriting the right half of a wide char
            cells[col - 1] = " "
        if col + width < self.columns and cells[col + width] is None:
            cells[col + width] = " "  # overwriting the left half of a wide char
        cells[col:col + width] = [glyph] + [None] * (width - 1)
        self._col += width
        if self._col >= self.columns:
            # Immediate wrap: filling the last column moves the cursor down at once.
            self._row, self._col = self._row + 1, 0

    def lines(self) -> List[str]:
        rows = ["".join(c for c in cells if c is not None).rstrip() for cells in self._grid]
        return _strip_trailing_empty(rows)


class LogReader(Console):
    """A redirected log file as ``less``, an editor or ``grep`` sees it: raw text, split
    on "\\n" only. ``streams`` names the streams redirected into the file."""

    def __init__(self, streams: Tuple[str, ...] = STREAMS):
        self.streams = streams
        self._raw: List[str] = []

    def feed(self, text: str, stream: str = "stdout") -> None:
        _check_stream(stream)
        if stream in self.streams:
            self._raw.append(text)

    def text(self) -> str:
        """The file's whole content."""
        return "".join(self._raw)

    def lines(self) -> List[str]:
        pieces = self.text().split("\n")
        return pieces[:-1] if pieces[-1] == "" else pieces

    def control_chars(self) -> List[str]:
        """The distinct control characters in the file other than "\\n" and "\\t"."""
        found = set(c for c in self.text() if (c < " " and c not in "\n\t") or c == "\x7f")
        return sorted(found)

    def has_control(self) -> bool:
        return bool(self.control_chars())

    def complete(self) -> bool:
        """True when the file ends with "\\n": every line is complete."""
        text = self.text()
        return not text or text.endswith("\n")


class GitLabLog(Console):
    """GitLab's job log, as its ansi2json converter builds it from the job's output.

    Follows gitlabhq lib/gitlab/ci/ansi2json/converter.rb token by token."""

    _SEQUENCE = re.compile(r"\x1b([@-_])(.*?)([@-~])")
    _CUT = re.compile(r"\x1b(?:[@-_].*?)?$")
    _NEWLINE = re.compile(r"\r*\n")
    _PLAIN = re.compile(r".[^\x1b\r\n]*", re.S)

    def __init__(self):
        self._raw: List[str] = []

    def feed(self, text: str, stream: str = "stdout") -> None:
        _check_stream(stream)
        self._raw.append(text)

    @property
    def saw_color(self) -> bool:
        return self._convert()[1]

    def lines(self) -> List[str]:
        return [row.rstrip() for row in self._convert()[0]]

    def _convert(self) -> Tuple[List[str], bool]:
        rows, line, color = [], "", False
        # The converter scans the trace line by line (Ruby each_line: split after "\n").
        for piece in re.findall(r"[^\n]*\n|[^\n]+", "".join(self._raw)):
            pos = 0
            while pos < len(piece):
                match = self._SEQUENCE.match(piece, pos)
                if match:
                    # Only ESC[...m (colour) is kept; every other sequence is stripped.
                    color = color or (match.group(1) == "[" and match.group(3) == "m")
                    pos = match.end()
                    continue
                if self._CUT.match(piece, pos):
                    break  # an unfinished sequence ends the scan of this line
                match = self._NEWLINE.match(piece, pos)
                if match:
                    if line:  # flush_current_line skips empty lines
                        rows.append(line)
                    line, pos = "", match.end()
                elif piece[pos] == "\r":
                    line, pos = "", pos + 1  # a lone "\r" drops the line so far
                else:
                    match = self._PLAIN.match(piece, pos)
                    line, pos = line + match.group(0), match.end()  # "\b" stays as text
        if line:
            rows.append(line)
        return rows, color


_FACTORIES = {
    "vt": lambda columns, **kw: VT(columns, **kw),
    "pycharm": lambda columns, **kw: PyCharm(**kw),
    "conhost-437": lambda columns, **kw: LegacyConhost(columns, codepage=437, **kw),
    "conhost-936": lambda columns, **kw: LegacyConhost(columns, codepage=936, **kw),
    "log": lambda columns, **kw: LogReader(**kw),
    "gitlab": lambda columns, **kw: GitLabLog(**kw),
}
MODELS = ("vt", "pycharm", "conhost-437", "conhost-936", "log", "gitlab")


def screen(name: str, columns: int = 80, **kw) -> Console:
    """A fresh model by name (see MODELS); ``columns`` matters for grid models only."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError("unknown console model %r; known: %s" % (name, ", ".join(MODELS)))
    return factory(columns, **kw)


def render(model: Union[str, Console], chunks: Iterable[Chunk], **kw) -> Console:
    """Feed ``chunks`` (str or (stream, text)) to a model or a model name; return it."""
    if isinstance(model, str):
        model = screen(model, **kw)
    return model.feed_all(chunks)
