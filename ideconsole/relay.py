"""The relay: a small process that is the only writer to the real console while capture runs.

The training process's descriptors 1 and 2 point at a pseudo terminal (a terminal) or at two
pipes (PyCharm's run window) read here; its own text and bar operations come over a control
pipe. Every writer's lines go above the status line, and the relay outlives its writers.
"""
import codecs
import io
import json
import os
import re
import select
import selectors
import signal
import struct
import subprocess
import sys
import time
from typing import Dict, List, Optional

from .clean import Cleaner
from .detect import Profile
from .session import CLEAR, FINISH, FINISH_AS_IS, ROWS, STATUS, STDERR, STDOUT, WRITE

PROMPT_DELAY = 0.1  # seconds an unfinished line of another writer waits before it shows as it is
PROMPT_LIMIT = 4096  # characters: a longer unfinished line is no question
START_SECONDS = 10.0  # how long the training process waits for the relay to come up
READ_SIZE = 1 << 16  # bytes gathered from a channel before they are presented
SETTLE_SECONDS = 0.5  # at most, for the training process's last bytes after its end
HELD_LIMIT = 1 << 20  # characters of other writers held while a prompt is shown
HEADER = struct.Struct("!cI")  # message kind, payload length; one write() per message
TEXT_STREAMS = {STDOUT: "stdout", STDERR: "stderr"}
TEXT_PIECE = (getattr(select, "PIPE_BUF", 512) - HEADER.size) // 4  # characters: one atomic write

# A line of text and colours only is passed on as written; anything else is what a terminal
# would finally show of it (clean.Cleaner).
_SIMPLE = re.compile(r"(?:[^\x00-\x1f\x7f-\x9f]|\t|\x1b\[[0-9;:]*m)*\r?\Z")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


class Line:
    """One writer's current line: its committed lines come out of `feed`, the unfinished rest
    waits. Redraws (`\\r`, `\\b`, cursor codes) are played by the Cleaner that `python -m
    ideconsole clean` uses; a line that grows past `LIMIT` is kept by the Cleaner alone."""

    LIMIT = 1 << 16

    def __init__(self):
        self._raw = ""  # the unfinished line as written; None once only the Cleaner has it
        self._cleaner = Cleaner()

    @property
    def open(self) -> bool:
        return self._raw != ""

    @property
    def prompt(self) -> bool:
        """Short unfinished text and colours only: what a question looks like. A line that
        redraws (another progress bar) is not one: it waits for its end."""
        return bool(self._raw) and len(self._raw) <= PROMPT_LIMIT and _SIMPLE.match(self._raw) is not None

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
        if last >= start and _CONTROL.search(text, start, last) is None:
            out.append(text[start:last + 1].replace("\r\n", "\n"))  # plain lines: as they are
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
        """The unfinished line as written (or as shown, when it was too long), forgotten here."""
        text = self._raw if self._raw is not None else self._cleaner.unfinished()
        self._raw, self._cleaner = "", Cleaner()
        return text

    def _add(self, piece: str, out: List[str]) -> None:
        if self._raw is None:
            out.extend(self._cleaner.feed(piece))
            return
        self._raw += piece
        if len(self._raw) > self.LIMIT:
            out.extend(self._cleaner.feed(self._raw))
            self._raw = None

    def _commit(self) -> str:
        raw, self._raw = self._raw, ""
        if raw is None:
            return "".join(self._cleaner.feed("\n"))
        if _SIMPLE.match(raw):
            return (raw[:-1] if raw.endswith("\r") else raw) + "\n"
        return "".join(self._cleaner.feed(raw + "\n"))  # a line's end leaves the Cleaner fresh


