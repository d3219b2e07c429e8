"""The process-wide part of drawing, in one room with an explicit start and end that the
explicit logger, `install()` and `python -m ideconsole run` all enter the same way: the stream
proxies and the logging handlers pointed at them, the excepthook, the fork and exit hooks, and
capture (see `capture`). `console.py` only presents.
"""
import atexit
import os
import sys
import threading
import weakref
from typing import TextIO

from . import capture, faults

LOCK = threading.RLock()  # orders every console's output in this process
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
        self._console.flush(self._name)
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


def take_streams(console, handlers: bool = True, only=None) -> dict:
    """Point `sys.stdout`/`sys.stderr` (where they are `console`'s streams, and pass `only`)
    and, with `handlers`, the logging handlers made before (TensorFlow's, absl's) that hold
    them at proxies to `console`; return what `give_back_streams` puts back."""
    saved = {}
    for name, real in (("stdout", console.stream), ("stderr", console.stderr)):
        current = getattr(sys, name)
        if (current is not None and real_stream(current) is real and not isinstance(current, StreamProxy)
                and (only is None or only(current))):
            proxy = StreamProxy(console, name, current)
            setattr(sys, name, proxy)
            saved[name] = (current, proxy)
    proxies = {id(real): proxy for real, proxy in saved.values()}
    saved["handlers"] = _redirect_handlers(proxies) if handlers else []
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
            faults.swallowed("ending the bars")
    for console in list(_live):
        try:
            console.close()
        except Exception:
            faults.swallowed("ending the bars")


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


capture.before_end(close_all)  # os._exit() and exec leave every bar's latest state as a line


def start(console) -> None:
    """The process-wide start for `console` (the shared console of stdout): capture, where
    it applies, before Keras forks its data workers. Never an exception: no capture rather
    than no training."""
    try:
        capture.start(console)
    except Exception:
        faults.swallowed("starting capture")


def end() -> None:
    """The process-wide end: every bar ends with its latest state, then capture ends, once the
    relay has shown what this process wrote."""
    close_all()
    try:
        capture.end()
    except Exception:
        faults.swallowed("ending capture")


def _after_fork_in_child() -> None:
    """A forked child (a data-loader worker) inherits the proxies and the lock, maybe held
    by a thread that does not exist in it: it gets a fresh lock and its real streams back,
    draws nothing of its parent's, and writes to the inherited descriptors (which the relay
    reads); the pipes to the relay are its parent's alone."""
    global LOCK
    LOCK = threading.RLock()
    for console in list(_live):
        console._after_fork()
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, StreamProxy):
            setattr(sys, name, real_stream(stream))
    capture.after_fork_in_child()


if hasattr(os, "register_at_fork"):  # Python 3.7+; on 3.6 the pid checks do it
    os.register_at_fork(before=capture.before_fork, after_in_parent=capture.after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


atexit.register(end)
