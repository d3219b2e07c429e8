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

    One document shared by stdout and stderr; no wrapping. Follows JetBrains/intellij-community
    AnsiStreamingLexer.java (what is colour, what is dropped, what waits for the next write),
    ConsoleViewImpl.kt (\\r\\n made \\n within a write) and TokenBuffer.java: a \\r ending a
    write waits; a \\n starting the next write makes the pair one line break, anything else
    erases the line, and so does the window's flush every 200 ms (``flush()``; ``lines()``
    shows the window after it)."""

    _TOKEN = re.compile(r"(%s)|\x1b=|\r\n|[^\x1b\r\n\b]+|." % _CSI, re.S)

    def __init__(self):
        self.saw_color = False
        self._done: List[str] = []
        self._line = ""
        self._held = {"stdout": "", "stderr": ""}
        self._trailing_cr = False

    def feed(self, text: str, stream: str = "stdout") -> None:
        _check_stream(stream)
        text = self._held[stream] + text
        cut = _CSI_UNFINISHED.search(text)
        self._held[stream] = text[cut.start():] if cut else ""
        if cut:
            text = text[:cut.start()]
        if not text:
            return
        if self._trailing_cr:
            self._trailing_cr = False
            if text.startswith("\n"):
                text = text[1:]
                self._end_line()
            else:
                self._line = ""
        if text.endswith("\r"):
            text, self._trailing_cr = text[:-1], True
        for match in self._TOKEN.finditer(text):
            token = match.group(0)
            if match.group(1):
                # SGR is shown as colour; every other CSI sequence is dropped.
                self.saw_color = self.saw_color or token.endswith("m")
            elif token == "\x1b=":
                pass  # DECKPAM: dropped too
            elif token in ("\n", "\r\n"):  # "\r\n" becomes "\n"
                self._end_line()
            elif token == "\r":
                self._line = ""  # erases the whole current line
            elif token == "\b":
                self._line = self._line[:-1]  # deletes; never crosses a line start
            else:
                self._line += token  # any other ESC stays in the document as text

    def _end_line(self) -> None:
        self._done.append(self._line)
        self._line = ""

    def flush(self) -> None:
        """The window's periodic flush: a \\r still waiting erases its line."""
        if self._trailing_cr:
            self._trailing_cr, self._line = False, ""

    def _shown_line(self) -> str:
        return "" if self._trailing_cr else self._line

    @property
    def document(self) -> str:
        """The document's raw text (colours removed), as after the next flush."""
        return "\n".join(self._done + [self._shown_line()])

    def lines(self) -> List[str]:
        line = self._shown_line()
        rows = self._done + ([line] if line else [])
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


class IDLE(LogReader):
    """IDLE's shell (CPython Lib/idlelib/run.py StdOutputFile, idle.rst): both streams in one
    window, and no control character interpreted: \\r, \\b and ESC are shown as they are."""

    def __init__(self):
        super().__init__(STREAMS)


# A control token of Thonny's shell: CSI, BEL, BS, CR or OSC (src: thonny/thonny shell.py,
# TERMINAL_CONTROL_REGEX_STR).
_THONNY_CONTROL = re.compile(r"(\x1b\[[0-?]*[ -/]*[@-~]|[\a\b\r]|\x1b\].+?(?:\a|\x1b\\))")


class Thonny(Console):
    """Thonny's shell in its default tty mode (src: thonny/thonny shell.py _apply_io_event).

    Output is appended at the end; \\r and \\b only move an overwrite position back along
    the last line (never past its start), so later text overwrites without clearing, and a
    \\n in that text is appended at the end of the line, after what was not overwritten.
    ESC[nD and ESC[nC move that position; every other CSI is dropped (SGR gives colour on
    stdout only)."""

    def __init__(self):
        self.saw_color = False
        self._done: List[str] = []
        self._line = ""
        self._offset = 0  # < 0: where the next text overwrites, counted from the line's end

    def feed(self, text: str, stream: str = "stdout") -> None:
        _check_stream(stream)
        for part in _THONNY_CONTROL.split(text):
            if not part:
                continue
            if _THONNY_CONTROL.fullmatch(part):
                self._control(part, stream)
            else:
                self._text(part)

    def _control(self, token: str, stream: str) -> None:
        if token == "\b":
            self._offset = max(self._offset - 1, -len(self._line))
        elif token == "\r":
            self._offset = -len(self._line)
        elif token.startswith("\x1b[") and token[-1] in "CD":
            numbers = re.findall(r"\d+", token)
            if len(numbers) == 1:
                delta = int(numbers[0]) * (-1 if token.endswith("D") else 1)
                self._offset = max(self._offset + delta, -len(self._line))
        elif token.endswith("m") and stream == "stdout":
            self.saw_color = True

    def _text(self, data: str) -> None:
        if self._offset < 0:
            length = min(len(data), -self._offset)
            if 0 <= data.find("\n") < length:
                length = data.find("\n")
            start = len(self._line) + self._offset
            self._line = self._line[:start] + data[:length] + self._line[start + length:]
            data = data[length:]
            self._offset = 0 if "\n" in data else self._offset + length
        elif self._offset > 0:
            self._line += " " * self._offset
            self._offset = 0
        *complete, self._line = (self._line + data).split("\n")
        self._done.extend(complete)

    def lines(self) -> List[str]:
        rows = self._done + ([self._line] if self._line else [])
        return [row.rstrip() for row in rows]