class Relay:
    """Reads the byte channels (descriptor -> "stdout"/"stderr") and the control pipe until
    every one of them ends, and presents it all on `console` (a `Console` on the real
    streams).

    The training process writes a `marker` to the `ordered` channel (its stdout's) right after
    each control message; a message is handled where its marker is, so its place among the
    bytes of that channel is exact.
    """

    def __init__(self, console, control: int, channels: Dict[int, str], encoding: str,
                 ordered: int, marker: str, terminal: Optional[int] = None, clock=time.monotonic):
        self.console = console
        self._control = control  # type: Optional[int]
        self._channels = dict(channels)
        self._ordered = ordered  # type: Optional[int]
        self._marker = marker
        self._tail = ""  # the end of the ordered channel's text, perhaps the start of a marker
        self._terminal = terminal  # the pty master, whose size follows the real terminal's
        self._clock = clock
        self._decoders = {fd: codecs.getincrementaldecoder(encoding)("surrogateescape")
                          for fd in channels}
        # A writer is (stream, whether it is the training process's own Python-level text): a
        # line print() has begun never takes in a child's line written meanwhile (Python's own
        # buffer would have held the half line back).
        self._lines = {(name, own): Line() for name in ("stdout", "stderr") for own in (False, True)}
        self._since = {}  # type: Dict[tuple, float]  # writer -> when its unfinished line began
        self._bar = None  # the training process's status line (a list: its rows)
        self._passing = None  # type: Optional[str]  # the stream whose prompt is shown as it is
        self._held = []  # type: List[tuple]  # other writers' text while a prompt is shown
        self._held_size = 0
        self._buffer = bytearray()  # control messages read but not handled yet
        self._size = None
        if sys.platform.startswith("linux"):
            self._selector = selectors.PollSelector()
        else:  # macOS's poll() does not report on terminals
            self._selector = selectors.SelectSelector()
        for fd in [control] + list(channels):
            os.set_blocking(fd, False)
            self._selector.register(fd, selectors.EVENT_READ)

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> None:
        self.follow_size()
        while self._selector.get_map():
            for key, _ in self._selector.select(self._timeout()):
                if key.fd == self._control:
                    self._read_control()
                elif key.fd in self._channels:
                    self._read_channel(key.fd)
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
                self._size = size
        except OSError:
            pass

    def _timeout(self) -> Optional[float]:
        if not self._since or self._passing is not None or self._bar is None:
            return None
        return max(min(self._since.values()) + PROMPT_DELAY - self._clock(), 0.0)

    def _read(self, fd: int) -> Optional[bytes]:
        """What `fd` holds now: b"" when nothing, None at its end (it is closed then). A pty
        hands out a few kB a read: what is there is gathered, so the bar is redrawn once."""
        chunks = []
        while sum(map(len, chunks)) < READ_SIZE:
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError:  # EIO: the pty's last writer is gone
                data = b""
            if not data:
                if chunks:
                    break  # the end is seen on the next read
                self._selector.unregister(fd)
                os.close(fd)
                return None
            chunks.append(data)
        return b"".join(chunks)

    def _read_channel(self, fd: int) -> bool:
        """Read what `fd` holds; False when it held nothing."""
        data = self._read(fd)
        if data == b"":
            return False
        name = self._channels[fd]
        text = self._decoders[fd].decode(data or b"", data is None)
        if fd == self._terminal:
            text = text.replace("\r\n", "\n")  # the pty's onlcr; the real terminal adds its own
        if data is None:
            del self._channels[fd]
        if fd != self._ordered:
            if text:
                self._foreign(name, text)
            return True
        pieces = (self._tail + text).split(self._marker)
        self._tail = ""
        for piece in pieces[:-1]:
            if piece:
                self._foreign(name, piece)
            self._next_message()
        last = pieces[-1]
        if data is None:
            self._ordered = None  # no more markers: messages are handled as they come
            self._handle_messages()
        else:
            cut = _marker_start(last, self._marker)
            last, self._tail = last[:cut], last[cut:]
        if last:
            self._foreign(name, last)
        return True

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
            if self._bar is not None:
                unfinished = [(writer[0], line.take()) for writer, line in self._lines.items() if line.open]
                self._since.clear()
                self._handle(FINISH_AS_IS, "")
                for name, text in unfinished:  # the newest text: it goes on below the bar's line
                    _quietly(self.console.foreign, name, text)
            return
        self._buffer += data
        if self._ordered is None:
            self._handle_messages()

    def _next_message(self) -> None:
        """A marker: its message was written before it, so it is in the control pipe."""
        message = self._pop_message()
        while message is None and self._control is not None:
            try:
                ready = select.select([self._control], [], [], START_SECONDS)[0]
            except (OSError, ValueError):
                ready = [self._control]
            if not ready:
                return  # a marker with no message: nothing to do
            data = self._read(self._control)
            if data is None:
                self._control = None
            else:
                self._buffer += data
            message = self._pop_message()
        if message is not None:
            self._drain_others()
            self._handle(*message)

    def _drain_others(self) -> None:
        """Bytes on the other channel (stderr's pipe) that arrived before a message go first:
        most likely they were written before it. Bounded for a writer that never stops."""
        for _ in range(16):
            if not [fd for fd in list(self._channels) if fd != self._ordered and self._read_channel(fd)]:
                return

    def _pop_message(self):
        buffer = self._buffer
        if len(buffer) < HEADER.size:
            return None
        kind, size = HEADER.unpack_from(buffer)
        end = HEADER.size + size
        if len(buffer) < end:
            return None
        text = bytes(buffer[HEADER.size:end]).decode("utf-8", "surrogatepass")
        del buffer[:end]
        return kind, text

    def _handle_messages(self) -> None:
        message = self._pop_message()
        while message is not None:
            self._handle(*message)
            message = self._pop_message()

    # -- what the training process asks for ------------------------------------------------

    def _handle(self, kind: bytes, text: str) -> None:
        console = self.console
        if kind in TEXT_STREAMS:
            self._foreign(TEXT_STREAMS[kind], text, own=True)
        elif kind in (STATUS, ROWS):
            self._bar = text.split("\n") if kind == ROWS else text
            self.follow_size()
            if self._passing is not None:  # the training process goes on: the prompt was answered
                self._stop_passing()
            else:
                _quietly(console.status, self._bar)
        elif kind in (FINISH, FINISH_AS_IS):
            self._end_lines(commit=self._bar is not None)
            if kind == FINISH_AS_IS and self._bar is not None and not console.active:
                _quietly(console.status, self._bar)  # a prompt had hidden it
            self._bar = None
            _quietly(console.finish, text if kind == FINISH else None)
        elif kind == CLEAR:
            self._end_lines(commit=False)
            self._bar = None
            _quietly(console.clear)
        elif kind == WRITE:  # the console ends a line another writer left unfinished first
            _quietly(console.write, text)

    # -- everyone else's text ----------------------------------------------------------------

    def _foreign(self, name: str, text: str, own: bool = False) -> None:
        if self._passing is not None:
            if name != self._passing:
                self._hold(name, text, own)
                return
            newline = text.find("\n")
            if newline < 0:
                _quietly(self.console.foreign, name, text)
                return
            _quietly(self.console.foreign, name, text[:newline + 1])
            self._stop_passing()
            text = text[newline + 1:]
            if not text:
                return
        if self._bar is None:  # nothing to protect: as written, at once
            _quietly(self.console.foreign, name, text)
            return
        writer = (name, own)
        if own and not self._lines[writer].open and self._lines[name, False].open:
            writer = (name, False)  # as on a terminal: print() goes on the line another writer began
        line = self._lines[writer]
        lines = line.feed(text)
        if lines:
            _quietly(self.console.foreign, name, lines)
        if line.prompt:
            self._since.setdefault(writer, self._clock())
        else:
            self._since.pop(writer, None)

    def _show_prompts(self) -> None:
        """An unfinished line of plain text that waited PROMPT_DELAY is shown as it is, the bar
        hidden, until its writer ends it: `input()`, pdb, a question from a child process."""
        if self._passing is not None or self._bar is None:
            return
        now = self._clock()
        for writer, since in list(self._since.items()):
            if now - since >= PROMPT_DELAY:
                del self._since[writer]
                _quietly(self.console.clear)
                _quietly(self.console.foreign, writer[0], self._lines[writer].take())
                self._passing = writer[0]
                return

    def _hold(self, name: str, text: str, own: bool) -> None:
        self._held.append((name, text, own))
        self._held_size += len(text)
        if self._held_size > HELD_LIMIT:  # a prompt left waiting: its line ends here
            self._stop_passing()

    def _stop_passing(self) -> None:
        """The bar comes back (on a line of its own: the console knows where the prompt left
        the cursor), then what other writers wrote meanwhile."""
        self._passing = None
        if self._bar is not None:
            _quietly(self.console.status, self._bar)
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
                _quietly(self.console.foreign, self._passing, "\n")
            self._passing = None
        self._release()
        for writer, line in self._lines.items():
            if line.open:
                text = line.take()
                _quietly(self.console.foreign, writer[0], text + "\n" if commit else text)
        self._since.clear()

    def _end(self) -> None:
        """Every writer is gone (the training process too, however it ended): the bar's last
        state stays as a line, and what is left is written."""
        if self._bar is not None:
            self._handle(FINISH_AS_IS, "")
        else:
            self._end_lines(commit=False)


