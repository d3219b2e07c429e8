"""The process-wide part of drawing: the relay that owns descriptors 1 and 2, with an explicit
`start()` and `end()` that the explicit logger, `install()` and `python -m ideconsole run`
all go through. Where capture is off or impossible, nothing here changes anything.
"""
import atexit
import os
import stat
import sys
import threading
from typing import Optional

from .detect import parse_bool

# What the training process tells the relay (see `relay`): its bar operations and its
# Python-level text, one message each.
STATUS, FINISH, FINISH_AS_IS, CLEAR, WRITE, STDOUT, STDERR = b"s", b"f", b"F", b"c", b"w", b"o", b"e"
CAPTURE_CONSOLES = ("vt", "pycharm", "dumb")  # where stray bytes would break the status line
END_SECONDS = 3.0  # how long the process waits at its end for the relay to write what is left

_lock = threading.RLock()
_current = None  # type: Optional[Session]
_tried = set()  # pids that tried to start one (once per process is enough)


class Session:
    """A running relay: descriptors 1 (and 2) point at it, their originals are kept here."""

    def __init__(self, console, link, saved):
        self.pid = os.getpid()
        self.stream = console.stream
        self.profile = console.profile
        self.link = link
        self._saved = saved  # descriptor -> a duplicate of what it was
        self._streams = _take_streams(console)

    def presents(self, console) -> bool:
        return (self.link is not None and console.stream is self.stream and self.pid == os.getpid()
                and console.profile.console == self.profile.console
                and console.profile.mode == self.profile.mode)

    def end(self, seconds: float = END_SECONDS) -> None:
        """Give the descriptors back and let the relay write what is left, `seconds` at most
        (a child process that still holds them keeps it running after that)."""
        link, self.link = self.link, None
        if link is None:
            return
        _give_back_streams(self._streams)
        _flush_python_streams()
        for number, saved in self._saved.items():
            try:
                os.dup2(saved, number)
                os.close(saved)
            except OSError:
                pass
        self._saved = {}
        link.close(seconds)


def capture_refused(console, env=None) -> Optional[str]:
    """Why `console` draws without a relay, or None when it may have one."""
    env = os.environ if env is None else env
    if os.name != "posix":
        return "not POSIX: Windows keeps the Python-level path"
    wanted = console.capture
    if wanted is None:
        wanted = parse_bool(env.get("IDECONSOLE_CAPTURE"))
    if wanted is False:
        return "switched off"
    profile = console.profile
    if profile.console not in CAPTURE_CONSOLES or profile.mode == "lines" or profile.role != "draw":
        return "nothing is redrawn on {}".format(profile.console)
    try:
        if console.stream is not _real(sys.stdout) or console.stream.fileno() != 1:
            return "the console's stream is not this process's stdout"
    except (AttributeError, OSError, ValueError):
        return "the console's stream has no descriptor"
    if not sys.executable:
        return "no Python executable to run the relay"
    if not (os.isatty(1) or _is_pipe(1)):
        return "stdout is neither a terminal nor a pipe"
    return None


def start(console) -> Optional[Session]:
    """Start capture for `console` (the shared console of stdout), once per process: a
    relay owns the real stdout and stderr from here on. None where it cannot or should not."""
    global _current
    with _lock:
        if _current is not None and _current.pid == os.getpid():
            return _current
        if os.getpid() in _tried or capture_refused(console) is not None:
            return None
        _tried.add(os.getpid())
        terminal = os.isatty(1)
        if terminal:
            stderr = os.isatty(2) and _same_device(1, 2)
        else:
            stderr = _is_pipe(2)
        _flush_python_streams()
        from . import relay  # only where a relay is started: `import ideconsole` stays light

        link = relay.start(console.profile, getattr(console.stream, "encoding", None) or "utf-8",
                           terminal, stderr)
        if link is None:
            return None
        saved = {}
        try:
            for number, target in sorted(link.targets.items()):
                saved[number] = os.dup(number)
                os.dup2(target, number)
        except OSError:  # all or nothing: what was pointed elsewhere goes back
            for number, original in saved.items():
                os.dup2(original, number)
                os.close(original)
            saved = None
        for target in set(link.targets.values()):
            os.close(target)
        if saved is None:
            link.close(0)
            return None
        _current = Session(console, link, saved)
        return _current


def current() -> Optional[Session]:
    session = _current
    if session is not None and session.pid == os.getpid() and session.link is not None:
        return session
    return None


def end() -> None:
    """End capture: the descriptors are the real ones again once the relay is done."""
    global _current
    with _lock:
        session, _current = _current, None
        if session is not None and session.pid == os.getpid():
            session.end()


def lost() -> None:
    """The relay went away (killed from outside): the descriptors go back, so output goes on
    in-process instead of into a pipe nobody reads."""
    global _current
    with _lock:
        session, _current = _current, None
        if session is not None:
            session.end(0)


def _take_streams(console):
    """Python-level text goes to the relay in order with the bar's operations: `sys.stdout`,
    `sys.stderr` and the logging handlers holding them go through proxies."""
    from .console import StreamProxy, _redirect_handlers, real_stream

    saved = {}
    for name, real in (("stdout", console.stream), ("stderr", console.stderr)):
        current = getattr(sys, name)
        if current is not None and real_stream(current) is real and not isinstance(current, StreamProxy):
            proxy = StreamProxy(console, name, current)
            setattr(sys, name, proxy)
            saved[name] = (current, proxy)
    handlers = _redirect_handlers({id(real): proxy for real, proxy in saved.values()})
    return saved, handlers


def _give_back_streams(taken) -> None:
    saved, handlers = taken
    for name, (real, proxy) in saved.items():
        if getattr(sys, name) is proxy:
            setattr(sys, name, real)
    for handler, stream in handlers:
        if getattr(handler, "stream", None) is not stream:
            handler.stream = stream


def _real(stream):
    while hasattr(stream, "wrapped"):
        stream = stream.wrapped
    return stream


def _is_pipe(number: int) -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(number).st_mode)
    except OSError:
        return False


def _same_device(first: int, second: int) -> bool:
    try:
        return os.fstat(first).st_rdev == os.fstat(second).st_rdev
    except OSError:
        return False


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def _after_fork_in_child() -> None:
    """A forked worker writes to the inherited descriptors (the relay reads them); the
    control pipe is its parent's alone."""
    session = _current
    if session is not None and session.link is not None:
        session.link.forget()
        session.link = None


if hasattr(os, "register_at_fork"):  # Python 3.7+; on 3.6 the pid checks do it
    os.register_at_fork(after_in_child=_after_fork_in_child)

atexit.register(end)
