"""Capture: descriptors 1 and 2 of the training process point at a relay (see `relay`), the
only writer to the real console, so that every writer's lines land above the bar.

This room owns the descriptors and the relay's process. It starts a relay (or joins the one
`python -m ideconsole run` started for its script), hands it the bar's operations, waits for it
only until it has shown what this process wrote, and gives the descriptors back when it ends,
when the process execs another program, and at once when the relay dies.
"""
import json
import os
import stat
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

from . import faults, protocol
from .detect import Profile, parse_bool

# where other writers' bytes would break lines (a notebook's ipykernel stream has no
# descriptor 1 and is refused below; the command a cell runs, on a pseudo terminal, is not)
CONSOLES = ("vt", "pycharm", "jupyter", "dumb", "log", "ci")
CAPTURED = "IDECONSOLE_CAPTURED"  # set for children: the descriptor a relay reads
RELAY = "IDECONSOLE_RELAY"  # set by `run` for its script: the pipes to the relay it started
END_SECONDS = 2.0  # at most, for the relay to show what this process wrote (it takes ms)
HOLD = 0.05  # seconds a part of a line of this process's waits for its end
OWN = {"stdout": protocol.OWN_STDOUT, "stderr": protocol.OWN_STDERR}

_current = None  # type: Optional[Capture]
_tried = set()  # pids that tried to start one (once per process is enough)
_lock = threading.RLock()