def _marker_start(text: str, marker: str) -> int:
    """Where a marker cut off by the end of a read may start in `text` (len(text): none)."""
    start = text.find(marker[0], max(len(text) - len(marker) + 1, 0))
    while start >= 0:
        if marker.startswith(text[start:]):
            return start
        start = text.find(marker[0], start + 1)
    return len(text)


def _quietly(action, *args) -> None:
    try:
        action(*args)
    except Exception:  # a broken console: keep reading, so no writer ever blocks
        pass


# -- the training process's end -----------------------------------------------------------


class Link:
    """The training process's end of a running relay: a message over the control pipe, then
    its marker into stdout's channel, through a descriptor of its own (so a library that points
    descriptor 1 elsewhere for a while never sees a marker)."""

    def __init__(self, process: subprocess.Popen, control: int, targets: Dict[int, int],
                 marker: bytes):
        self.process = process
        self.control = control
        self.targets = targets  # descriptor -> what to point it at (the pty slave, a pipe)
        self.marker = marker
        self.ordered = os.dup(targets[1])

    def send(self, kind: bytes, text: str = "") -> None:
        """Text is sent in pieces a pipe takes in one piece (all or nothing, even when Ctrl-C
        interrupts), so the control pipe never holds half a message."""
        pieces = [text]
        if kind in (STDOUT, STDERR, WRITE) and len(text) > TEXT_PIECE:
            pieces = [text[start:start + TEXT_PIECE] for start in range(0, len(text), TEXT_PIECE)]
        for piece in pieces:
            data = piece.encode("utf-8", "surrogatepass")
            _write_all(self.control, HEADER.pack(kind, len(data)) + data)
            _write_all(self.ordered, self.marker)

    def forget(self) -> None:
        """In a forked child: the link is its parent's."""
        _close(self.control)
        _close(self.ordered)

    def close(self, seconds: float) -> bool:
        """End the control pipe and wait, `seconds` at most, for the relay to write what is
        left; False when it is still running (a child process still holds the descriptors)."""
        self.forget()
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            return False
        return True


