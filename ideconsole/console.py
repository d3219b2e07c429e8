"""The presenter: the one place that writes to the real streams.

A `Console` shows one transient status line, replaces it, makes it permanent, and
keeps everything else that is printed meanwhile (`print`, `logging`, warnings, other
threads, stderr) intact on lines of its own above the status line. One process-wide
lock orders all of it. Output problems (a closed or broken stream, an encoding that
cannot show a character) end in a fallback, never in an exception for the caller.
Where a relay owns the real streams (see `session`), the Console there presents, and this
one hands it its operations.
"""
import itertools
import os
import sys
import weakref
from typing import Callable, Hashable, Optional, TextIO

from . import _compat, area, session
from .cells import cell_width, strip_ansi, truncate
from .detect import Profile, detect, usable_width
from .session import StreamProxy, real_stream
from .strategies import strategy_for

__all__ = ["Console", "StreamProxy", "get_console", "real_stream"]
ASCII_FALLBACK = str.maketrans({"\u2501": "=", "\u2588": "#", "\u2026": "...", "\u00b7": "."})
# id(real stream) -> its shared Console (see get_console): held as long as something
# uses it; for the life of the process for its own stdout and stderr, and the latest other
_consoles = weakref.WeakValueDictionary()
_kept_consoles = {}  # "stdout", "stderr" or "latest" -> Console
_since = itertools.count()  # orders bars of equal depth in a status area