class Capture:
    """A running relay this process writes through: its control pipe (`control`), the answers
    (`back`), its own descriptor onto stdout's channel for the markers (`ordered`). Started
    here, it also holds the real descriptors (`saved`) and the channels' read ends (`keep`),
    to take over if the relay dies."""

    def __init__(self, stream, profile: Profile, control: int, back: int, ordered: int, marker: bytes,
                 saved: Optional[Dict[int, int]] = None, keep: Optional[Dict[int, int]] = None,
                 process: Optional[subprocess.Popen] = None):
        self.pid = os.getpid()
        self.stream = stream
        self.profile = profile
        self.process = process
        self._control = control
        self._back = back
        self._ordered = ordered
        self._marker = marker
        self._saved = saved or {}  # descriptor -> a duplicate of what it was
        self._keep = keep or {}  # a channel's read end -> the real descriptor it belongs to
        self._send_lock = threading.Lock()  # a message and its marker, together
        self._acks = threading.Semaphore(0)
        self.alive = True
        self.up = False  # the relay shows a status area of this process's
        self._open = {"stdout": False, "stderr": False}  # this process's unbuffered text left a line open
        self._held = {"stdout": "", "stderr": ""}  # and the part of a line it waits with
        self._holding = threading.Condition()
        self._release_at = None  # type: Optional[float]
        self._releaser = None  # type: Optional[threading.Thread]
        self._drainer = None  # type: Optional[threading.Thread]
        self._watcher = threading.Thread(target=self._watch, name="ideconsole-relay-watch", daemon=True)
        self._watcher.start()
        _made.append(self)

    def threads(self) -> list:
        """This capture's threads that still run."""
        return [thread for thread in (self._watcher, self._releaser, self._drainer)
                if thread is not None and thread.is_alive()]

    def presents(self, console) -> bool:
        profile = console.profile
        return (self.alive and self.pid == os.getpid() and console.stream is self.stream
                and profile.console == self.profile.console and profile.mode == self.profile.mode)

    # -- what a Console hands over (see console.Console) --------------------------------------

    def show(self, area) -> None:
        self.send(protocol.AREA, "\n".join(area) if isinstance(area, list) else area)
        self.up = True

    def commit(self, text: Optional[str]) -> None:
        self.send(protocol.COMMIT if text is not None else protocol.KEEP, text or "")
        self.up = False

    def erase(self) -> None:
        self.send(protocol.CLEAR)
        self.up = False

    def say(self, text: str, name: str = "stdout", area=None) -> None:
        self.send(protocol.TEXT, text)
        if area is not None:
            self.show(area)

    def put(self, name: str, text: str) -> None:
        """Text of this process's own, written unbuffered (PyCharm sets PYTHONUNBUFFERED)
        while a bar is up: whole lines go to the descriptor, in one write, as a buffered stream
        would write them; a part of a line waits for its end (print() writes its text and its
        line end apart), at most HOLD seconds or until a flush, then goes to the relay as this
        process's, so that other writers' lines written meanwhile never land in it."""
        stream = self.stream if name == "stdout" else sys.__stderr__
        if not text or stream is None:
            return
        with self._holding:
            text = self._held[name] + text
            self._held[name] = ""
            if self._open[name]:
                newline = text.find("\n") + 1
                head, text = (text, "") if not newline else (text[:newline], text[newline:])
                self.send(OWN[name], head)
                self._open[name] = not newline
            last = text.rfind("\n") + 1
            if last:
                _write_escaped(stream, text[:last])
                stream.flush()
            if last < len(text):
                self._held[name] = text[last:]
                self._release_at = time.monotonic() + HOLD
                self._hold_thread()
                self._holding.notify()

    def flush(self, name: str) -> None:
        """A part of a line flushed (a prompt before input()) is shown at once."""
        with self._holding:
            self._release(name)

    def _release(self, name: str) -> None:
        if self._held[name]:
            self.send(OWN[name], self._held[name])
            self._held[name] = ""
            self._open[name] = True

    def _hold_thread(self) -> None:
        if self._releaser is None:
            self._releaser = threading.Thread(target=self._releasing, name="ideconsole-held", daemon=True)
            self._releaser.start()

    def _releasing(self) -> None:
        with self._holding:
            while self.alive:
                wait = None if self._release_at is None else self._release_at - time.monotonic()
                if wait is not None and wait <= 0:
                    self._release_at = None
                    for name in ("stdout", "stderr"):
                        self._release(name)
                    continue
                self._holding.wait(wait)

    def unfinished(self) -> bool:
        return False  # the relay ends other writers' lines before ours

    # -- the pipes to the relay ----------------------------------------------------------------

    def send(self, kind: bytes, text: str = "") -> bool:
        """Hand the relay an operation, placed after everything written so far. False when the
        relay is gone (the descriptors are given back then)."""
        if not self.alive:
            return False
        if _hiding:  # a fork's warning that was filtered out never came (3.13): put back
            _hide_fork_warning(False)
        _flush_buffered()
        try:
            with self._send_lock:
                for message in protocol.messages(kind, text):
                    _write_all(self._control, message)
                    if self._ordered is not None:
                        _write_all(self._ordered, self._marker)
        except OSError:
            self.lost()
            return False
        return True

    def sync(self, seconds: float = END_SECONDS) -> bool:
        """Wait, `seconds` at most, until the relay has shown what this process wrote."""
        return self.send(protocol.SYNC) and self._acks.acquire(timeout=seconds)

    def _watch(self) -> None:
        """The relay's answers; its end (it died, or could not start) gives the descriptors back."""
        while True:
            try:
                data = os.read(self._back, 64)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                break
            for answer in data:
                if answer == protocol.ACK[0]:
                    self._acks.release()
                elif answer == protocol.BROKEN[0]:
                    self._broken()
        if self.alive:
            self.lost()

    def _broken(self) -> None:
        """The real stdout's reader went away (`| head`): the relay closed stdout's channel, and
        this process lets go of it too, so that every writer, this process's prints included,
        meets the closed pipe as it would have without ideconsole (ideconsole's own drawing
        never does: it stops). Messages go without markers from now on."""
        targets = [1, 2] if _same_file(1, 2) else [1]
        for fd, number in list(self._keep.items()):
            if number in targets:
                del self._keep[fd]
                _close(fd)
        with self._send_lock:
            ordered, self._ordered = self._ordered, None
        if ordered is not None:
            _close(ordered)

    # -- the end -------------------------------------------------------------------------------

    def end(self, seconds: float = END_SECONDS) -> None:
        """This process is done with the relay: it waits until the relay has shown what it
        wrote (never for other holders of the descriptors), then the descriptors are the real
        ones again."""
        global _current
        if not self.alive or self.pid != os.getpid():
            return
        _flush_python_streams()
        self.sync(seconds)
        self.alive = False
        _current = None if _current is self else _current
        self._give_back()
        for fd in (self._control, self._ordered):
            if fd is not None:
                _close(fd)

    def lost(self) -> None:
        """The relay went away (killed from outside, or it never came up): the descriptors go
        back at once, and what was written into its channels since is written out here, while
        a child still writes there."""
        global _current
        if not self.alive:
            return
        self.alive = False
        _current = None if _current is self else _current
        if self.up and 1 in self._saved:  # the relay's last drawing of the bar stays as a line
            try:
                _write_all(self._saved[1], b"\n")
            except OSError:
                pass
            self.up = False
        self._give_back()
        if self._keep:
            self._drainer = threading.Thread(target=self._drain, name="ideconsole-drain", daemon=True)
            self._drainer.start()

    def _give_back(self) -> None:
        os.environ.pop(CAPTURED, None)
        for number, saved in self._saved.items():
            try:
                os.dup2(saved, number)
            except OSError:
                pass

    def _drain(self) -> None:
        """Copy what writers put into the channels to the real descriptors, the markers of
        messages the relay never handled left out, until the last writer is gone."""
        import select

        keep = dict(self._keep)
        tails = dict.fromkeys(keep, b"")
        while keep:
            for fd in select.select(list(keep), [], [], 1.0)[0]:
                try:
                    read = os.read(fd, 65536)
                except OSError:
                    read = b""
                data = (tails[fd] + read).replace(self._marker, b"")
                cut = protocol.marker_start(data, self._marker) if read else len(data)
                data, tails[fd] = data[:cut], data[cut:]
                if data:
                    try:
                        _write_all(self._saved[keep[fd]], data)
                    except (OSError, KeyError):
                        pass
                if not read:
                    _close(fd)
                    del keep[fd]

    def forget(self) -> None:
        """In a forked child: the relay is its parent's."""
        self.alive = False
        for fd in [self._control, self._back, self._ordered] + list(self._keep) + list(self._saved.values()):
            if fd is not None:
                _close(fd)


