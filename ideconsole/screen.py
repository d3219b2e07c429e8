"""The presenter: the one place that writes to a console's real streams.

A `Screen` shows a status area (one line, or a VT terminal's rows), replaces it, ends it, and
keeps everything else written meanwhile intact on lines of its own above it. It runs in the
training process (logs, Windows, capture off) or in the relay that owns the descriptors, and
draws the same way in both. Output problems end in a fallback, never an exception for the
caller of ideconsole's own drawing.
"""
import os
from typing import Callable, List, Optional, TextIO, Union

from . import _compat, faults
from .cells import cell_width, truncate
from .detect import Profile, usable_width
from .strategies import strategy_for

Area = Union[str, List[str]]  # one line, or the rows of a VT terminal's status area


class Screen:
    """Draws on `stream` (stdout) and `stderr` as `profile` says. `lost(stream)` is called
    once ideconsole's own output to `stream` failed (a closed stream, a reader gone)."""

    def __init__(self, stream: Optional[TextIO], stderr: Optional[TextIO], profile: Profile,
                 lost: Optional[Callable[[object, BaseException], None]] = None):
        self.stream = stream
        self.stderr = stderr
        self.profile = profile
        self._strategy = strategy_for(profile.mode, profile.erase, profile.resize)
        self._out = self._color_stream(stream)   # where stdout text goes
        self._lost = lost
        self._shown = 0             # cells of the area now on screen (a tuple: each row's, for several)
        self._drawn_columns = None  # the terminal's columns when it was drawn
        self._area = None           # type: Optional[Area]  # what is up, to redraw it after other output
        self._pending = {}          # stream name -> text after its last newline, held back
        self.at_line_start = True   # on stdout's screen or file, as far as it passed through here
        self.shared = self.redraws or _compat.same_file(stream, stderr)  # one screen for both streams
        self.broken = stream is None

    @property
    def redraws(self) -> bool:
        return self.profile.mode != "lines"

    @property
    def stacks(self) -> bool:
        """Whether the area can be several rows (a VT terminal), or is one line."""
        return getattr(self._strategy, "stacks", False)

    @property
    def up(self) -> bool:
        """A status area is on screen."""
        return bool(self._shown)

    # -- the status area ----------------------------------------------------------------

    def show(self, area: Area) -> None:
        """Draw `area` in place of what is up (prepared text, fitted here to the width of the
        moment). In a log, a line of its own."""
        if self.broken:
            return
        lead = self._line_break()
        self._emit(self._out, lead + self._draw(area))
        self.at_line_start = not self.redraws or not self._shown  # an empty line leaves column 0

    def commit(self, text: Optional[str]) -> None:
        """The area ends: as `text` (never cut: a narrow console wraps it), or as it is on
        screen when None. Text held back from other writers goes first."""
        if self.broken:
            self._shown, self._area = 0, None
            return
        self._flush_pending()
        if text is not None:
            cells = self._cells(text)
            if self._shown:
                out = self._strategy.commit(self._shown, text, cells, self._resized())
            else:
                out = text + "\n"
            if self._wraps_at_once(cells):
                out = out[:-1]  # the cursor is already on the next row
            self._emit(self._out, self._line_break() + out)
        elif self._shown:
            self._emit(self._out, "\n")  # the area on screen stays as it is
        self.at_line_start = self.at_line_start or text is not None or bool(self._shown)
        self._shown, self._area = 0, None

    def erase(self) -> None:
        """Take the area off the screen without keeping it."""
        self._flush_pending()
        if self._shown and not self.broken:
            self._emit(self._out, self._strategy.erase(self._shown, self._resized()))
            self.at_line_start = True
        self._shown, self._area = 0, None

    def hide(self) -> Optional[Area]:
        """Take the area off the screen for a while; what was up, to show again."""
        area = self._area
        self.erase()
        return area

    # -- permanent text -------------------------------------------------------------------

    def say(self, text: str, name: str = "stdout", area: Optional[Area] = None) -> None:
        """ideconsole's own permanent text (an epoch's header, a finished bar's line): it goes
        above the area (`area`, when given, is what is up from then on), and a line someone
        left unfinished is ended before it."""
        if not text:
            return
        if area is not None and self._shown:
            self._area = area
        self._flush_others()
        if self._shown:
            self._flush_pending()
        else:
            text = self._line_break() + text
        self._write(name, text, own=True)

    def put(self, name: str, text: str) -> None:
        """Text written by anyone else to `name` ("stdout" or "stderr"): complete lines above
        the area, the unfinished rest held until its line ends (or the area does). Characters
        the stream cannot encode are written as backslash escapes; after a broken pipe the text
        is discarded; other errors of the real stream reach the writer."""
        if text:
            self._write(name, text, own=False)

    def put_bytes(self, name: str, data: bytes) -> None:
        """Whole lines of another writer's, as the bytes it wrote (the relay's way for plain
        text): above the area, if one is up."""
        target = self._out if name == "stdout" else self.stderr
        if self.broken and target is self._out:
            return  # its reader went away: every writer is told so (see relay)
        if self._pending.get(name):
            self.put(name, data.decode(_compat.encoding(target), "replace"))
            return
        shown = self._shown
        if shown:
            erase = self._strategy.erase(self._shown, self._resized())
            self._emit(self._out, erase)
            self._shown = 0
        try:
            target.flush()
            _write_all(target.fileno(), data)
        except OSError as error:
            if isinstance(error, BrokenPipeError) and target is self._out:
                self.broken = True
                _compat.discard_output(self.stream)
                if self._lost is not None:
                    self._lost(target, error)
        if name == "stdout" or self.shared:
            self.at_line_start = data.endswith(b"\n")
        if shown and not self.broken:  # (in a log nothing is shown: nothing to draw again)
            self._emit(self._out, self._draw(self._area))

    def leave(self) -> None:
        """Stop drawing the area without erasing it: someone else wrote on its line."""
        self._shown, self._area = 0, None
        self._pending.clear()
        self.at_line_start = False

    def end_line(self) -> None:
        """What is on the cursor's line (the relay's last drawing of the area) stays as a line."""
        self._emit(self._out, "\n")
        self.at_line_start = True

    def unfinished(self) -> bool:
        """Whether stdout's screen or file holds a line someone left unfinished."""
        return not self.at_line_start

    # -- plumbing --------------------------------------------------------------------------

    def _write(self, name: str, text: str, own: bool) -> None:
        target = self._out if name == "stdout" else self.stderr
        if not self._shown:
            self._emit(target, text, own)
            if name == "stdout" or self.shared:
                self.at_line_start = text.endswith("\n")
            return
        held = self._pending.get(name, "") + text
        cut = held.rfind("\n") + 1
        self._pending[name] = held[cut:]
        if cut:
            self._above(target, held[:cut], own)

    def _above(self, target, lines: str, own: bool = False) -> None:
        erase = self._strategy.erase(self._shown, self._resized())
        if self.profile.erase == "none" and lines.startswith(("\n", "\r\n")):
            # PyCharm reads the erase's "\r" and an empty line's "\n" as one "\r\n", which
            # erases nothing: a space after the "\r" erases the bar, and the row stays blank
            lines = " " + lines
        if target is not self._out and self.profile.erase == "none":
            # PyCharm: one document for both streams, read from two pipes. A lone "\r" on
            # stdout could be read after the stderr text; in front of it, it cannot.
            self._emit(target, erase + lines, own)
        else:
            self._emit(self._out, erase)
            self._emit(target, lines, own)
        self._shown = 0
        self._emit(self._out, self._draw(self._area))

    def _flush_others(self) -> None:
        """Text that others left in the streams' buffers (stderr is block-buffered in a pipe
        before Python 3.9) belongs above what we are about to write."""
        for stream in (self.stderr, self.stream):
            try:
                stream.flush()
            except Exception:
                pass

    def forget(self) -> None:
        """In a forked child: nothing of the parent's area is on this process's screen."""
        self._shown, self._area = 0, None
        self._pending.clear()

    def _flush_pending(self) -> None:
        for name, text in list(self._pending.items()):
            if text:
                self._above(self._out if name == "stdout" else self.stderr, text + "\n")
        self._pending.clear()

    def _line_break(self) -> str:
        """A newline to end a line someone left unfinished (`print(..., end="")`), so that
        ours neither glues to it nor overwrites it."""
        return "" if self.at_line_start or self._shown else "\n"

    def columns(self) -> Optional[int]:
        """The terminal's columns now, where they are re-read (a window can be resized)."""
        if self.profile.live_width:
            return _compat.terminal_width(self.stream)
        return None

    def width_at(self, columns: Optional[int]) -> Optional[int]:
        """Cells a line may take with the terminal `columns` wide (None: not re-read)."""
        return usable_width(self.profile.console, columns) if columns else self.profile.width

    def _resized(self, columns: Optional[int] = None) -> Optional[int]:
        """The terminal's columns if they changed since the area on screen was drawn: a
        terminal that reflows has rewrapped it since."""
        columns = columns or self.columns()
        if self._shown and columns and self._drawn_columns and columns != self._drawn_columns:
            return columns
        return None

    def _draw(self, area: Area) -> str:
        """What replaces the area on screen with `area`, cut to the width of the moment."""
        columns = self.columns()
        width = self.width_at(columns)
        if isinstance(area, str):
            area, cells = self._fit(area, width)
        else:
            fitted = [self._fit(line, width) for line in area]
            area, cells = [line for line, _ in fitted], tuple(count for _, count in fitted)
        out, self._shown = self._strategy.draw(self._shown, area, cells, self._resized(columns))
        self._area, self._drawn_columns = area, columns
        return out

    def _cells(self, text: str) -> int:
        if self.profile.console == "jupyter":
            # a notebook's output area overwrites on "\r" character by character, escape
            # codes counted (src: jupyterlab, vscode fixCarriageReturn): pad by characters
            return len(text)
        return cell_width(text, self.profile.ambiguous_wide)

    def _fit(self, text: str, width: Optional[int]):
        """`text` cut to `width` where the console redraws, and its cells."""
        cells = self._cells(text)
        if width and self.redraws and cells > width:
            text = truncate(text, width, self.profile.ambiguous_wide)
            cells = self._cells(text)
        return text, cells

    def _wraps_at_once(self, cells: int) -> bool:
        """Whether a line of `cells` ends exactly on the last column of the legacy console,
        which moves to the next row as soon as it is written there."""
        width = self.width_at(self.columns())
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

    def _emit(self, stream, text: str, own: bool = True) -> None:
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
                escape = "replace" if own else "backslashreplace"
                stream.write(text.encode(encoding, escape).decode(encoding, "replace"))
            stream.flush()
        except Exception as error:
            if own:
                faults.swallowed("writing to the console")
            ours = stream is self._out
            if ours:
                self.broken = True
            if ours and self._lost is not None:
                self._lost(stream, error)
            if not own:  # someone else's text meets the closed pipe or file as it would have
                raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