def start(profile: Profile, encoding: str, terminal: bool, stderr: bool) -> Optional[Link]:
    """Start a relay that writes to this process's descriptors 1 and 2 as they are now. For
    a `terminal`, descriptor 1 (and 2, with `stderr`) is to point at a pseudo terminal of the
    same size and modes; otherwise at a pipe each. None when the relay cannot start."""
    opened = []  # type: List[int]
    marker = "\x1b_{}\x1b\\".format(int.from_bytes(os.urandom(8), "big"))  # an APC: no terminal shows it
    try:
        control_read, control = os.pipe()
        ready_read, ready = os.pipe()
        opened += [control_read, control, ready_read, ready]
        args = ["--control", str(control_read), "--ready", str(ready), "--encoding", encoding,
                "--marker", marker, "--profile", json.dumps(dict(profile._asdict(), reasons=()))]
        keep = [control_read, ready]
        if terminal:
            master, slave = os.openpty()
            opened += [master, slave]
            _copy_terminal(1, slave)
            args += ["--terminal", str(master)]
            keep.append(master)
            targets = {1: slave, 2: slave} if stderr else {1: slave}
        else:
            out_read, out_write = os.pipe()
            opened += [out_read, out_write]
            args += ["--stdout", str(out_read)]
            keep.append(out_read)
            targets = {1: out_write}
            if stderr:
                err_read, err_write = os.pipe()
                opened += [err_read, err_write]
                args += ["--stderr", str(err_read)]
                keep.append(err_read)
                targets[2] = err_write
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        code = "import sys; sys.path.insert(0, {!r}); from ideconsole.relay import main; sys.exit(main())"
        process = subprocess.Popen([sys.executable, "-E", "-S", "-c", code.format(package)] + args,
                                   stdin=subprocess.DEVNULL, pass_fds=keep, close_fds=True)
    except (OSError, ValueError, subprocess.SubprocessError):
        for fd in opened:
            _close(fd)
        return None
    for fd in keep:
        _close(fd)
    try:
        answer = os.read(ready_read, 1) if select.select([ready_read], [], [], START_SECONDS)[0] else b""
    except OSError:
        answer = b""
    _close(ready_read)
    if answer == b"1":  # otherwise it failed to start, or is too slow to trust with the console
        try:
            return Link(process, control, targets, marker.encode("ascii"))
        except OSError:
            pass
    process.kill()
    process.wait()
    for fd in [control] + sorted(set(targets.values())):
        _close(fd)
    return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _copy_terminal(real: int, slave: int) -> None:
    """The pseudo terminal looks like the real one to whoever asks: size and modes."""
    import fcntl
    import termios

    try:
        termios.tcsetattr(slave, termios.TCSANOW, termios.tcgetattr(real))
    except (OSError, termios.error):
        pass
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, fcntl.ioctl(real, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        pass


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


# -- the relay process ------------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    from .console import Console

    argv = sys.argv[1:] if argv is None else argv
    options = dict(zip(argv[::2], argv[1::2]))
    # Ctrl-C, Ctrl-Z, a hang-up and `timeout`'s SIGTERM reach the whole process group: the
    # training process and its children decide; the relay goes on until its writers are gone.
    for name in ("SIGINT", "SIGTSTP", "SIGQUIT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    encoding = options["--encoding"]
    fields = json.loads(options["--profile"])
    profile = Profile(**dict(fields, reasons=()))
    streams = [io.TextIOWrapper(io.BufferedWriter(io.FileIO(fd, "w", closefd=False)), encoding=encoding,
                                errors="surrogateescape", write_through=True) for fd in (1, 2)]
    console = Console(streams[0], profile=profile, stderr=streams[1], capture=False)
    channels = {}
    terminal = None
    if "--terminal" in options:
        terminal = int(options["--terminal"])
        channels[terminal] = "stdout"
    for name in ("stdout", "stderr"):
        if "--" + name in options:
            channels[int(options["--" + name])] = name
    ordered = terminal if terminal is not None else int(options["--stdout"])
    relay = Relay(console, int(options["--control"]), channels, encoding, ordered, options["--marker"],
                  terminal)
    if terminal is not None and hasattr(signal, "SIGWINCH"):
        signal.signal(signal.SIGWINCH, relay.follow_size)
        signal.siginterrupt(signal.SIGWINCH, False)
    ready = int(options["--ready"])
    os.write(ready, b"1")
    os.close(ready)
    relay.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