def refused(console, env=None) -> Optional[str]:
    """Why `console` draws without a relay, or None when it may have one."""
    on, why = decision(console, env)
    return None if on else why


def decision(console, env=None, elsewhere: bool = False):
    """(whether `console` gets a relay, why). `elsewhere`: as if its stream were the stdout
    of a script run there (the report's second section, the terminal behind stderr)."""
    env = os.environ if env is None else env
    value = env.get("IDECONSOLE_CAPTURE")
    wanted = console.capture
    note = ""
    if wanted is None:
        wanted = parse_bool(value, strict=True)
        if wanted is None and value and value.strip():
            note = "; IDECONSOLE_CAPTURE={!r} is not a boolean word (1/0, true/false, yes/no, on/off): " \
                   "ignored".format(value)
    why = _refusal(console, env, wanted, elsewhere)
    if why is not None:
        return False, why + note
    return True, "a relay process owns descriptors 1 and 2 while ideconsole draws" + note


def _refusal(console, env, wanted, elsewhere: bool) -> Optional[str]:
    if os.name != "posix":
        return "not POSIX: Windows keeps the Python-level path"
    if wanted is False:
        return "switched off (IDECONSOLE_CAPTURE={})".format(env.get("IDECONSOLE_CAPTURE")) \
            if console.capture is None else "switched off (capture=False)"
    profile = console.profile
    if profile.role != "draw":
        return "this rank draws no progress (rank {})".format(profile.rank)
    if profile.console not in CONSOLES:
        return "{} shows Python's own streams: no descriptor to take".format(profile.console)
    stream = console.stream
    try:
        number = stream.fileno()
        if not elsewhere and (stream is not _real(sys.stdout) or number != 1):
            return "the console's stream is not this process's stdout"
    except (AttributeError, OSError, ValueError):
        return "the console's stream has no descriptor"
    if env.get(RELAY) and not elsewhere:
        return None
    if not sys.executable:
        return "no Python executable to run the relay"
    if not (os.isatty(number) or _kind(number) in ("pipe", "file")):
        return "stdout is neither a terminal, a pipe nor a file"
    if not elsewhere and env.get(CAPTURED) and env.get(CAPTURED) == _identity(1):
        return "a parent process's relay already reads stdout"
    return None


def start(console) -> Optional[Capture]:
    """Capture for `console` (the shared console of stdout), once per process: a relay owns
    the real stdout and stderr from here on. None where it cannot or should not."""
    global _current
    with _lock:
        if _current is not None and _current.pid == os.getpid() and _current.alive:
            return _current
        if os.getpid() in _tried or refused(console) is not None:
            return None
        _tried.add(os.getpid())
        try:
            capture = _join(console) if os.environ.get(RELAY) else _spawn(console)
        except (OSError, ValueError, subprocess.SubprocessError):
            capture = None
        if capture is not None:
            _current = capture
            _hook_exits()
        return capture