def fix_carriage_return(text: str) -> str:
    """What a notebook's output area keeps of a stream's text (src: jupyterlab/jupyterlab
    outputarea model.ts removeOverwrittenChars, and microsoft/vscode notebookCommon.ts
    compressOutputItemStreams, which follows it): a character before \\b goes with it, then
    \\r\\n is a line break, and text after \\r overwrites the line from its start without
    clearing it, escape codes counted as characters. As there, a \\r followed by "$" is left
    alone; unlike there, "$" in the text is never a replacement pattern."""
    while True:  # a character other than a line break, followed by a backspace
        shorter = re.sub(r"[^\n]\x08", "", text)
        if len(shorter) == len(text):
            break
        text = shorter
    text = re.sub(r"\r+\n", "\n", text)
    breaks = "\n\u2028\u2029"
    while re.search(r"\r[^$]", text):
        first = text.index("\r")
        start = max(text.rfind(mark, 0, first) for mark in breaks) + 1
        after = first
        while after < len(text) and text[after] == "\r":
            after += 1
        end = after
        while end < len(text) and text[end] not in breaks + "\r":
            end += 1
        base, insert = text[start:first], text[after:end]
        text = text[:start] + insert + base[len(insert):] + text[end:]
    return text


_ANY_CSI = re.compile(r"\x1b\[(.*?)([@-~])")


class JupyterOutput(Console):
    """A notebook cell's output area (JupyterLab, and VS Code's notebooks). Consecutive
    writes to one stream are one output, whose text is kept as ``fix_carriage_return``
    leaves it; a write to the other stream starts a new output. SGR gives colour, every
    other CSI is removed when the text is shown (jupyterlab rendermime renderers.ts)."""

    def __init__(self):
        self.saw_color = False
        self._outputs: List[List[str]] = []  # [stream, text]

    def feed(self, text: str, stream: str = "stdout") -> None:
        _check_stream(stream)
        if self._outputs and self._outputs[-1][0] == stream:
            self._outputs[-1][1] = fix_carriage_return(self._outputs[-1][1] + text)
        else:
            self._outputs.append([stream, fix_carriage_return(text)])

    def outputs(self) -> List[str]:
        """Each output's text as the notebook keeps it (what its tests compare)."""
        return [text for _, text in self._outputs]

    def shown(self) -> str:
        """The text of every output, as shown: escape codes gone, a last waiting \\r too."""
        out = []
        for _, text in self._outputs:
            self.saw_color = self.saw_color or any(m.group(2) == "m" for m in _ANY_CSI.finditer(text))
            out.append(_ANY_CSI.sub("", text).rstrip("\r"))
        return "".join(out)

    def lines(self) -> List[str]:
        return _strip_trailing_empty([row.rstrip() for row in self.shown().split("\n")])


# Spyder's console widget: its control characters and escape codes (src: spyder-ide/qtconsole
# ansi_code_processor.py ANSI_OR_SPECIAL_PATTERN).
_QT_SPECIAL = re.compile("(\a|\b|\r(?!\n)|\r?\n)"
                         "|(?:\x01?\x1b(\\[(.*?)([ABCDEFGHJKSTfmnsuhl])|\\](.*?)[\x07\x1b])\x02?)")