class Console:
    """Draws a transient status line on `stream` (default: `sys.stdout`).

    `console`, `mode`, `interval` and `other_ranks` override detection, like the
    environment variables IDECONSOLE_CONSOLE, IDECONSOLE_MODE, IDECONSOLE_INTERVAL and
    IDECONSOLE_OTHER_RANKS; `profile` replaces it. `capture=False` (IDECONSOLE_CAPTURE=0)
    keeps descriptors 1 and 2 as they are (see `session`). In a `with` block it is closed at
    the end: what is in progress ends and the streams are put back.
    """

    def __init__(self, stream: Optional[TextIO] = None, console: Optional[str] = None,
                 mode: Optional[str] = None, interval: Optional[float] = None,
                 profile: Optional[Profile] = None, env=None, stderr: Optional[TextIO] = None,
                 capture: Optional[bool] = None, other_ranks: Optional[str] = None):
        self.stream = real_stream(sys.stdout if stream is None else stream)
        self.stderr = real_stream(sys.stderr if stderr is None else stderr)
        env = os.environ if env is None else env
        self.profile = profile or detect(_compat.probe(self.stream), env, console, mode, interval,
                                         other_ranks)
        self._silent = self.profile.role == "quiet"   # a rank other than 0 keeps quiet
        self._tag = "[rank {}] ".format(self.profile.rank) if self.profile.role == "log" else ""
        self._strategy = strategy_for(self.profile.mode, self.profile.erase, self.profile.resize)
        self._out = self._color_stream(self.stream)   # where our stdout text goes
        self._err = self.stderr                      # where stderr text goes
        self.capture = capture     # None: as IDECONSOLE_CAPTURE says, on by default
        self._tty = {"stdout": _compat.isatty(self.stream), "stderr": _compat.isatty(self.stderr)}
        self._shown = 0            # cells of the status line now on screen (of each row, for several)
        self._drawn_columns = None  # the terminal's columns when it was drawn
        self._line = None          # the status line's text (or rows), to redraw it after other output
        self._rows = {}            # bar -> area.Row, while several bars may be up (not in a log)
        self._active = False       # a status line is in progress
        self._pending = {}         # stream name -> text after its last newline, held back
        self._at_line_start = True  # on stdout's screen or file, as far as it passed through here
        self._shared = self.redraws or _compat.same_file(self.stream, self.stderr)  # one screen for both
        self._broken = self.stream is None
        self._saved = None         # what activation replaced, to put it back
        self._final_line = None    # see attach(): a weak reference to it
        self._retired = None       # the proxies last put back (see _deactivate)
        self._relay_bar = False    # a status line is up in the relay that presents this console
        for stream in (self.stream, self.stderr):
            _compat.escape_unencodable(stream)
        session.track(self)

    # -- what callers use -------------------------------------------------------------

    @property
    def interval(self) -> float:
        return self.profile.interval

    @property
    def redraws(self) -> bool:
        """False when every status update becomes a line of its own (logs, CI)."""
        return self.profile.mode != "lines"

    def width(self, row: Hashable = None, depth: Optional[int] = None) -> Optional[int]:
        """Cells a status line may take now; None when the console does not wrap. With other
        bars up on a console that shows one line, what is left for bar `row`'s line."""
        width = self.full_width()
        if self._rows and self.redraws and not self._stacks():
            with session.LOCK:
                return area.room(self._rows, row, width, depth, self._cells)
        return width

    def full_width(self) -> Optional[int]:
        """Cells a line may take on this console now, whatever other bars are up."""
        return self._width_at(self._columns())

    def _width_at(self, columns: Optional[int]) -> Optional[int]:
        """Cells a line may take with the terminal `columns` wide (None: not re-read)."""
        return usable_width(self.profile.console, columns) if columns else self.profile.width

    def status(self, text: str, row: Hashable = None, brief: Optional[str] = None,
               depth: Optional[int] = None) -> None:
        """Show `text` as the status line, replacing the previous one.

        Several bars may be up at once (nested loops): each names its `row` (None: the
        main one, Keras's) and `depth` (0 outermost; default: inside those already up). A VT
        terminal shows a row per bar; other consoles one line, the outer bars as their
        `brief` (default: the first word of their line); a log, each update as a line."""
        with session.LOCK:
            if self._broken or self._silent:
                return
            relayed = self._relay(start=not self._active) is not None
            # the relay prepares its own; a list is the rows a relayed process composed
            text = str(text) if relayed else self._prepared(text)
            if self.redraws and not isinstance(text, list):
                known = self._rows.get(row)
                if known is None:
                    depth, since = area.depth_for(self._rows, depth), next(_since)
                else:
                    depth, since = known.depth, known.since
                if brief is not None:
                    brief = str(brief) if relayed else self._prepare(brief)
                self._rows[row] = area.Row(text, brief, depth, since)
                if len(self._rows) > 1:
                    text = self._composition()
            if relayed:
                if self._relay_area(text):
                    return
                text = self._prepared(text)  # the relay is gone: drawn here from now on
            lead = self._line_break()
            if not self._active:
                self._activate()
            self._emit(self._out, lead + self._draw(text))
            self._at_line_start = not self.redraws or not self._shown  # an empty line leaves column 0

    def finish(self, text: Optional[str] = None, row: Hashable = None) -> None:
        """Make the status line permanent, as `text` if given (never cut to the width),
        and move to a new line. Text held back from other streams is written first. With
        other bars up, bar `row`'s line goes above them and they stay."""
        with session.LOCK:
            self._settle()
            if row is not None and not self.redraws:
                # A log: another bar's final line is one more line; Keras's bar, if one is
                # in progress, is not ended by it.
                if text is not None and not self._silent:
                    self._put("stdout", self._prepare(text) + "\n", foreign=False)
                if self._active and self._final_line is None:
                    self._deactivate()
                return
            if self.redraws and (self._rows or row is not None) and set(self._rows) != {row}:
                ended = self._rows.pop(row, None)
                if ended is None and (row is not None or text is None):
                    return  # never shown here, or already ended by an interruption
                final = text if text is not None else ended.text
                if not self._silent and self._relayed(session.WRITE, str(final) + "\n"):
                    if self._rows:
                        self._relay_area(self._composition())
                    return
                if self._rows:
                    self._line = self._composition()
                self._put("stdout", (self._prepare(text) if text is not None else ended.text) + "\n",
                          foreign=False)
                return
            self._rows.clear()
            if not self._silent and self._relayed(session.FINISH_AS_IS if text is None else session.FINISH,
                                                  "" if text is None else str(text)):
                return
            if not self._active:
                if text is not None and not self._silent:
                    final = self._prepare(text)
                    end = "" if self._wraps_at_once(self._cells(final)) else "\n"
                    self._put("stdout", final + end, foreign=False)
                    self._at_line_start = True
                return
            self._flush_pending()
            if text is not None:
                final = self._prepare(text)
                cells = self._cells(final)
                if self._shown:
                    out = self._strategy.commit(self._shown, final, cells, self._resized())
                else:
                    out = final + "\n"
                if self._wraps_at_once(cells):
                    out = out[:-1]  # the cursor is already on the next row
                self._emit(self._out, self._line_break() + out)
            elif self._shown:
                self._emit(self._out, "\n")  # the line on screen stays as it is
            self._at_line_start = self._at_line_start or text is not None or bool(self._shown)
            self._shown, self._line = 0, None
            self._deactivate()

    def clear(self, row: Hashable = None) -> None:
        """Remove the status line (with several bars up, bar `row`'s) from the screen
        without keeping it."""
        with session.LOCK:
            if row is not None and row not in self._rows:
                return  # never shown (in a log nothing transient is), or ended already
            if self._rows and set(self._rows) != {row}:
                if self._rows.pop(row, None) is not None:
                    composition = self._composition()
                    if self._relay_area(composition):
                        return
                    if self._active:
                        self._emit(self._out, self._draw(composition))
                return
            self._rows.clear()
            if self._relayed(session.CLEAR):
                return
            if self._active:
                self._flush_pending()
                if self._shown:
                    self._emit(self._out, self._strategy.erase(self._shown, self._resized()))
                    self._at_line_start = True
                self._shown, self._line = 0, None
                self._deactivate()

    def showing(self, row: Hashable) -> bool:
        """Whether bar `row` is up in the status area."""
        return row in self._rows

    def write(self, text: str) -> None:
        """Permanent text on stdout (an epoch's header); above the status line if one is up.
        What others print from here to the next finish() passes through the console."""
        if self._silent:
            return
        if self._tag:
            text = "".join(self._tag + line for line in text.splitlines(True))
        with session.LOCK:
            if self._relayed(session.WRITE, text, start=not self._active):
                return
            self._put("stdout", text, foreign=False)
            if not self._active and not self._broken:
                self._activate()  # a header: what the script prints until the epoch ends passes here

    def attach(self, final_line: Optional[Callable[[], str]]) -> None:
        """A bar begins. `final_line`: what to write as the last line if the process stops
        before the bar is done (an exception, Ctrl-C, sys.exit): the bar's latest state.
        A bound method is held weakly: once its bar is collected without an end (no done(),
        a caught exception), the next write ends it, leaving its line as it is on screen,
        instead of keeping it pinned under all later output. None detaches."""
        self._final_line = _weak(final_line)
        if final_line is not None:
            session.install_excepthook()
            with session.LOCK:
                self._settle()
                if self._silent or self._broken or self._relay(start=not self._active):
                    return
                if not self._active:
                    self._activate()

    def detach(self, final_line: Callable[[], str]) -> None:
        """Undo attach(final_line), if nothing else was attached since."""
        if self._final_line is not None and self._final_line() == final_line:
            self._final_line = None

    def close(self) -> None:
        """End what is in progress, keeping its latest state as a permanent line (also in
        a log); several bars up each leave theirs, outermost first."""
        final_line, self._final_line = self._final_line and self._final_line(), None
        text = None
        if final_line is not None:
            try:
                text = final_line()
            except Exception:
                pass
        with session.LOCK:
            self._settle()
            rows = area.ordered(self._rows)
            for row in rows if None in rows else rows + [None]:
                self.finish(text if row is None else None, row)

    def __enter__(self) -> "Console":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def isatty(self, name: str = "stdout") -> bool:
        """Whether the real stream is a terminal (also while its descriptor is captured)."""
        return self._tty.get(name, False)

    @property
    def broken(self) -> bool:
        """The stream went away (a closed pipe or file): nothing is drawn on it any more."""
        return self._broken

    @property
    def active(self) -> bool:
        """A status line is in progress here."""
        return self._active

    # -- other output while a status line is up ---------------------------------------

    def foreign(self, name: str, text: str) -> None:
        """Text written by anyone else to `name` ("stdout" or "stderr"). Characters the
        stream cannot encode are written as backslash escapes (`\\u2705`); after a broken
        pipe the text is discarded; other errors of the real stream (a closed file) reach
        the writer, as they would have without ideconsole."""
        self._put(name, text, foreign=True)

    def _put(self, name: str, text: str, foreign: bool) -> None:
        if not text:
            return
        with session.LOCK:
            self._settle()
            if foreign and self._relayed(session.STDOUT if name == "stdout" else session.STDERR, text):
                return
            if not foreign:
                self._flush_others()
                if self._shown:
                    self._flush_pending()  # a line someone left unfinished ends above ours
                else:
                    text = self._line_break() + text
            target = self._out if name == "stdout" else self._err
            if not (self._active and self._shown):
                self._emit(target, text, foreign)
                if name == "stdout" or self._shared:
                    self._at_line_start = text.endswith("\n")
                return
            held = self._pending.get(name, "") + text
            cut = held.rfind("\n") + 1
            self._pending[name] = held[cut:]
            if cut:
                self._above(target, held[:cut], foreign)

    def _above(self, target, lines: str, foreign: bool = True) -> None:
        erase = self._strategy.erase(self._shown, self._resized())
        if self.profile.erase == "none" and lines.startswith(("\n", "\r\n")):
            # PyCharm reads the erase's "\r" and an empty line's "\n" as one "\r\n", which
            # erases nothing: a space after the "\r" erases the bar, and the row stays blank
            lines = " " + lines
        if target is not self._out and self.profile.erase == "none":
            # PyCharm: one document for both streams, read from two pipes. A lone "\r" on
            # stdout could be read after the stderr text; in front of it, it cannot.
            self._emit(target, erase + lines, foreign)
        else:
            self._emit(self._out, erase)
            self._emit(target, lines, foreign)
        self._shown = 0
        self._emit(self._out, self._draw(self._line))

    def _flush_pending(self) -> None:
        for name, text in list(self._pending.items()):
            if text:
                self._above(self._out if name == "stdout" else self._err, text + "\n")
        self._pending.clear()

    # -- plumbing -----------------------------------------------------------------------

    def _line_break(self) -> str:
        """A newline to end a line someone left unfinished (`print(..., end="")`), so that
        ours neither glues to it nor overwrites it."""
        return "" if self._at_line_start or self._shown else "\n"

    def _settle(self) -> None:
        """End the status line of a bar that was collected before its end. Checked here,
        by whoever writes next, rather than in a finalizer: the collector may run in any
        thread, even one holding the lock in the middle of a write."""
        final_line = self._final_line
        if final_line is not None and final_line() is None:
            self._final_line = None
            if self._active or self._relay():
                self.finish()

    def _columns(self) -> Optional[int]:
        """The terminal's columns now, where they are re-read (a window can be resized)."""
        if self.profile.live_width:
            return _compat.terminal_width(self.stream)
        return None

    def _resized(self, columns: Optional[int] = None) -> Optional[int]:
        """The terminal's columns if they changed since the line on screen was drawn: a
        terminal that reflows has rewrapped that line since."""
        columns = columns or self._columns()
        if self._shown and columns and self._drawn_columns and columns != self._drawn_columns:
            return columns
        return None

    def _draw(self, text) -> str:
        """What replaces the line on screen with `text` (or the rows of a list), cut to the
        width of the moment."""
        columns = self._columns()
        width = self._width_at(columns)
        if isinstance(text, str):
            text, cells = self._fit(text, width)
        else:
            fitted = [self._fit(line, width) for line in text]
            text, cells = [line for line, _ in fitted], tuple(count for _, count in fitted)
        out, self._shown = self._strategy.draw(self._shown, text, cells, self._resized(columns))
        self._line, self._drawn_columns = text, columns
        return out

    def _prepare(self, text: str) -> str:
        text = self._tag + str(text).replace("\r", "").replace("\n", " ")
        if self.profile.color == "none":
            text = strip_ansi(text)
        if not self.profile.unicode:
            text = text.translate(ASCII_FALLBACK)
        return _as_shown(text, self.profile.encoding)

    def _cells(self, text: str) -> int:
        return cell_width(text, self.profile.ambiguous_wide)

    def _fit(self, text: str, width: Optional[int]):
        """`text` cut to `width` where the console redraws, and its cells."""
        cells = self._cells(text)
        if width and self.redraws and cells > width:
            text = truncate(text, width, self.profile.ambiguous_wide)
            cells = self._cells(text)
        return text, cells

    def _stacks(self) -> bool:
        return getattr(self._strategy, "stacks", False)

    def _composition(self):
        """What the bars up now show: their rows on a VT terminal (no more than it has),
        else one line."""
        if self._stacks():
            rows = _compat.terminal_rows(self.stream) if len(self._rows) > 1 else None
            return area.stacked(self._rows, min(area.MAX_ROWS, max(rows - 1, 1)) if rows else area.MAX_ROWS)
        line = area.composed(self._rows)
        return line if self.profile.unicode else line.translate(ASCII_FALLBACK)

    def _wraps_at_once(self, cells: int) -> bool:
        """Whether a line of `cells` ends exactly on the last column of the legacy console,
        which moves to the next row as soon as it is written there."""
        width = self.full_width()
        return bool(self.profile.console == "conhost-legacy" and width and cells
                    and cells % (width + 1) == 0)

    def _color_stream(self, stream):
        if self.profile.color != "win32" or stream is None:
            return stream
        try:
            import colorama

            return colorama.AnsiToWin32(stream, convert=True, strip=True).stream
        except Exception:  # no colorama or no console: drop the colours, keep the text
            self.profile = self.profile._replace(color="none")
            return stream

    def _emit(self, stream, text: str, foreign: bool = False) -> None:
        """Write and flush. Our own output never raises; someone else's is written with
        backslash escapes for what the stream cannot encode, is discarded after a broken
        pipe, and raises any other error of the real stream, as it would have without
        ideconsole."""
        if not text or stream is None:
            return
        try:
            try:
                stream.write(text)
            except UnicodeEncodeError:
                encoding = _compat.encoding(stream)
                escape = "backslashreplace" if foreign else "replace"
                stream.write(text.encode(encoding, escape).decode(encoding, "replace"))
            stream.flush()
        except Exception as error:
            ours = stream is self._out
            if ours:
                self._broken = True
                self._deactivate()
            if isinstance(error, BrokenPipeError):
                # The reader went away (`train.py | head`): training goes on, and neither
                # later prints nor Python's flush at exit fail, on the null device.
                broken = self.stream if ours else stream
                # `2>&1 | head`: the other stream writes into the same closed pipe
                for other in (self.stream, self.stderr):
                    if other is not broken and _compat.same_file(other, broken):
                        _compat.discard_output(other)
                _compat.discard_output(broken)
            elif foreign:
                raise

    def _flush_others(self) -> None:
        """Text that others left in the streams' buffers (stderr is block-buffered in a pipe
        before Python 3.9) belongs above what we are about to write."""
        for stream in (self.stderr, self.stream):
            try:
                stream.flush()
            except Exception:
                pass

    def _activate(self) -> None:
        self._active = True
        self._flush_others()
        self._saved = session.take_streams(self)

    def _relay(self, start: bool = False):
        """The relay session that presents this console, if any (see `session`); with
        `start`, one is started where none was tried yet."""
        current = session.current()
        if current is None and start and self.capture is not False:
            current = session.start(self)
        return current if current is not None and current.presents(self) else None

    def _relayed(self, kind: bytes, text: str = "", start: bool = False) -> bool:
        """Hand the operation to the relay, if one presents this console. False: do it here."""
        current = self._relay(start)
        if current is None:
            return False
        try:
            current.link.send(kind, text)
        except OSError:  # the relay was killed: the descriptors go back, and we draw here
            session.lost()
            if self._relay_bar:  # the relay's last drawing of it stays as a line
                self._emit(self._out, "\n")
            self._relay_bar = False
            return False
        self._relay_bar = kind in (session.STATUS, session.ROWS) or self._relay_bar and kind not in (
            session.FINISH, session.FINISH_AS_IS, session.CLEAR)
        return True

    def _relay_area(self, text) -> bool:
        """Hand the status area to the relay: one line, or a VT terminal's rows (a list)."""
        if isinstance(text, list):
            return self._relayed(session.ROWS, "\n".join(text))
        return self._relayed(session.STATUS, text)

    def _prepared(self, text):
        return [self._prepare(line) for line in text] if isinstance(text, list) else self._prepare(text)

    def _deactivate(self) -> None:
        self._active = False
        saved, self._saved = self._saved, None
        if not saved:
            return
        # print() may hold sys.stdout without a reference of its own while it writes, and
        # this can run inside such a write: the proxies outlive it (until the next ones retire)
        self._retired = saved
        session.give_back_streams(saved)

    def _after_fork(self) -> None:
        """In a forked child (a data-loader worker): nothing of the parent's bar is drawn."""
        self._active, self._shown, self._line = False, 0, None
        self._final_line = None
        self._pending.clear()
        self._rows.clear()