def current() -> Optional[Capture]:
    capture = _current
    if capture is not None and capture.pid == os.getpid() and capture.alive:
        return capture
    return None


def end() -> None:
    """End capture: the descriptors are the real ones again."""
    capture = current()
    if capture is not None:
        capture.end()


def after_fork_in_child() -> None:
    capture = _current
    if capture is not None and capture.pid != os.getpid():
        capture.forget()
    _hide_fork_warning(False)  # the child's own warnings are shown as they would be


_made = []  # the Captures of this process whose threads may still run (they are ideconsole's)


def before_fork() -> None:
    """Python 3.12+ warns when a process with threads forks (3.12 right after the fork, 3.13
    after the fork's hooks in the parent). ideconsole's threads (the relay's watcher, a held
    line's releaser, a drain) hold nothing a child needs, so they keep running; where they are
    the only other threads, the warning, which plain Python would not give, is left out for
    this fork, by a one-time `warnings.showwarning` (the user's filters are never touched)."""
    _hide_fork_warning(_only_ours())


def after_fork_in_parent() -> None:
    """3.12 has warned by now: the original `showwarning` is put back (the warning may have
    been filtered out, never reaching it). 3.13 warns after these hooks: the threads are
    counted again, where Python counts them."""
    if sys.version_info < (3, 12):
        return
    import warnings

    if isinstance(warnings.showwarning, _HideForkWarning):
        if sys.version_info < (3, 13) or not _only_ours():
            _hide_fork_warning(False)


def _only_ours() -> bool:
    """Whether ideconsole's threads are all the threads of this process but the current one."""
    _made[:] = [capture for capture in _made if capture.pid == os.getpid() and capture.threads()]
    ours = sum(len(capture.threads()) for capture in _made)
    return bool(ours) and _threads() - ours <= 1


_hiding = False  # a _HideForkWarning may be in place


def _hide_fork_warning(hidden: bool) -> None:
    global _hiding
    if sys.version_info < (3, 12):
        return
    import warnings

    shown = warnings.showwarning
    if isinstance(shown, _HideForkWarning):  # a previous fork's
        shown = warnings.showwarning = shown.original
    if hidden:
        warnings.showwarning = _HideForkWarning(shown, os.getpid())
    _hiding = hidden


class _HideForkWarning:
    """`warnings.showwarning` for one fork: it leaves out that fork's warning about threads,
    as if it had never been shown (Python has marked it shown in its registries by then: a
    later fork of the same line, with a thread of the script's, must still warn), puts the
    original back at its first call and passes anything else on to it."""

    def __init__(self, original, pid: int):
        self.original = original
        self._text = "This process (pid={}) is multi-threaded".format(pid)

    def __call__(self, message, category, filename, lineno, file=None, line=None):
        import warnings

        if warnings.showwarning is self:
            warnings.showwarning = self.original
        if isinstance(category, type) and issubclass(category, DeprecationWarning) \
                and str(message).startswith(self._text):
            self._unmark(str(message), category)
            return None
        return self.original(message, category, filename, lineno, file, line)

    @staticmethod
    def _unmark(text: str, category) -> None:
        import warnings

        registries = [warnings.onceregistry]
        frame = sys._getframe(1)
        while frame is not None:
            registry = frame.f_globals.get("__warningregistry__")
            if isinstance(registry, dict) and not any(registry is seen for seen in registries):
                registries.append(registry)
            frame = frame.f_back
        for registry in registries:
            for key in [key for key in registry if isinstance(key, tuple) and key[:2] == (text, category)]:
                del registry[key]


def joined_profile() -> Optional[Profile]:
    """The profile of the console that `run`'s relay draws on, for this process's stdout."""
    capture = current()
    return capture.profile if capture is not None and capture.process is None else None


def _join(console) -> Optional[Capture]:
    """This process is the script `python -m ideconsole run` started: its relay is there."""
    control, back, marker, profile = os.environ.pop(RELAY).split(",", 3)
    control, back = int(control), int(back)
    for fd in (control, back):
        os.set_inheritable(fd, False)
    if os.environ.get(CAPTURED) != _identity(1):
        for fd in (control, back):
            _close(fd)
        return None
    fields = dict(json.loads(profile), reasons=())
    return Capture(console.stream, Profile(**fields), control, back, os.dup(1), bytes.fromhex(marker))


