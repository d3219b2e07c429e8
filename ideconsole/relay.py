"""The relay: a small process that is the only writer to the real console while capture runs.

Descriptors 1 and 2 of the training process point at a pseudo terminal (a terminal) or at
pipes (PyCharm's run window, a log) read here; its bar operations come over a control pipe
(see `protocol`). Every writer's lines go above the status area, another program's live
progress line shows as part of it, and a program that needs the terminal (a pager, curses,
an editor, a password prompt) gets it whole: the area is hidden and its bytes pass as they
are until it hands the terminal back. The relay outlives its writers.
"""
import codecs
import io
import json
import os
import re
import select
import selectors
import signal
import sys
import time
from typing import Dict, List, Optional

from . import _compat, faults, protocol
from .detect import Profile

PROMPT_DELAY = 0.1  # seconds an unfinished line of plain text waits before it shows as it is
PROMPT_LIMIT = 4096  # characters: a longer unfinished line is no question
READ_SIZE = 1 << 16  # bytes gathered from a channel before they are presented
SETTLE_SECONDS = 0.5  # at most, for the training process's last bytes after its end
HELD_LIMIT = 1 << 20  # characters of other writers held while a prompt is shown
MODES_EVERY = 0.05  # seconds between looks at the terminals' modes
KEY_WAIT = 0.03  # seconds a key may sit unread on the real terminal before it goes to the pty
READER_EVERY = 0.25  # seconds between looks at who reads the pty (Linux)
RESIZE_AGAIN = 0.05  # seconds after a resize until the foreground job is told again
SEPARATOR = " \u00b7 "  # between the bar and another program's live line on a one-line console