def _as_shown(text: str, encoding: str) -> str:
    """`text` with what `encoding` cannot encode as the "?" the console will show, so that
    cells are counted for what is written (a combining accent becomes a one-cell "?")."""
    if encoding.lower().replace("-", "").replace("_", "") == "utf8":
        return text
    try:
        return text.encode(encoding, "replace").decode(encoding, "replace")
    except LookupError:
        return text


def get_console(stream: Optional[TextIO] = None, **options) -> Console:
    """The shared Console of `stream` (default: the current `sys.stdout`), so that the
    epoch header, the progress line and a direct Progbar all draw through one place.
    Options create a new Console for that stream."""
    real = real_stream(sys.stdout if stream is None else stream)
    with session.LOCK:
        console = _consoles.get(id(real))
        if console is None or options or console.stream is not real:
            console = Console(real, **options)
            _consoles[id(real)] = console
            # its state (where the cursor is) lives on between bars; another stream (a
            # redirect_stdout buffer, a file) is not kept once the script has dropped it and
            # drawn elsewhere (kept until then: a print may still be writing to its proxies)
            standard = {id(sys.__stdout__): "stdout", id(sys.__stderr__): "stderr"}
            _kept_consoles[standard.get(id(real), "latest")] = console
        return console


def _weak(function):
    """A weak reference to a bound method (a bar's), a plain reference to anything else."""
    if function is None:
        return None
    if hasattr(function, "__self__") and hasattr(function, "__func__"):
        return weakref.WeakMethod(function)
    return lambda: function