def _spawn(console) -> Optional[Capture]:
    """Start a relay on this process's descriptors 1 and 2 as they are now, and point them at
    it: a pseudo terminal of the same size and modes where stdout is a terminal, pipes
    otherwise."""
    terminal = os.isatty(1)
    plan = plan_channels(terminal)
    encoding = getattr(console.stream, "encoding", None) or "utf-8"
    marker = protocol.new_marker()
    _flush_python_streams()
    opened = []  # type: List[int]
    try:
        control_read, control = os.pipe()
        back, back_write = os.pipe()
        opened += [control_read, control, back, back_write]
        args = ["--control", str(control_read), "--back", str(back_write), "--encoding", encoding,
                "--marker", marker.decode("latin-1"), "--profile", json.dumps(dict(console.profile._asdict(),
                                                                                    reasons=()))]
        relay_fds = [control_read, back_write]
        targets = {}  # descriptor -> what it is to point at
        keep = {}  # a channel's read end, kept here -> the real descriptor
        if terminal:
            master, slave = os.openpty()
            opened += [master, slave]
            copy_terminal(1, slave)
            import termios

            try:  # what both terminals start as: a later change is a program's
                args += ["--start-modes", protocol.modes_text(termios.tcgetattr(slave)),
                         "--real-modes", protocol.modes_text(termios.tcgetattr(1))]
            except (OSError, termios.error):
                pass
            args += ["--terminal", str(master), "--mirror", "1", "--pty-device", str(os.fstat(slave).st_rdev)]
            relay_fds.append(master)
            targets = {number: slave for number in plan}
            keep[os.dup(master)] = 1
        else:
            read, write = os.pipe()
            opened += [read, write]
            args += ["--stdout", str(read)]
            relay_fds.append(read)
            targets[1] = write
            keep[os.dup(read)] = 1
            if plan.get(2) == "same":
                targets[2] = write
            elif plan.get(2) == "own":
                read, write = os.pipe()
                opened += [read, write]
                args += ["--stderr", str(read)]
                relay_fds.append(read)
                targets[2] = write
                keep[os.dup(read)] = 2
        opened += list(keep)
        keyboard = 0 if terminal and os.isatty(0) and _same_device(0, 1) else subprocess.DEVNULL
        process = subprocess.Popen(relay_command() + args, stdin=keyboard, pass_fds=relay_fds, close_fds=True)
    except (OSError, ValueError, subprocess.SubprocessError):
        for fd in opened:
            _close(fd)
        return None
    for fd in relay_fds:
        _close(fd)
    for fd in keep:
        os.set_inheritable(fd, False)
    saved = {}
    try:
        for number, target in sorted(targets.items()):
            saved[number] = os.dup(number)
            os.dup2(target, number)
        ordered = os.dup(targets[1])
    except OSError:  # all or nothing: what was pointed elsewhere goes back
        for number, original in saved.items():
            os.dup2(original, number)
            _close(original)
        saved = None
    for target in set(targets.values()):
        _close(target)
    if saved is None:
        for fd in [control, back] + list(keep):
            _close(fd)
        process.kill()
        process.wait()
        return None
    os.environ[CAPTURED] = _identity(1)  # children that import ideconsole need no relay of their own
    return Capture(console.stream, console.profile, control, back, ordered, marker, saved, keep, process)