# A line of text and colours only is passed on as written; anything else is what a terminal
# would finally show of it (clean.Cleaner).
_SIMPLE = re.compile(r"(?:[^\x00-\x1f\x7f-\x9f]|\t|\x1b\[[0-9;:]*[mK])*\r?\Z")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_ALTERNATE = re.compile(rb"\x1b\[\?(?:1049|1047|47)([hl])")  # the alternate screen, on and off
_REDRAWS = re.compile(rb"\r(?!\n)|\x08")  # in a line: it redraws itself (a lone "\r", a backspace)
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# anything but text, colours and line ends
_UNPLAIN = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]|\x1b(?!\[[0-9;:]*[mK])")
_CLEARS = re.compile(rb"\x1b\[[23]?J|\x1bc")  # a screen clear (`clear`): passed as it is


class Line:
    """One writer's current line: its committed lines come out of `feed`, the unfinished rest
    waits. Plain text is kept as written (a question being asked); a line that redraws (`\\r`,
    `\\b`, cursor codes) is played on a Cleaner, the one `python -m ideconsole clean` uses, as
    it comes, so what it shows now is known at any moment."""

    LIMIT = 1 << 16

    def __init__(self):
        self._raw = ""  # the unfinished line as written, while it is plain text
        self._cleaner = None  # the line once it redraws: a clean.Cleaner

    @property
    def open(self) -> bool:
        return self._raw != "" or self._cleaner is not None

    @property
    def prompt(self) -> bool:
        """Short unfinished text and colours only: what a question looks like."""
        return bool(self._raw) and len(self._raw) <= PROMPT_LIMIT and _SIMPLE.match(self._raw) is not None

    @property
    def live(self) -> str:
        """What a line that redraws (another program's progress bar) shows now; "" otherwise."""
        return self._cleaner.unfinished() if self._cleaner is not None else ""

    def feed(self, text: str) -> str:
        out = []  # type: List[str]
        start = 0
        if self.open:  # the end of the line already begun
            newline = text.find("\n")
            if newline < 0:
                self._add(text, out)
                return "".join(out)
            self._add(text[:newline], out)
            out.append(self._commit())
            start = newline + 1
        last = text.rfind("\n")
        if last >= start:
            block = text[start:last + 1]
            if _CONTROL.search(block, 0, len(block) - 1) is None:
                out.append(block)  # plain lines: as they are
            elif "\x1b" not in block:  # lines that redraw (and plain ones): what they finally show
                from .clean import Cleaner

                out.extend(Cleaner().feed(block))
            else:  # a line of text and colours keeps its colours
                for line in block[:-1].split("\n"):
                    self._add(line, out)
                    out.append(self._commit())
            start = last + 1
        while start < len(text):
            newline = text.find("\n", start)
            if newline < 0:
                self._add(text[start:], out)
                break
            self._add(text[start:newline], out)
            out.append(self._commit())
            start = newline + 1
        return "".join(out)

    def take(self) -> str:
        """The unfinished line, as written (or as shown, once it redraws), forgotten here."""
        text = self._raw if self._cleaner is None else self._cleaner.unfinished()
        self._raw, self._cleaner = "", None
        return text

    def _add(self, piece: str, out: List[str]) -> None:
        if self._cleaner is None:
            if ((_CONTROL.search(piece) is None or _SIMPLE.match(piece) is not None)
                    and not self._raw.endswith("\r") and len(self._raw) + len(piece) <= self.LIMIT):
                self._raw += piece
                return
            from .clean import Cleaner  # only once a line redraws: the relay starts faster

            piece, self._raw, self._cleaner = self._raw + piece, "", Cleaner()
        out.extend(self._cleaner.feed(piece))

    def _commit(self) -> str:
        if self._cleaner is None:
            raw, self._raw = self._raw, ""
            return (raw[:-1] if raw.endswith("\r") else raw) + "\n"
        cleaner, self._cleaner = self._cleaner, None
        return "".join(cleaner.feed("\n"))


class Modes:
    """Who has the terminal: the pseudo terminal's modes (set by a program on it), the real
    terminal's (set by a program that reads it directly), and the alternate screen. With
    `mirror`, a change of either terminal's modes is copied onto the other, so a program
    that sets its modes on one and reads keys from the other (curses reading stdin) works."""

    def __init__(self, pty: Optional[int], real: Optional[int], mirror: bool, start=None):
        """`start`: (the pseudo terminal's modes, the real one's) as they were when capture
        began, so that what a program changed before the first look is told apart."""
        import termios

        self._termios = termios
        self.pty, self.real, self.mirror = pty, real, mirror
        self.alternate = False
        self.pty_taken = False  # a program left canonical mode (or echo) on the pseudo terminal
        self.real_taken = False  # one did on the real terminal
        self._pty_seen, self._real_seen = start or (None, None)  # the modes last seen
        self._real_before = None  # the real terminal's modes before a program on the pty took it

    @property
    def taken(self) -> bool:
        return self.pty_taken or self.real_taken or self.alternate

    def _get(self, fd):
        if fd is None:
            return None
        try:
            return self._termios.tcgetattr(fd)
        except (OSError, self._termios.error):
            return None

    def _cooked(self, modes) -> bool:
        lflag = modes[3]
        return bool(lflag & self._termios.ICANON) and bool(lflag & self._termios.ECHO)

    def _set(self, fd, modes) -> None:
        try:
            self._termios.tcsetattr(fd, self._termios.TCSANOW, modes)
        except (OSError, self._termios.error):
            pass

    def look(self, foreground: bool) -> None:
        """Read both terminals' modes. A program that takes the pseudo terminal has its modes
        copied onto the real one, which gets its own back when it lets go; a program that takes
        the real terminal has its output modes copied onto the pseudo terminal. Only while the
        real terminal is the foreground job's: never behind the shell's back (a stopped job, one
        in the background). The first look only notes what is there."""
        pty = self._get(self.pty)
        real = self._get(self.real) if foreground else None
        first = self._pty_seen is None  # nothing to compare with: only noted
        if pty is not None and pty != self._pty_seen:
            self._pty_seen = pty
            was, self.pty_taken = self.pty_taken, not self._cooked(pty)
            if self.mirror and real is not None and not first:
                if self.pty_taken:
                    if self._real_before is None:
                        self._real_before = real
                    self._set(self.real, pty[:4] + real[4:6] + pty[6:])
                elif was:
                    self.restore()
                real = self._get(self.real)
                self._real_seen = real
        if real is not None and real != self._real_seen:
            first_real = self._real_seen is None
            self._real_seen = real
            self.real_taken = not self._cooked(real) and self._real_before is None
            if self.mirror and pty is not None and not first_real:  # its output as the program asked
                self._set(self.pty, pty[:1] + real[1:2] + pty[2:])
                self._pty_seen = self._get(self.pty)

    def see(self, data: bytes) -> None:
        """Follow the alternate screen in what a program writes."""
        if b"\x1b[?" in data:
            switches = _ALTERNATE.findall(data)
            if switches:
                self.alternate = switches[-1] == b"h"

    def restore(self) -> None:
        """The real terminal's modes as they were before a program on the pty took it."""
        if self._real_before is not None and self.real is not None:
            self._set(self.real, self._real_before)
            self._real_before = None


class Relay:
    """Reads the byte channels (descriptor -> "stdout"/"stderr") and the control pipe until
    every writer is gone, and presents it all on `screen` (a `Screen` on the real streams).

    The training process writes a marker into the `ordered` channel (its stdout's) right after
    each control message; a message is handled where its marker is, so its place among the
    bytes of that channel is exact. `back` is where the answers go (`protocol.ACK`, ...).
    `terminal` is the pseudo terminal's master; `real` the real terminal, when the relay is not
    its owner (capture started inside the training process): its modes are mirrored then, and
    `keyboard` keys no one reads go to a program on the pty that waits for them.
    """

    def __init__(self, screen, control: int, channels: Dict[int, str], ordered: int, marker: bytes,
                 back: Optional[int] = None, terminal: Optional[int] = None, real: Optional[int] = None,
                 keyboard: Optional[int] = None, encoding: str = "utf-8", clock=time.monotonic,
                 start_modes=None, pty_device: Optional[int] = None):
        self.screen = screen
        self._control = control  # type: Optional[int]
        self._channels = dict(channels)
        self._ordered = ordered  # type: Optional[int]
        self._marker = marker
        self._back = back
        self._tail = b""  # the end of the ordered channel's bytes, perhaps the start of a marker
        self._terminal = terminal
        self._real = real
        self._keyboard = keyboard
        self._clock = clock
        self._log = not screen.redraws
        self._decoders = {fd: codecs.getincrementaldecoder(encoding)("surrogateescape") for fd in channels}
        self._encoding = encoding
        # A writer is (stream, whether it is the training process's own unbuffered text): a line
        # print() has begun never takes in another writer's line written meanwhile.
        self._lines = {(name, own): Line() for name in ("stdout", "stderr") for own in (False, True)}
        self._since = {}  # type: Dict[tuple, float]  # writer -> when its unfinished line began
        self._bar = None  # type: Optional[List[str]]  # the training process's status area
        self._shown_live = ()  # other writers' live lines shown with it
        self._passing = None  # type: Optional[str]  # the stream whose prompt is shown as it is
        self._held = []  # type: List[tuple]  # other writers' text while a prompt is shown
        self._held_size = 0
        self._deferred = []  # type: List[tuple]  # the training process's lines while a program has the terminal
        self._log_held = {}  # type: Dict[str, bytes]  # a log's line that redraws, until it ends
        self._log_binary = set()  # channels that carried bytes that are no text (gzip, tar)
        self._buffer = bytearray()  # control messages read but not handled yet
        self._size = None
        self._modes = None  # type: Optional[Modes]
        if terminal is not None:
            try:
                self._modes = Modes(terminal, real, mirror=real is not None, start=start_modes)
            except ImportError:
                pass
        self._handed = False  # a program has the terminal: its bytes pass as they are
        self._pty_device = pty_device  # the pseudo terminal's device number, where known
        self._reader = (0.0, None)  # (until when, whether a program reads the pty itself)
        self._key_seen = 0  # keys waiting on the real terminal at the last look
        self._next_look = 0.0
        self.broken = False  # the real stdout's reader went away
        if sys.platform.startswith("linux"):
            self._selector = selectors.PollSelector()
        else:  # macOS's poll() does not report on terminals
            self._selector = selectors.SelectSelector()
        for fd in [control] + list(channels):
            os.set_blocking(fd, False)
            self._selector.register(fd, selectors.EVENT_READ)

    def watch(self, fd: int, handler) -> None:
        """Call `handler(fd)` when `fd` is readable (the script's end, its owner's)."""
        self._selector.register(fd, selectors.EVENT_READ, handler)

    def unwatch(self, fd: int) -> None:
        try:
            self._selector.unregister(fd)
        except (KeyError, ValueError):
            pass

    def settle(self) -> None:
        """Present everything the channels and the control pipe hold now (the training process
        has ended: what it wrote is all there)."""
        deadline = self._clock() + SETTLE_SECONDS  # a child that never stops writing
        while self._clock() < deadline:
            fds = [fd for fd in list(self._channels) + [self._control] if fd is not None]
            if not fds:
                break
            ready = select.select(fds, [], [], 0)[0]
            progress = False
            for fd in ready:
                if fd == self._control:
                    self._read_control()
                    progress = True
                elif fd in self._channels:
                    progress = self._read_channel(fd) or progress
            if not progress:
                break

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> None:
        self.follow_size()
        while self._channels or self._control is not None:
            for key, _ in self._selector.select(self._timeout()):
                if key.data is not None:
                    key.data(key.fd)
                elif key.fd == self._control:
                    self._read_control()
                elif key.fd in self._channels:
                    self._read_channel(key.fd)
            self._look()
            self._show_prompts()
        self._end()

    def follow_size(self, *_) -> None:
        """Give the pseudo terminal the real terminal's size (at start, on SIGWINCH and before
        each redraw), so the training process and its children read the real one."""
        if self._terminal is None:
            return
        try:
            import fcntl
            import termios

            size = fcntl.ioctl(1, termios.TIOCGWINSZ, b"\0" * 8)
            if size != self._size:
                fcntl.ioctl(self._terminal, termios.TIOCSWINSZ, size)
                before, self._size = self._size, size
                if before is not None and self._real is not None and hasattr(signal, "setitimer"):
                    # whoever read the size on the real terminal's SIGWINCH (vim, curses, a
                    # script's own handler) may have read the pty's old one: they are told
                    # again once the pty has the new size, a moment later, so that the two
                    # signals neither nest nor merge (a burst of resizes: once, after the last)
                    signal.setitimer(signal.ITIMER_REAL, RESIZE_AGAIN)
        except OSError:
            pass

    def tell_again(self, *_) -> None:
        """SIGALRM after a resize: the real terminal's foreground job gets SIGWINCH again (the
        relay may be in that group itself: it finds the size already followed)."""
        try:
            if self._real is not None and self._foreground():
                os.killpg(os.tcgetpgrp(self._real), signal.SIGWINCH)
        except OSError:
            pass

    def _timeout(self) -> Optional[float]:
        waits = []
        if self._since and self._passing is None:
            waits.append(min(self._since.values()) + PROMPT_DELAY)
        if self._modes is not None:
            waits.append(self._next_look)
        if not waits:
            return None
        return max(min(waits) - self._clock(), 0.0)

    def _read(self, fd: int) -> Optional[bytes]:
        """What `fd` holds now: b"" when nothing, None at its end (it is closed then). A pty
        hands out a few kB a read: what is there is gathered, so the bar is redrawn once."""
        chunks = []
        size = 0
        while size < READ_SIZE:
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError:  # EIO: the pty's last writer is gone
                data = b""
            if not data:
                if chunks:
                    break  # the end is seen on the next read
                self._close(fd)
                return None
            chunks.append(data)
            size += len(data)
        return b"".join(chunks)

    def _close(self, fd: int) -> None:
        try:
            self._selector.unregister(fd)
        except (KeyError, ValueError):
            pass
        try:
            os.close(fd)
        except OSError:
            pass

    def _read_channel(self, fd: int) -> bool:
        """Read what `fd` holds; False when it held nothing."""
        data = self._read(fd)
        if data == b"":
            return False
        name = self._channels[fd]
        if data is None:
            del self._channels[fd]
            data = b""
        if fd != self._ordered:
            self._bytes(fd, name, data, data == b"" and fd not in self._channels)
            return True
        pieces = (self._tail + data).split(self._marker)
        self._tail = b""
        for piece in pieces[:-1]:
            if piece:
                self._bytes(fd, name, piece)
            self._next_message()
        last = pieces[-1]
        if fd not in self._channels:
            self._ordered = None  # no more markers: messages are handled as they come
            self._bytes(fd, name, last, True)
            self._handle_messages()
            return True
        cut = protocol.marker_start(last, self._marker)
        last, self._tail = last[:cut], last[cut:]
        if last:
            self._bytes(fd, name, last)
        return True

    def _bytes(self, fd: int, name: str, data: bytes, final: bool = False) -> None:
        """Bytes of a channel, in the order written. Those that take the terminal (the switch to
        the alternate screen), those written while a program has it, and those that hand it back
        pass as they are."""
        if self._modes is not None:
            handed = self._handed
            self._modes.see(data)
            self._look(force=True, back=False)
            if handed or self._handed:
                self._verbatim(name, data)
                if not self._modes.taken:
                    self._look(force=True)
                return
        if self._log:
            self._log_bytes(name, data, final)
            return
        if _CLEARS.search(data) and not self._handed:  # `clear`: the screen is cleared, the bar comes back
            area = self.screen.hide() if self._bar is not None else None
            self._verbatim(name, data)
            if area is not None:
                self._show()
            return
        if fd == self._terminal and b"\r\n" in data and _adds_returns(self.screen.stream):
            data = data.replace(b"\r\n", b"\n")  # the pty's onlcr: the real terminal adds its own
        while not final and data and self._ready(fd, name):
            last = data.rfind(b"\n") + 1
            if not last or not _plain(data[:last], self._log):
                break
            try:
                self.screen.put_bytes(name, data[:last])
            except Exception:  # a broken console: keep reading, so no writer ever blocks
                faults.swallowed("the relay's lines above the bar")
            data = data[last:]
        if not data and not final:
            return
        if not final and self._ready(fd, name) is False:  # a begun line ends first, then whole lines
            first = data.find(b"\n") + 1
            if 0 < first < len(data):
                self._bytes(fd, name, data[:first])
                self._bytes(fd, name, data[first:])
                return
        text = self._decoders[fd].decode(data, final)
        if fd == self._terminal:
            text = text.replace("\r\n", "\n")  # the pty's onlcr; the real terminal adds its own
        if text:
            self._foreign(name, text)

    def _log_bytes(self, name: str, data: bytes, final: bool) -> None:
        """A log gets the bytes as they are (a CSV's "\r\n", binary data), except a line that
        redraws itself (another program's progress bar: a "\r" inside it, a "\b"): that one is
        held until it ends, and written as the line it finally makes."""
        if name in self._log_binary or _binary(data):
            self._log_binary.add(name)  # no text: every byte of it as it is, from now on
            self._log_flush()
            self._log_out(name, data)
            return
        held = self._log_held.get(name, b"") + data
        out = []
        start = 0
        newline = held.find(b"\n")
        while newline >= 0:
            out.append(_resolved(held[start:newline + 1]))
            start = newline + 1
            newline = held.find(b"\n", start)
        rest = held[start:]
        if final:
            out.append(_resolved(rest))
            rest = b""
        elif not _REDRAWS.search(rest.rstrip(b"\r")):
            cut = len(rest) - (rest.endswith(b"\r"))  # a "\r" may be the start of "\r\n"
            out.append(rest[:cut])
            rest = rest[cut:]
        self._log_held[name] = rest
        self._log_out(name, b"".join(out))

    def _log_out(self, name: str, data: bytes) -> None:
        if data:
            try:
                self.screen.put_bytes(name, data)
            except Exception:  # a broken file: keep reading, so no writer ever blocks
                faults.swallowed("the relay's lines in the log")

    def _log_flush(self) -> None:
        """Lines another writer left unfinished in a log go out (resolved) before ideconsole's own."""
        for name, rest in list(self._log_held.items()):
            if rest:
                self._log_held[name] = b""
                self._log_out(name, _resolved(rest))

    def _ready(self, fd: int, name: str) -> Optional[bool]:
        """Whether whole plain lines of this channel may pass as the bytes they are now, nothing
        of anyone's being held back (most of what passes); False when only a begun line of its
        stands in the way, None for anything else."""
        if self._passing is not None or self._held or self._decoders[fd].getstate()[0]:
            return None
        return not (self._lines[name, False].open or self._lines[name, True].open)

    def _verbatim(self, name: str, data: bytes) -> None:
        if not data or self.broken:
            return
        stream = self.screen.stream if name == "stdout" else self.screen.stderr
        try:
            stream.flush()
            _write_all(stream.fileno(), data)
        except OSError:
            pass
        self.screen.at_line_start = data.endswith((b"\n", b"\r"))

    def _read_control(self) -> None:
        data = self._read(self._control)
        if data is None:
            self._control = None
            # The training process is gone (or exec'd another program): what it wrote comes
            # first, then the messages whose markers it never wrote, then its bar stays as a
            # line, and what a child that lives on writes follows as it is written.
            deadline = self._clock() + SETTLE_SECONDS
            while self._channels and self._clock() < deadline:
                ready = self._selector.select(0.02)
                if not [key for key, _ in ready if key.fd in self._channels and self._read_channel(key.fd)]:
                    break
            self._handle_messages()
            self._gone()
            return
        self._buffer += data
        if self._ordered is None:
            self._handle_messages()

    def _gone(self) -> None:
        """The training process's bar stays as a line; the newest text of other writers goes
        on below it."""
        if self._bar is None:
            return
        unfinished = [(writer[0], line.take()) for writer, line in self._lines.items() if line.open]
        self._since.clear()
        self._handle(protocol.KEEP, "")
        for name, text in unfinished:
            self._put(name, text)

    def _next_message(self) -> None:
        """A marker: its message was written before it, so it is in the control pipe."""
        message = protocol.pop(self._buffer)
        while message is None and self._control is not None:
            try:
                ready = select.select([self._control], [], [], 10.0)[0]
            except (OSError, ValueError):
                ready = [self._control]
            if not ready:
                return  # a marker with no message: nothing to do
            data = self._read(self._control)
            if data is None:
                self._control = None
            else:
                self._buffer += data
            message = protocol.pop(self._buffer)
        if message is not None:
            self._drain_others()
            self._look(force=True)  # a program that had the terminal may have let go meanwhile
            self._handle(*message)

    def _drain_others(self) -> None:
        """Bytes on the other channel (stderr's pipe) that arrived before a message go first:
        most likely they were written before it. Bounded for a writer that never stops."""
        for _ in range(16):
            if not [fd for fd in list(self._channels) if fd != self._ordered and self._read_channel(fd)]:
                return

    def _handle_messages(self) -> None:
        message = protocol.pop(self._buffer)
        while message is not None:
            self._handle(*message)
            message = protocol.pop(self._buffer)

    # -- what the training process asks for ------------------------------------------------

    def _handle(self, kind: bytes, text: str) -> None:
        if self._log and kind not in (protocol.OWN_STDOUT, protocol.OWN_STDERR):
            self._log_flush()
        if kind == protocol.SYNC:  # the training process is about to end or exec
            self._drain_others()
            if self._bar is None:
                for writer, line in self._lines.items():
                    if line.open:
                        self._put(writer[0], line.take())
                self._since.clear()
            self._answer(protocol.ACK)
            return
        if kind == protocol.OWN_STDOUT or kind == protocol.OWN_STDERR:
            self._foreign("stdout" if kind == protocol.OWN_STDOUT else "stderr", text, own=True)
            return
        if self._handed:
            self._deferred.append((kind, text))
            if kind == protocol.AREA:
                self._bar = text.split("\n")
            elif kind in (protocol.COMMIT, protocol.KEEP, protocol.CLEAR):
                self._bar = None
            return
        screen = self.screen
        if kind == protocol.AREA:
            self._bar = text.split("\n")
            self.follow_size()
            if self._passing is not None:  # the training process goes on: the prompt was answered
                self._stop_passing()
            else:
                self._show()
        elif kind in (protocol.COMMIT, protocol.KEEP):
            self._end_lines(commit=self._bar is not None)
            if kind == protocol.KEEP and self._bar is not None and not screen.up:
                self._show()  # a prompt had hidden it
            self._bar = None
            self._shown_live = ()
            _quietly(screen.commit, text if kind == protocol.COMMIT else None)
        elif kind == protocol.CLEAR:
            self._end_lines(commit=False)
            self._bar = None
            self._shown_live = ()
            _quietly(screen.erase)
        elif kind == protocol.TEXT:
            _quietly(screen.say, text)

    def watch_reader(self, fd: int) -> None:
        """A pipe's reader going away shows on its write end (POLLERR): the writers are told at
        once, not at the relay's next write."""
        try:
            import stat

            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                return
        except OSError:
            return

        def gone(fd: int) -> None:  # (watched for reading, a write end reports only POLLERR)
            self.unwatch(fd)
            self.reader_gone()

        self.watch(fd, gone)

    def show_unfinished(self) -> None:
        """What writers left unfinished is shown as it is now (the script stops: Ctrl-Z, its
        terminal's "^Z" echo), before the shell takes the terminal."""
        self.settle()
        for writer, line in self._lines.items():
            if line.open:
                self._put(writer[0], line.take())
        self._since.clear()

    def reader_gone(self) -> None:
        """The real stdout's reader went away (`| head`): stdout's channel closes (stderr's with
        it where both went there), so every writer meets the closed pipe, as it would have."""
        if self.broken:
            return
        self.broken = True
        same = self.screen.shared and self.screen.stderr is not None and _same_pipe(self.screen)
        for fd, name in list(self._channels.items()):
            if name == "stdout" or same:
                del self._channels[fd]
                self._close(fd)
        if self._ordered not in self._channels:
            self._ordered = None  # no more markers: messages are handled as they come
        self._answer(protocol.BROKEN)

    def _answer(self, answer: bytes) -> None:
        if self._back is None:
            return
        try:
            os.write(self._back, answer)
        except OSError:
            _close(self._back)
            self._back = None

    def _show(self) -> None:
        """The training process's area, with other writers' live lines, unless a prompt or a
        program that has the terminal keeps it hidden."""
        if self._bar is None or self._passing is not None or self._handed:
            return
        live = self._live() if self.screen.redraws else ()
        self._shown_live = live
        area = self._bar + list(live)
        if live and not self.screen.stacks:
            area = [SEPARATOR.join(area)]
        _quietly(self.screen.show, area if len(area) > 1 else area[0])

    # -- everyone else's text ----------------------------------------------------------------

    def _foreign(self, name: str, text: str, own: bool = False) -> None:
        if self._passing is not None:
            if name != self._passing:
                self._hold(name, text, own)
                return
            newline = text.find("\n")
            if newline < 0:
                self._put(name, text)
                return
            self._put(name, text[:newline + 1])
            self._stop_passing()
            text = text[newline + 1:]
            if not text:
                return
        writer = (name, own)
        if self._bar is None and not self._log:  # nothing to protect: as written, at once...
            begun = self._lines[name, True]
            if not own or (not begun.open and self.screen.unfinished()) or _CONTROL.search(text):
                if own and begun.open:
                    text = begun.take() + text
                    self._since.pop(writer, None)
                self._put(name, text)
                return
            # ...but a line print() has begun (unbuffered) lets other writers' lines go first
            # until it ends, is flushed or has waited PROMPT_DELAY, as a buffered stdout would
            done = begun.feed(text)
            if done:
                self._put(name, done)
            if begun.open:
                self._since.setdefault(writer, self._clock())
            else:
                self._since.pop(writer, None)
            return
        if own and not self._lines[writer].open and self._lines[name, False].open:
            writer = (name, False)  # as on a terminal: print() goes on the line another writer began
        line = self._lines[writer]
        lines = line.feed(text)
        if lines:
            self._put(name, lines)
        if line.prompt:
            self._since.setdefault(writer, self._clock())
        else:
            self._since.pop(writer, None)
        if self.screen.redraws and self._bar is not None and self._live() != self._shown_live:
            self._show()

    def _live(self) -> tuple:
        """What other programs' progress lines show now (a pip download, a nested script's bar)."""
        return tuple(line.live for line in self._lines.values() if line.live)

    def _put(self, name: str, text: str) -> None:
        try:
            self.screen.put(name, text)
        except Exception:  # a broken console: keep reading, so no writer ever blocks
            faults.swallowed("the relay's lines above the bar")

    def _show_prompts(self) -> None:
        """An unfinished line of plain text that waited PROMPT_DELAY is shown as it is, the bar
        hidden, until its writer ends it: `input()`, pdb, a question from a child process."""
        if self._passing is not None or not self._since:
            return
        now = self._clock()
        for writer, since in list(self._since.items()):
            if now - since >= PROMPT_DELAY:
                del self._since[writer]
                if self._bar is None and not self._log:
                    self._put(writer[0], self._lines[writer].take())  # a begun line of print()'s
                    continue
                _quietly(self.screen.erase)
                self._put(writer[0], self._lines[writer].take())
                self._passing = writer[0]
                return

    def _hold(self, name: str, text: str, own: bool) -> None:
        self._held.append((name, text, own))
        self._held_size += len(text)
        if self._held_size > HELD_LIMIT:  # a prompt left waiting: its line ends here
            self._stop_passing()

    def _stop_passing(self) -> None:
        """The bar comes back (on a line of its own: the screen knows where the prompt left
        the cursor), then what other writers wrote meanwhile."""
        self._passing = None
        self._show()
        self._release()

    def _release(self) -> None:
        held, self._held, self._held_size = self._held, [], 0
        for name, text, own in held:
            self._foreign(name, text, own)

    def _end_lines(self, commit: bool) -> None:
        """Unfinished lines end before the training process's own line: with a line break when
        they go above a bar (`commit`), as they are otherwise."""
        if self._passing is not None:
            if commit:
                self._put(self._passing, "\n")
            self._passing = None
        self._release()
        for writer, line in self._lines.items():
            if line.open:
                text = line.take()
                self._put(writer[0], text + "\n" if commit else text)
        self._since.clear()

    # -- a program that needs the terminal ------------------------------------------------------

    def _look(self, force: bool = False, back: bool = True) -> None:
        """Whether a program has taken the terminal (or, unless not `back`, handed it back); in
        the training process's own terminal, keys nobody reads go to a program on the pty."""
        modes = self._modes
        if modes is None:
            return
        now = self._clock()
        if not force and now < self._next_look:
            return
        self._next_look = now + MODES_EVERY
        modes.look(self._foreground())
        if modes.taken and not self._handed:
            self._hand_over()
        elif back and self._handed and not modes.taken:
            self._hand_back()
        if self._keyboard is not None and modes.pty_taken and modes.mirror:
            self._forward_keys()

    def _foreground(self) -> bool:
        if self._real is None:
            return False
        try:
            return os.tcgetpgrp(self._real) == os.getpgrp()
        except OSError:
            return False

    def _hand_over(self) -> None:
        """A program has the terminal: what others left unfinished is shown as it is, the
        area is hidden, and from now on bytes pass as they are. A program that took the real
        terminal itself may have written there already (getpass's prompt after the bar): the
        bar's last drawing is left as it is then, as it would be without ideconsole."""
        for writer, line in self._lines.items():
            if line.open:
                self._put(writer[0], line.take())
        self._since.clear()
        self._passing = None
        self._release()
        modes = self._modes
        if modes is not None and modes.real_taken and not (modes.pty_taken or modes.alternate):
            _quietly(self.screen.leave)
        else:
            _quietly(self.screen.erase)
        self._handed = True

    def _group(self) -> Optional[int]:
        try:
            return os.tcgetpgrp(self._real) if self._real is not None else None
        except OSError:
            return None

    def _hand_back(self) -> None:
        self._handed = False
        self._key_seen = 0
        if self._modes is not None:
            self._modes.restore()
        deferred, self._deferred = self._deferred, []
        bar, self._bar = self._bar, None
        for kind, text in deferred:
            if kind not in (protocol.AREA,):
                self._handle(kind, text)
        self._bar = bar
        self._show()

    def _forward_keys(self) -> None:
        """Keys for a program that reads the pseudo terminal itself (a pager reads the terminal
        behind descriptor 2): where Linux shows who has it open, only while such a program does
        (curses on stdin reads the real terminal: its keys are never taken); elsewhere, keys that
        waited unread on the real terminal for KEY_WAIT."""
        now = self._clock()
        if now >= self._reader[0]:  # looked again a few times a second: /proc is no free read
            self._reader = (now + READER_EVERY, _compat.opens_terminal(
                self._pty_device, exclude=(os.getpid(), os.getppid()), group=self._group()))
        reader = self._reader[1]
        if reader is False:
            self._key_seen = 0
            return
        if reader:
            self._key_seen = 1  # no wait: the reader is known
        try:
            import fcntl
            import struct
            import termios

            waiting = struct.unpack("i", fcntl.ioctl(self._keyboard, termios.FIONREAD, b"\0" * 4))[0]
        except (OSError, ImportError):
            return
        if waiting and self._key_seen and self._foreground():
            try:
                os.set_blocking(self._keyboard, False)
                data = os.read(self._keyboard, waiting)
                os.set_blocking(self._keyboard, True)
            except OSError:
                data = b""
            if data:
                _write_all(self._terminal, data)
            waiting = 0
        self._key_seen = waiting
        if waiting:
            self._next_look = min(self._next_look, self._clock() + KEY_WAIT)

    def _end(self) -> None:
        """Every writer is gone (the training process too, however it ended): the bar's last
        state stays as a line, and what is left is written."""
        if self._handed:
            self._hand_back()
        self._log_flush()
        if self._bar is not None:
            self._handle(protocol.KEEP, "")
        else:
            self._end_lines(commit=False)
        if self._modes is not None:
            self._modes.restore()


class Raw:
    """A text stream onto a terminal that `run` may have put in raw mode, where a line ends
    with "\r\n" (the terminal adds no carriage return then)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            import termios

            if not termios.tcgetattr(self._stream.fileno())[1] & termios.OPOST:
                text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        except Exception:  # not a terminal after all: as it is
            pass
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _adds_returns(stream) -> bool:
    """Whether the terminal behind `stream` turns "\n" into "\r\n" itself (not in raw mode)."""
    try:
        import termios

        modes = termios.tcgetattr(stream.fileno())
        return bool(modes[1] & termios.OPOST and modes[1] & termios.ONLCR)
    except Exception:  # no terminal: bytes are written as they are
        return False


def _same_pipe(screen) -> bool:
    """Whether the real stdout and stderr are one pipe (`2>&1 | head`)."""
    try:
        first, second = os.fstat(screen.stream.fileno()), os.fstat(screen.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return bool(first.st_ino) and (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _binary(data: bytes) -> bool:
    """Bytes that are no text: a NUL, or no UTF-8 (a character cut at the end is fine)."""
    if b"\0" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.end < len(data) or len(data) - error.start > 3
    return False


def _resolved(data: bytes) -> bytes:
    """A line of a log as it is, unless it is text that redraws itself (a "\r" inside it, a
    backspace): then the line it finally makes (its "\n" kept). Bytes that are no text (a NUL,
    no UTF-8) are never touched."""
    end = len(data) - (2 if data.endswith(b"\r\n") else 1 if data.endswith(b"\n") else 0)
    if not _REDRAWS.search(data, 0, end) or b"\0" in data:
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    from .clean import Cleaner

    cleaner = Cleaner()
    text = data.decode("utf-8", "surrogateescape")
    shown = "".join(cleaner.feed(text) + cleaner.close())
    return shown.encode("utf-8", "surrogateescape")


def _plain(data: bytes, log: bool) -> bool:
    """Lines of text and colours only, "\r\n" ends included (not in a log: "\r" is cleaned there)."""
    if _CONTROL_BYTES.search(data) is not None and _UNPLAIN.search(data) is not None:
        return False
    return b"\r" not in data or not log and data.count(b"\r") == data.count(b"\r\n")


def _quietly(action, *args) -> None:
    try:
        action(*args)
    except Exception:  # a broken console: keep reading, so no writer ever blocks
        faults.swallowed("the relay's " + getattr(action, "__name__", "drawing"))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


# -- the relay process ------------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    from .screen import Screen

    argv = sys.argv[1:] if argv is None else argv
    options = dict(zip(argv[::2], argv[1::2]))
    # Ctrl-C, Ctrl-Z, a hang-up and `timeout`'s SIGTERM reach the whole process group: the
    # training process and its children decide; the relay goes on until its writers are gone.
    inherited = {}
    for name in ("SIGINT", "SIGTSTP", "SIGQUIT", "SIGTERM", "SIGHUP", "SIGTTOU", "SIGTTIN"):
        if hasattr(signal, name):
            inherited[name] = signal.signal(getattr(signal, name), signal.SIG_IGN)
    encoding = options["--encoding"]
    profile = Profile(**dict(json.loads(options["--profile"]), reasons=()))
    streams = [io.TextIOWrapper(io.BufferedWriter(io.FileIO(fd, "w", closefd=False)), encoding=encoding,
                                errors="surrogateescape", write_through=True) for fd in (1, 2)]
    if "--spawn" in options and "--terminal" in options:
        streams = [Raw(stream) for stream in streams]
    relay = None

    def lost(stream, error) -> None:
        if isinstance(error, BrokenPipeError) and relay is not None:
            relay.reader_gone()

    screen = Screen(streams[0], profile=profile, stderr=streams[1], lost=lost)
    script = None
    terminal = int(options["--terminal"]) if "--terminal" in options else None
    if "--spawn" in options:
        from .owner import Script

        marker = protocol.new_marker()
        script = Script(options, inherited, options["--profile"], marker)
        control, back, channels, ordered = script.control, script.back, script.channels, script.ordered
    else:
        marker = options["--marker"].encode("latin-1")
        control, back = int(options["--control"]), int(options["--back"])
        channels = {terminal: "stdout"} if terminal is not None else {}
        for name in ("stdout", "stderr"):
            if "--" + name in options:
                channels[int(options["--" + name])] = name
        ordered = terminal if terminal is not None else int(options["--stdout"])
    # Started inside the training process: the real terminal is not the relay's to own, its
    # modes are mirrored and keys no one reads go to a program on the pty.
    mirror = terminal is not None and "--mirror" in options
    real = 1 if mirror and os.isatty(1) else None
    keyboard = 0 if real is not None and os.isatty(0) else None
    start_modes = None
    if "--start-modes" in options and "--real-modes" in options:
        start_modes = (protocol.modes_from_text(options["--start-modes"]),
                       protocol.modes_from_text(options["--real-modes"]))
    pty_device = int(options["--pty-device"]) if "--pty-device" in options else None
    relay = Relay(screen, control, channels, ordered, marker, back=back, terminal=terminal, real=real,
                  keyboard=keyboard, encoding=encoding, start_modes=start_modes, pty_device=pty_device)
    if not os.isatty(1) and sys.platform.startswith("linux"):
        relay.watch_reader(1)
    if script is not None:
        script.attach(relay)
    elif terminal is not None and hasattr(signal, "SIGWINCH"):
        signal.signal(signal.SIGWINCH, relay.follow_size)
        signal.siginterrupt(signal.SIGWINCH, False)
        signal.signal(signal.SIGALRM, relay.tell_again)
        signal.siginterrupt(signal.SIGALRM, False)
    relay.run()
    if script is not None:
        script.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
