"""The process-wide part of drawing, in one room with an explicit start and end: the stream
proxies and the logging handlers pointed at them, the excepthook, the fork and exit hooks, and
the relay that owns descriptors 1 and 2 (`start()` / `end()`), which the explicit logger,
`install()` and `python -m ideconsole run` all enter the same way. `console.py` only presents.
"""
import atexit
import os
import stat
import sys
import threading
import weakref
from typing import Optional, TextIO

from .detect import parse_bool

# What the training process tells the relay (see `relay`): its bar operations and its
# Python-level text, one message each.
STATUS, FINISH, FINISH_AS_IS, CLEAR, WRITE, STDOUT, STDERR = b"s", b"f", b"F", b"c", b"w", b"o", b"e"
ROWS = b"r"  # a status area of several rows (nested bars on a VT terminal), "\n" between them
CAPTURE_CONSOLES = ("vt", "pycharm", "dumb")  # where stray bytes would break the status line
CAPTURED = "IDECONSOLE_CAPTURED"  # set for children: the descriptor a relay reads
END_SECONDS = 2.0  # how long the process waits at its end for the relay to write what is left

LOCK = threading.RLock()  # orders every console's output in this process
_current = None  # type: Optional[Session]
_retired = None  # the proxies an ended session put back (see Session.end)
_tried = set()  # pids that tried to start one (once per process is enough)
_live = weakref.WeakSet()  # every Console, to close them all when the process stops
_cell_hooks = set()  # id() of each IPython shell that ends bars after its cells
_before_close = []  # what brings bars up to date before they end (tqdm's latest counts)


class StreamProxy:
    """Stands in for `sys.stdout` / `sys.stderr` while a status line may be up, and
    hands every write to the console, which puts it above the status line."""

    def __init__(self, console, name: str, real: TextIO):
        self._console = console
        self._name = name
        self._real = real
        self._pid = os.getpid()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not {}".format(type(text).__name__))
        if os.getpid() != self._pid:  # a forked child (Python 3.6 has no fork hook): no bar
            return self._real.write(text)
        self._console.foreign(self._name, text)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        real = self._real
        if real is not None:
            try:
                real.flush()
            except (OSError, ValueError):
                pass

    def isatty(self) -> bool:
        return self._console.isatty(self._name)

    def fileno(self) -> int:
        return self._real.fileno()

    @property
    def wrapped(self) -> TextIO:
        return self._real

    def __getattr__(self, name):
        return getattr(self._real, name)


def real_stream(stream):
    while isinstance(stream, StreamProxy):
        stream = stream.wrapped
    return stream


def take_streams(console) -> dict:
    """Point `sys.stdout`/`sys.stderr` (where they are `console`'s streams) and the logging
    handlers made before (TensorFlow's, absl's) that hold them at proxies to `console`;
    return what `give_back_streams` puts back."""
    saved = {}
    for name, real in (("stdout", console.stream), ("stderr", console.stderr)):
        current = getattr(sys, name)
        if current is not None and real_stream(current) is real and not isinstance(current, StreamProxy):
            proxy = StreamProxy(console, name, current)
            setattr(sys, name, proxy)
            saved[name] = (current, proxy)
    saved["handlers"] = _redirect_handlers({id(real): proxy for real, proxy in saved.values()})
    return saved


def give_back_streams(saved: dict) -> None:
    for name in ("stdout", "stderr"):
        if name in saved and getattr(sys, name) is saved[name][1]:
            setattr(sys, name, saved[name][0])
    for handler, stream, proxy in saved["handlers"]:
        if getattr(handler, "stream", None) is proxy:  # not if the script gave it another stream since
            handler.stream = stream