class QtConsole(Console):
    """Spyder's IPython console, qtconsole's widget (src: spyder-ide/qtconsole
    console_widget.py _insert_plain_text): text overwrites from the cursor, \\r goes to the
    line's start, \\b left (not past it), \\n to the next line (a new one at the end),
    ESC[K erases to the end of the line, ESC[nA moves up, and ESC[J or ESC[2J, in any form,
    erases the whole console, everything printed before included."""

    def __init__(self):
        self.saw_color = False
        self.wiped = False  # an ESC[J erased the whole console at least once
        self._rows = [""]
        self._row = self._col = 0

    def feed(self, text: str, stream: str = "stdout") -> None:
        _check_stream(stream)
        position = 0
        for match in _QT_SPECIAL.finditer(text):
            self._put(text[position:match.start()])
            position = match.end()
            if match.group(1) is not None:
                self._special(match.group(1))
            elif match.group(2).startswith("["):
                self._csi(match.group(3), match.group(4))
        self._put(text[position:])

    def _put(self, data: str) -> None:
        if data:
            line = self._rows[self._row]
            line = line.ljust(self._col)
            self._rows[self._row] = line[:self._col] + data + line[self._col + len(data):]
            self._col += len(data)

    def _special(self, char: str) -> None:
        if char == "\r":
            self._col = 0
        elif char == "\b":
            self._col = max(self._col - 1, 0)
        elif char in ("\n", "\r\n"):
            if self._row == len(self._rows) - 1:
                self._rows.append("")
            self._row, self._col = self._row + 1, 0

    def _csi(self, parameters: str, command: str) -> None:
        numbers = [int(p) for p in parameters.lstrip("?").split(";") if p.isdigit()]
        count = numbers[0] if numbers else 1
        if command == "m":
            self.saw_color = True
        elif command == "J" and (numbers or [0])[0] <= 2:
            self._rows, self._row, self._col, self.wiped = [""], 0, 0, True
        elif command == "K":
            code = (numbers or [0])[0]
            line = self._rows[self._row]
            if code == 0:
                self._rows[self._row] = line[:self._col]
            elif code == 1:
                self._rows[self._row] = " " * min(self._col, len(line)) + line[self._col:]
            elif code == 2:
                self._rows[self._row], self._col = "", 0
        elif command in "AF":
            self._row = max(self._row - count, 0)
            self._col = 0 if command == "F" else min(self._col, len(self._rows[self._row]))
        elif command == "B":
            self._row = min(self._row + count, len(self._rows) - 1)
            self._col = min(self._col, len(self._rows[self._row]))

    @property
    def document(self) -> str:
        return "\n".join(self._rows)

    def lines(self) -> List[str]:
        return _strip_trailing_empty([row.rstrip() for row in self._rows])


class DebugConsole(Console):
    """VS Code's Debug Console (launch.json "console": "internalConsole"; src: microsoft/vscode
    replModel.ts, debugANSIHandling.ts): text gathered until \\n, \\r and \\b shown as
    characters, SGR as colour, other CSI hidden, ESC[2J clears, and a line equal to the one
    before it is shown once, with a count."""

    def __init__(self):
        self.saw_color = False
        self._rows: List[Tuple[str, int]] = []
        self._line = ""

    def feed(self, text: str, stream: str = "stdout") -> None:
        _check_stream(stream)
        for match in re.finditer(r"%s|\n|[^\x1b\n]+|\x1b" % _CSI, text):
            token = match.group(0)
            if token == "\n":
                if self._rows and self._rows[-1][0] == self._line:
                    self._rows[-1] = (self._line, self._rows[-1][1] + 1)
                else:
                    self._rows.append((self._line, 1))
                self._line = ""
            elif token.startswith("\x1b["):
                self.saw_color = self.saw_color or token.endswith("m")
                if token == "\x1b[2J":
                    self._rows, self._line = [], ""
            else:
                self._line += token

    def counts(self) -> List[Tuple[str, int]]:
        return list(self._rows)

    def lines(self) -> List[str]:
        return [row for row, _ in self._rows] + ([self._line] if self._line else [])


_FACTORIES = {
    "vt": lambda columns, **kw: VT(columns, **kw),
    "pycharm": lambda columns, **kw: PyCharm(**kw),
    "conhost-437": lambda columns, **kw: LegacyConhost(columns, codepage=437, **kw),
    "conhost-936": lambda columns, **kw: LegacyConhost(columns, codepage=936, **kw),
    "log": lambda columns, **kw: LogReader(**kw),
    "gitlab": lambda columns, **kw: GitLabLog(**kw),
    "idle": lambda columns, **kw: IDLE(**kw),
    "thonny": lambda columns, **kw: Thonny(**kw),
    "jupyter": lambda columns, **kw: JupyterOutput(**kw),
    "qtconsole": lambda columns, **kw: QtConsole(**kw),
    "vscode-debug": lambda columns, **kw: DebugConsole(**kw),
}
MODELS = ("vt", "pycharm", "conhost-437", "conhost-936", "log", "gitlab", "idle", "thonny", "jupyter",
          "qtconsole", "vscode-debug")


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