def relay_command() -> List[str]:
    """The relay's command line: this Python, without site-packages or the environment's
    say, running ideconsole from where it is."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = "import sys; sys.path.insert(0, {!r}); from ideconsole.relay import main; sys.exit(main())"
    return [sys.executable, "-E", "-S", "-c", code.format(package)]


def copy_terminal(real: int, slave: int) -> None:
    """The pseudo terminal looks like the real one to whoever asks: size and modes. Started
    in the background (`train.py &`), the real terminal's modes are the shell's of the moment
    (readline's raw ones): the pseudo terminal gets them made sane, as `stty sane` would."""
    import termios

    try:
        modes = termios.tcgetattr(real)
        if not _foreground(real):
            modes = _sane(modes)
        termios.tcsetattr(slave, termios.TCSANOW, modes)
    except (OSError, termios.error):
        pass
    copy_size(real, slave)


def _foreground(fd: int) -> bool:
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False


def _sane(modes):
    """A terminal's modes for line input: canonical, echo, signals, CR read as NL, NL written
    as CRLF."""
    import termios

    modes = [list(item) if isinstance(item, list) else item for item in modes]
    modes[0] = (modes[0] | termios.ICRNL | termios.BRKINT) & ~(termios.INLCR | termios.IGNCR)
    modes[1] |= termios.OPOST | termios.ONLCR
    lflags = termios.ICANON | termios.ECHO | termios.ECHOE | termios.ECHOK | termios.ISIG | termios.IEXTEN
    modes[3] |= lflags | getattr(termios, "ECHOCTL", 0) | getattr(termios, "ECHOKE", 0)
    modes[6][termios.VMIN], modes[6][termios.VTIME] = 1, 0
    return modes


def copy_size(real: int, pty: int) -> None:
    """The real terminal's size onto the pseudo terminal (its foreground job gets SIGWINCH)."""
    import fcntl
    import termios

    try:
        fcntl.ioctl(pty, termios.TIOCSWINSZ, fcntl.ioctl(real, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        pass


def plan_channels(terminal: bool) -> Dict[int, str]:
    """Which of this process's descriptors a relay takes over, and how: 1 always; 2 where it
    goes where 1 goes ("same": one channel keeps their order), or to a pipe or file of its own
    while 1 is not a terminal ("own": cleaned like stdout)."""
    plan = {1: "own"}
    if terminal:
        if os.isatty(2) and _same_device(1, 2):
            plan[2] = "same"
    elif _same_file(1, 2):
        plan[2] = "same"
    elif _kind(2) in ("pipe", "file"):
        plan[2] = "own"
    return plan


# -- ends that skip atexit ---------------------------------------------------------------------

_originals = {}


def _hook_exits() -> None:
    """`os._exit()` and the `os.exec*()` family end capture first (in the process that owns it):
    what this process wrote shows before it is gone, and an exec'd program gets the real
    descriptors. Forked children (multiprocessing's workers end with os._exit) pass straight
    through."""
    if _originals:
        return
    for name in ("_exit", "execv", "execve"):
        original = getattr(os, name, None)
        if original is not None:
            _originals[name] = original
            setattr(os, name, _ending(original))


_before_end = []  # what ends every bar first (see session)


def before_end(function) -> None:
    """Call `function()` before capture ends at an `os._exit()` or an exec."""
    if function not in _before_end:
        _before_end.append(function)


def _ending(original):
    def call(*args, **kwargs):
        capture = _current
        if capture is not None and capture.pid == os.getpid():
            try:
                for function in _before_end:
                    function()
                capture.end()
            except Exception:
                faults.swallowed("ending capture before " + original.__name__)
        return original(*args, **kwargs)
    call.__name__ = original.__name__
    call.__doc__ = original.__doc__
    call.__wrapped__ = original
    return call


# -- facts about descriptors -----------------------------------------------------------------


def _kind(number: int) -> str:
    try:
        mode = os.fstat(number).st_mode
    except OSError:
        return ""
    return "pipe" if stat.S_ISFIFO(mode) else "file" if stat.S_ISREG(mode) else "other"


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


def _same_file(first: int, second: int) -> bool:
    try:
        a, b = os.fstat(first), os.fstat(second)
    except OSError:
        return False
    return bool(a.st_ino) and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _real(stream):
    while hasattr(stream, "wrapped"):
        stream = stream.wrapped
    return stream


def _write_escaped(stream, text: str) -> None:
    """What the stream cannot encode as backslash escapes, as Python writes it to stderr."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))


def _flush_buffered() -> None:
    """Text in Python's block buffers (a pipe or file without -u) belongs before what is sent
    now; a line-buffered terminal holds only a line not yet ended, which stays held, as it
    would without ideconsole."""
    for stream in (sys.__stdout__, sys.__stderr__):
        if stream is not None and not getattr(stream, "line_buffering", True):
            try:
                stream.flush()
            except Exception:
                pass


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _threads() -> int:
    """How many threads this process runs (the kernel's count where there is one)."""
    try:
        with open("/proc/self/stat", "rb") as stat_file:
            return int(stat_file.read().rsplit(b")", 1)[1].split()[17])
    except (OSError, ValueError, IndexError):
        return threading.active_count()


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