def _redirect_handlers(proxies):
    import logging

    changed = []
    loggers = [logging.getLogger()] + [logger for logger in list(logging.Logger.manager.loggerDict.values())
                                       if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in list(logger.handlers):
            for holder in (handler, getattr(handler, "_python_handler", None)):
                stream = getattr(holder, "stream", None)
                if holder is not None and id(stream) in proxies:
                    try:
                        holder.stream = proxies[id(stream)]
                    except AttributeError:
                        continue
                    changed.append((holder, stream, proxies[id(stream)]))
    return changed


def track(console) -> None:
    """`console` ends what it has in progress when the process stops."""
    _live.add(console)


def before_close(update):
    """Call `update()` before every bar is ended (an uncaught exception, the exit); usable
    as a decorator."""
    if update not in _before_close:
        _before_close.append(update)
    return update


def close_all() -> None:
    for update in list(_before_close):
        try:
            update()
        except Exception:
            pass
    for console in list(_live):
        try:
            console.close()
        except Exception:
            pass


def install_excepthook() -> None:
    """Before Python prints an uncaught exception (Ctrl-C included), end every status line
    with its latest state, so the traceback starts on a clean line below it."""
    previous = sys.excepthook
    if getattr(previous, "ideconsole", False):
        return

    def excepthook(kind, value, traceback):
        close_all()
        previous(kind, value, traceback)

    excepthook.ideconsole = True
    sys.excepthook = excepthook
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    # Jupyter never calls sys.excepthook (and resets it for each cell): end bars after each
    # cell, registered once per shell
    if shell is not None and id(shell) not in _cell_hooks:
        _cell_hooks.add(id(shell))
        shell.events.register("post_run_cell", _end_bars_after_cell)


def _end_bars_after_cell(*result) -> None:
    close_all()


class Session:
    """A running relay: descriptors 1 (and 2) point at it, their originals are kept here."""

    def __init__(self, console, link, saved):
        self.pid = os.getpid()
        self.stream = console.stream
        self.profile = console.profile
        self.link = link
        self._saved = saved  # descriptor -> a duplicate of what it was
        self._streams = take_streams(console)

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
        global _retired
        # This may run inside a print() to a proxy (the relay was found killed), and print()
        # holds sys.stdout without a reference of its own: the proxies outlive it.
        _retired = self._streams
        give_back_streams(self._streams)
        os.environ.pop(CAPTURED, None)
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
        if console.stream is not real_stream(sys.stdout) or console.stream.fileno() != 1:
            return "the console's stream is not this process's stdout"
    except (AttributeError, OSError, ValueError):
        return "the console's stream has no descriptor"
    if not sys.executable:
        return "no Python executable to run the relay"
    if not (os.isatty(1) or _is_pipe(1)):
        return "stdout is neither a terminal nor a pipe"
    if env.get(CAPTURED) and env.get(CAPTURED) == _identity(1):
        return "a parent process's relay already reads stdout"
    return None


def start(console) -> Optional[Session]:
    """Start capture for `console` (the shared console of stdout), once per process: a
    relay owns the real stdout and stderr from here on. None where it cannot or should not."""
    global _current
    with LOCK:
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
        os.environ[CAPTURED] = _identity(1)  # children that import ideconsole need no relay of their own
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
    with LOCK:
        session, _current = _current, None
        if session is not None and session.pid == os.getpid():
            session.end()


def lost() -> None:
    """The relay went away (killed from outside): the descriptors go back, so output goes on
    in-process instead of into a pipe nobody reads."""
    global _current
    with LOCK:
        session, _current = _current, None
        if session is not None:
            session.end(0)


def _is_pipe(number: int) -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(number).st_mode)
    except OSError:
        return False


def _identity(number: int) -> str:
    try:
        facts = os.fstat(number)
    except OSError:
        return ""
    return "{}:{}:{}".format(facts.st_dev, facts.st_ino, facts.st_rdev)


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
    """A forked child (a data-loader worker) inherits the proxies and the lock, maybe held
    by a thread that does not exist in it: it gets a fresh lock and its real streams back,
    draws nothing of its parent's, and writes to the inherited descriptors (which the relay
    reads); the control pipe is its parent's alone."""
    global LOCK
    LOCK = threading.RLock()
    for console in list(_live):
        console._after_fork()
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, StreamProxy):
            setattr(sys, name, real_stream(stream))
    session = _current
    if session is not None and session.link is not None:
        session.link.forget()
        session.link = None


if hasattr(os, "register_at_fork"):  # Python 3.7+; on 3.6 the pid checks do it
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _at_exit() -> None:
    """Every bar ends with its latest state, then the relay writes what is left, so the
    shell's prompt comes after all of it."""
    close_all()
    end()
