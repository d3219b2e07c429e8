"""The status area of a stream, as callers see it: bars come and go, each a row, and what is
shown is handed to one presenter: the `Screen` on the real streams here, or, while capture
runs, the relay's (see `capture`), which draws the same way. One process-wide lock orders it
all. Problems of the real streams end in a fallback, never in an exception for the caller.
"""
import itertools
import os
import sys
import weakref
from typing import Callable, Hashable, Optional, TextIO

from . import _compat, area, capture, faults, session
from .cells import cell_width, strip_ansi
from .detect import Profile, detect
from .screen import Screen
from .session import StreamProxy, real_stream

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
    keeps descriptors 1 and 2 as they are (see `capture`). In a `with` block it is closed at
    the end: what is in progress ends and the streams are put back.
    """

    def __init__(self, stream: Optional[TextIO] = None, console: Optional[str] = None,
                 mode: Optional[str] = None, interval: Optional[float] = None,
                 profile: Optional[Profile] = None, env=None, stderr: Optional[TextIO] = None,
                 capture: Optional[bool] = None, other_ranks: Optional[str] = None):
        self.stream = real_stream(sys.stdout if stream is None else stream)
        self.stderr = real_stream(sys.stderr if stderr is None else stderr)
        env = os.environ if env is None else env
        profile = profile or detect(_compat.probe(self.stream), env, console, mode, interval, other_ranks)
        self._silent = profile.role == "quiet"   # a rank other than 0 keeps quiet
        self._tag = "[rank {}] ".format(profile.rank) if profile.role == "log" else ""
        self.capture = capture     # None: as IDECONSOLE_CAPTURE says, on by default
        self._tty = {"stdout": _compat.isatty(self.stream), "stderr": _compat.isatty(self.stderr)}
        self._screen = Screen(self.stream, self.stderr, profile, lost=self._lost)
        self.profile = self._screen.profile  # without colours where colorama is missing
        self._rows = {}            # bar -> area.Row, while several bars may be up (not in a log)
        self._active = False       # a status line is in progress
        self._saved = None         # the proxies activation put in place, to take them back
        self._final_line = None    # see attach(): a weak reference to it
        self._retired = None       # the proxies last put back (see _deactivate)
        self._relayed = None       # the capture this console presented through last
        self._pid = os.getpid()
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
        if self._rows and self.redraws and not self._screen.stacks:
            with session.LOCK:
                return area.room(self._rows, row, width, depth, self._cells)
        return width

    def full_width(self) -> Optional[int]:
        """Cells a line may take on this console now, whatever other bars are up."""
        return self._screen.width_at(self._screen.columns())

    def status(self, text: str, row: Hashable = None, brief: Optional[str] = None,
               depth: Optional[int] = None) -> None:
        """Show `text` as the status line, replacing the previous one.

        Several bars may be up at once (nested loops): each names its `row` (None: the
        main one, Keras's) and `depth` (0 outermost; default: inside those already up). A VT
        terminal shows a row per bar; other consoles one line, the outer bars as their
        `brief` (default: the first word of their line); a log, each update as a line."""
        with session.LOCK:
            if self._screen.broken or self._silent:
                return
            shown = self._prepare(text)
            if self.redraws:
                known = self._rows.get(row)
                if known is None:
                    depth, since = area.depth_for(self._rows, depth), next(_since)
                else:
                    depth, since = known.depth, known.since
                if brief is not None:
                    brief = self._prepare(brief)
                self._rows[row] = area.Row(shown, brief, depth, since)
                if len(self._rows) > 1:
                    shown = self._composition()
            presenter = self._presenter(start=not self._active)
            if not self._active:
                self._activate()
            presenter.show(shown)

    def finish(self, text: Optional[str] = None, row: Hashable = None) -> None:
        """Make the status line permanent, as `text` if given (never cut to the width),
        and move to a new line. Text held back from other streams is written first. With
        other bars up, bar `row`'s line goes above them and they stay."""
        with session.LOCK:
            self._settle()
            presenter = self._presenter()
            if row is not None and not self.redraws:
                # A log: another bar's final line is one more line; Keras's bar, if one is
                # in progress, is not ended by it.
                if text is not None and not self._silent:
                    presenter.say(self._prepare(text) + "\n")
                if self._active and self._final_line is None:
                    self._deactivate()
                return
            if self.redraws and (self._rows or row is not None) and set(self._rows) != {row}:
                ended = self._rows.pop(row, None)
                if ended is None and (row is not None or text is None):
                    return  # never shown here, or already ended by an interruption
                if not self._silent:
                    presenter.say((self._prepare(text) if text is not None else ended.text) + "\n",
                                  area=self._composition() if self._rows else None)
                return
            self._rows.clear()
            if not self._silent and (self._active or text is not None):
                presenter.commit(self._prepare(text) if text is not None else None)
            if self._active:
                self._deactivate()

    def clear(self, row: Hashable = None) -> None:
        """Remove the status line (with several bars up, bar `row`'s) from the screen
        without keeping it."""
        with session.LOCK:
            if row is not None and row not in self._rows:
                return  # never shown (in a log nothing transient is), or ended already
            presenter = self._presenter()
            if self._rows and set(self._rows) != {row}:
                if self._rows.pop(row, None) is not None and self._active:
                    presenter.show(self._composition())
                return
            self._rows.clear()
            if self._active:
                presenter.erase()
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
            presenter = self._presenter(start=not self._active)
            presenter.say(text)
            if not self._active and not self._screen.broken:
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
                if self._silent or self._screen.broken:
                    return
                self._presenter(start=not self._active)
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
                faults.swallowed("Console.close")
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
    def active(self) -> bool:
        """A status line is in progress here."""
        return self._active

    # -- other output while a status line is up ---------------------------------------

    def foreign(self, name: str, text: str) -> None:
        """Text written by anyone else to `name` ("stdout" or "stderr"). Characters the
        stream cannot encode are written as backslash escapes (`\\u2705`); after a broken
        pipe the text is discarded; other errors of the real stream (a closed file) reach
        the writer, as they would have without ideconsole."""
        if not text:
            return
        with session.LOCK:
            self._settle()
            self._presenter().put(name, text)

    def flush(self, name: str = "stdout") -> None:
        """What others wrote to `name` and the presenter holds back is shown now (a prompt)."""
        with session.LOCK:
            presenter = self._presenter()
            if hasattr(presenter, "flush"):
                presenter.flush(name)

    # -- plumbing -----------------------------------------------------------------------

    def _presenter(self, start: bool = False):
        """Who draws: the relay, where capture presents this console (started here with
        `start` where none was tried yet), else this console's own Screen. A relay that went
        away leaves its last drawing of the area on screen: a new line goes under it."""
        if self._pid != os.getpid():  # a forked child where no fork hook ran (Python 3.6)
            self._after_fork()
        current = capture.current()
        if current is None and start and self.capture is not False and not self._silent:
            session.start(self)
            current = capture.current()
        if current is not None and current.presents(self):
            self._relayed = current
            return current
        if self._relayed is not None:
            if self._relayed.up:
                self._screen.end_line()
            self._relayed = None
            if self._active:  # the script's text passes here from now on, all of it
                self._deactivate()
                self._activate()
        return self._screen

    def _settle(self) -> None:
        """End the status line of a bar that was collected before its end. Checked here,
        by whoever writes next, rather than in a finalizer: the collector may run in any
        thread, even one holding the lock in the middle of a write."""
        final_line = self._final_line
        if final_line is not None and final_line() is None:
            self._final_line = None
            if self._active:
                self.finish()

    def _prepare(self, text: str) -> str:
        text = self._tag + str(text).replace("\r", "").replace("\n", " ")
        if self.profile.color == "none":
            text = strip_ansi(text)
        if not self.profile.unicode:
            text = text.translate(ASCII_FALLBACK)
        return _as_shown(text, self.profile.encoding)

    def _cells(self, text: str) -> int:
        return cell_width(text, self.profile.ambiguous_wide)

    def _composition(self):
        """What the bars up now show: their rows on a VT terminal (no more than it has),
        else one line."""
        if self._screen.stacks:
            rows = _compat.terminal_rows(self.stream) if len(self._rows) > 1 else None
            return area.stacked(self._rows, min(area.MAX_ROWS, max(rows - 1, 1)) if rows else area.MAX_ROWS)
        line = area.composed(self._rows)
        return line if self.profile.unicode else line.translate(ASCII_FALLBACK)

    def _activate(self) -> None:
        """A status line is in progress: the script's text passes here from now on. While a
        relay presents, it sees every writer's bytes anyway: only some streams pass here (see
        `_passes_here`)."""
        self._active = True
        self._screen._flush_others()
        if capture.current() is not None and capture.current().presents(self):
            self._saved = session.take_streams(self, handlers=False, only=_passes_here)
        else:
            self._saved = session.take_streams(self)

    def _deactivate(self) -> None:
        self._active = False
        saved, self._saved = self._saved, None
        if not saved:
            return
        # print() may hold sys.stdout without a reference of its own while it writes, and
        # this can run inside such a write: the proxies outlive it (until the next ones retire)
        self._retired = saved
        session.give_back_streams(saved)

    def _lost(self, stream, error) -> None:
        """The real stream failed for ideconsole's own drawing: nothing more is drawn, and the
        script's streams are its own again."""
        self._deactivate()

    def _after_fork(self) -> None:
        """In a forked child (a data-loader worker): nothing of the parent's bar is drawn."""
        self._pid = os.getpid()
        self._active = False
        self._final_line = None
        self._relayed = None
        self._rows.clear()
        self._screen.forget()


def _passes_here(stream) -> bool:
    """While a relay presents: a stream Python writes through unbuffered (PyCharm's), whose
    begun lines are kept apart here, and one that cannot escape what it cannot encode
    (Python 3.6), which is escaped here."""
    return bool(getattr(stream, "write_through", False)) or getattr(stream, "errors", None) == "strict"


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
    Options create a new Console for that stream. For the stdout of a script that
    `python -m ideconsole run` started, the profile is that of the console its relay draws on."""
    real = real_stream(sys.stdout if stream is None else stream)
    with session.LOCK:
        console = _consoles.get(id(real))
        joined = capture.joined_profile() if not options and real is sys.__stdout__ else None
        if (console is None or options or console.stream is not real
                or joined is not None and console.profile[:2] != joined[:2]):
            console = Console(real, profile=joined, **options)
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
