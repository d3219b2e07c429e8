"""`python -m ideconsole run`: the command owns the terminal the way `script(1)` and CPython's
`pty.spawn` do. The script runs as a child, on a pseudo terminal of its own where stdout is a
terminal (pipes otherwise), read by a relay; this process puts the real terminal in raw mode,
copies keystrokes and the window's size into the pseudo terminal, stops and goes on with the
script (Ctrl-Z, `fg`), and exits with its status once the relay has shown all it wrote.

The relay is the child's parent and its session's leader; it outlives this process while
processes the script left behind still write, as they would to the terminal without it.
"""
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import time
import types
from typing import List, Optional

from . import capture, protocol

# Signals this process passes on to the script where it owns the terminal (the pseudo terminal
# itself turns Ctrl-C, Ctrl-\ and Ctrl-Z into signals for the script's process group).
PASSED_ON = ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2")
# Where stdout is a pipe or a file, the script shares this process group: the terminal's own
# signals reach it directly, and only a signal sent to this process alone is passed on.
PASSED_ON_SHARED = ("SIGTERM", "SIGUSR1", "SIGUSR2")
FOREGROUND_LOOK = 0.25  # seconds between looks, from the background, for the foreground
UNREAD_SECONDS = 1.0  # at most, for the relay to hand over the keys the script never read


def run_script(argv: List[str]) -> None:
    """Run `argv` (a script and its arguments, or `-m module ...`) as `python` would, with
    ideconsole installed: in a fresh `__main__`, `sys.argv` as typed, and a traceback that
    shows the script's frames only."""
    from . import install

    install()
    _trim_tracebacks(argv)
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy._run_module_as_main(argv[1], alter_argv=True)
        return
    sys.argv = list(argv)
    path = argv[0]
    if os.path.isdir(path) or not path.endswith((".py", ".pyw")) and _is_zip(path):
        runpy.run_path(path, run_name="__main__")
        return
    sys.path[0] = os.path.dirname(os.path.realpath(path))
    main = types.ModuleType("__main__")
    # Python 3.9 and later give the script an absolute __file__; earlier ones keep it as typed.
    main.__file__ = os.path.abspath(path) if sys.version_info >= (3, 9) else path
    main.__cached__ = None
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    with open(path, "rb") as file:
        code = compile(file.read(), main.__file__, "exec", dont_inherit=True)
    exec(code, vars(main))


def _is_zip(path: str) -> bool:
    import zipfile

    return zipfile.is_zipfile(path)


def _trim_tracebacks(argv: List[str]) -> None:
    """An uncaught exception's traceback starts where `python SCRIPT` (or `python -m`) starts
    it: at the script's first frame (at runpy's, for a module), not at ideconsole's."""
    previous = sys.excepthook
    if argv[0] == "-m":
        def first(frame):
            return frame.f_code.co_name == "_run_module_as_main"
    else:
        script = os.path.realpath(argv[0])

        def first(frame):
            return os.path.realpath(frame.f_code.co_filename) == script

    def excepthook(kind, value, traceback):
        start = traceback
        while start is not None and not first(start.tb_frame):
            start = start.tb_next
        if start is not None and isinstance(value, BaseException):
            value = value.with_traceback(start)  # what Python prints, from 3.11 on
        previous(kind, value, start or traceback)

    sys.excepthook = excepthook


def main_as_child() -> None:
    """The script's side, started by the relay (`python -c` with this call)."""
    run_script(sys.argv[1:])


# -- the owner -----------------------------------------------------------------------------------


def own(argv: List[str]) -> Optional[int]:
    """Run the script as a child behind a relay, this process owning the terminal; its exit
    status. None where capture does not apply (Windows, capture switched off, a console
    nothing can break): the caller runs the script in this process."""
    from .console import Console

    console = Console(capture=None)
    if capture.refused(console) is not None:
        return None
    terminal = os.isatty(1)
    try:
        setup = _Setup(console, terminal)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    child = [sys.executable] + subprocess._args_from_interpreter_flags() + [
        "-c", "__import__('ideconsole.owner').owner.main_as_child()"] + list(argv)
    return setup.start(child)


class _Setup:
    """The relay started with the script's command line; this process keeps the keyboard,
    the window size and the script's status."""

    def __init__(self, console, terminal: bool):
        self.console = console
        self.terminal = terminal
        self.keyboard = _keyboard() if terminal else None
        self.master = None  # type: Optional[int]
        self.saved_modes = None
        self.pid = None  # type: Optional[int]
        self.status = b""
        self.unread = b""  # keys typed ahead the script never read
        self.relay_ends = False  # the relay said it ends now (no process left behind still writes)
        # Where stdout is no terminal but stdin is (`run train.py | tee log` typed in a shell),
        # the script shares this process group, and the keyboard's signals reach it directly;
        # otherwise (PyCharm's pipes) it has a group of its own, and this process passes them on.
        self.shared_group = not terminal and os.isatty(0)

    def start(self, child: List[str]) -> int:
        import json as _json

        profile = dict(self.console.profile._asdict(), reasons=())
        encoding = getattr(self.console.stream, "encoding", None) or "utf-8"
        status_read, status_write = os.pipe()
        life_read, life_write = os.pipe()
        args = ["--encoding", encoding, "--profile", _json.dumps(profile), "--spawn", _json.dumps(child),
                "--status", str(status_write), "--life", str(life_read)]
        relay_fds = [status_write, life_read]
        opened = [status_read, status_write, life_read, life_write]
        if not self.terminal and not self.shared_group:
            args += ["--group", "1"]
        if self.terminal:
            self.master, slave = os.openpty()
            opened += [self.master, slave]
            capture.copy_terminal(1, slave)
            args += ["--terminal", str(self.master), "--slave", str(slave)]
            relay_fds += [self.master, slave]
            if self.keyboard is not None:
                args += ["--keyboard", "1"]
            try:
                import termios

                self.saved_modes = termios.tcgetattr(self.keyboard) if self.keyboard is not None else None
            except (OSError, ImportError):
                self.saved_modes = None
            if self.saved_modes is not None:
                args += ["--modes", protocol.modes_text(self.saved_modes)]
        try:
            relay = subprocess.Popen(capture.relay_command() + args, pass_fds=relay_fds, close_fds=True)
        except (OSError, subprocess.SubprocessError):
            for fd in opened:
                _close(fd)
            raise
        for fd in relay_fds:
            if fd != self.master:
                _close(fd)
        self.relay = relay
        self.status_fd = status_read
        self.life = life_write
        code = self.loop()
        if self.relay_ends:  # reaped, the relay's and so the script's CPU time count for `time`
            try:
                relay.wait(timeout=UNREAD_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        return code

    # -- the loop ----------------------------------------------------------------------------

    def loop(self) -> int:
        wake_read, wake_write = os.pipe()
        for fd in (wake_read, wake_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_write)
        self.caught = []
        self.catch()
        if not self.terminal and self.shared_group:
            for name in ("SIGINT", "SIGQUIT"):  # the terminal's own reach the script directly
                signal.signal(getattr(signal, name), signal.SIG_IGN)
        try:
            while True:
                readable = [self.status_fd, wake_read]
                if self.keyboard is not None and self.raw_now:
                    readable.append(self.keyboard)
                waiting = self.keyboard is not None and not self.raw_now  # for the foreground (fg)
                try:
                    ready = select.select(readable, [], [], FOREGROUND_LOOK if waiting else None)[0]
                except InterruptedError:
                    ready = []
                if wake_read in ready:
                    try:
                        os.read(wake_read, 512)
                    except OSError:
                        pass
                for number in self.caught[:]:
                    self.caught.remove(number)
                    self.signalled(number)
                if self.status_fd in ready:  # first: once the script has ended, no key goes to it
                    code = self.report()
                    if code is not None:
                        return code
                if waiting:
                    self.raw()
                if self.keyboard is not None and self.keyboard in ready and self.raw_now:
                    self.keys()
        finally:
            self.cooked()
            self.give_back_keys()
            signal.set_wakeup_fd(-1)

    def catch(self) -> None:
        names = PASSED_ON_SHARED if self.shared_group else PASSED_ON
        for name in names + ("SIGWINCH", "SIGCONT"):
            number = getattr(signal, name, None)
            if number is not None:
                signal.signal(number, lambda number, frame: self.caught.append(number))

    def foreground(self) -> int:
        """The script's terminal's foreground job (the script's group, or a program of its)."""
        try:
            return os.tcgetpgrp(self.master)
        except OSError:
            return self.pid or -1

    def keys(self) -> None:
        """Keys go to the script as they are typed: its terminal echoes them, edits its lines
        and turns Ctrl-C, Ctrl-\\ and Ctrl-Z into its signals, as a terminal of its own."""
        try:
            data = os.read(self.keyboard, 4096)
        except OSError:
            data = b""
        if data and self.master is not None:
            try:
                _write_all(self.master, data)
            except OSError:
                pass

    def give_back_keys(self) -> None:
        """Keys typed ahead that the script never read go back to the real terminal's queue, so
        the shell reads them, as it would have without ideconsole (where the system allows it:
        TIOCSTI; Linux can turn it off, and then they are lost, as under script(1))."""
        if not self.unread or self.keyboard is None:
            return
        try:
            import fcntl
            import termios

            modes = termios.tcgetattr(self.keyboard)
        except (OSError, ImportError, AttributeError, termios.error):
            return
        quiet = modes[:3] + [modes[3] & ~termios.ECHO] + modes[4:]  # echoed once already, as typed
        try:
            termios.tcsetattr(self.keyboard, termios.TCSANOW, quiet)
            for index in range(len(self.unread)):
                fcntl.ioctl(self.keyboard, termios.TIOCSTI, self.unread[index:index + 1])
        except (OSError, AttributeError, termios.error):
            pass
        finally:
            try:
                termios.tcsetattr(self.keyboard, termios.TCSANOW, modes)
            except (OSError, termios.error):
                pass

    def report(self) -> Optional[int]:
        """What the relay says of the script: its pid, a stop, its end (then the status this
        process exits with)."""
        try:
            data = os.read(self.status_fd, 4096)
        except OSError:
            data = b""
        if not data:  # the relay is gone, killed from outside: nobody can say more
            return 1
        self.status += data
        while b"\n" in self.status:
            line, self.status = self.status.split(b"\n", 1)
            word, _, value = line.decode("ascii").partition(" ")
            if word == "pid":
                self.pid = int(value)
            elif word == "stopped":
                self.stop()
            elif word == "exit":
                self.collect_unread()
                return int(value)
            elif word == "signal":
                self.collect_unread()
                return self.die(int(value))
        return None

    def collect_unread(self) -> None:
        """The script has ended: keys stop going to its terminal (those typed from now on stay
        on the real terminal's queue), and the relay hands over those it never read."""
        self.cooked()
        try:
            os.write(self.life, b"k")
        except OSError:
            return
        deadline = time.monotonic() + UNREAD_SECONDS
        while b"\n" not in self.status and time.monotonic() < deadline:
            if not select.select([self.status_fd], [], [], deadline - time.monotonic())[0]:
                break
            try:
                data = os.read(self.status_fd, 1 << 17)
            except OSError:
                break
            if not data:
                break
            self.status += data
        line, _, self.status = self.status.partition(b"\n")
        word, _, value = line.decode("ascii").partition(" ")
        if word == "keys":
            keys, _, end = value.partition(" ")
            self.unread = bytes.fromhex(keys)
            self.relay_ends = end == "end"

    def signalled(self, number: int) -> None:
        """A signal sent to this process from outside (the keyboard's come through the script's
        own terminal): a terminal's kind (SIGINT, SIGQUIT, SIGHUP) goes to the script's
        foreground job as its terminal would send it, another to the script itself."""
        if number == getattr(signal, "SIGWINCH", None):
            if self.master is not None:
                capture.copy_size(1, self.master)
            return
        if number == getattr(signal, "SIGCONT", None):
            return  # the loop takes the keyboard back once in the foreground
        if self.pid is None:
            return
        try:
            if number in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
                os.killpg(self.foreground() if self.terminal else self.pid, number)
            else:
                os.kill(self.pid, number)
        except OSError:
            pass

    def stop(self) -> None:
        """The script stopped (Ctrl-Z): this process stops too, so the shell takes the terminal
        back; `fg` continues both."""
        self.cooked()
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)
        # continued (fg, bg)
        self.catch()
        if self.master is not None:
            capture.copy_size(1, self.master)
        if self.pid is not None:
            try:
                os.killpg(self.pid if not self.terminal else os.getpgid(self.pid), signal.SIGCONT)
            except OSError:
                pass

    def die(self, number: int) -> int:
        """Die of the signal that killed the script, as the shell then reports it."""
        self.cooked()
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the script's core is the one
        except (ImportError, ValueError, OSError):
            pass
        signal.set_wakeup_fd(-1)
        try:
            signal.signal(number, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL and SIGSTOP have no handler to take back
        try:
            os.kill(os.getpid(), number)
        except OSError:
            pass
        return 128 + number  # a signal whose default is to go on (SIGWINCH...)

    # -- the real terminal's modes --------------------------------------------------------------

    raw_now = False

    def raw(self) -> None:
        """The keyboard's keys come here as typed (no echo, no signals: the script's own
        terminal does those), while this process is the foreground job (from the background a
        change of modes would stop it)."""
        if self.keyboard is None or self.raw_now:
            return
        try:
            if os.tcgetpgrp(self.keyboard) != os.getpgrp():
                return
            import termios

            modes = termios.tcgetattr(self.keyboard)
            self.saved_modes = modes[:6] + [list(modes[6])]  # what it gets back
            modes[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR
                          | termios.IGNCR | termios.ICRNL | termios.IXON)
            modes[1] &= ~termios.OPOST
            modes[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.IEXTEN | termios.ISIG)
            modes[2] &= ~(termios.CSIZE | termios.PARENB)
            modes[2] |= termios.CS8
            modes[6][termios.VMIN] = 1
            modes[6][termios.VTIME] = 0
            termios.tcsetattr(self.keyboard, termios.TCSANOW, modes)  # (not TCSAFLUSH: typed keys stay)
            self.raw_now = True
        except (OSError, ImportError):
            pass

    def cooked(self) -> None:
        if not self.raw_now:
            return
        self.raw_now = False
        try:
            import termios

            termios.tcsetattr(self.keyboard, termios.TCSANOW, self.saved_modes)
        except (OSError, ImportError):
            pass


def _keyboard() -> Optional[int]:
    """The terminal the script's keystrokes come from: stdin where it is stdout's terminal."""
    try:
        if os.isatty(0) and os.fstat(0).st_rdev == os.fstat(1).st_rdev:
            return 0
    except OSError:
        pass
    return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


# -- the relay's side: the script as its child ------------------------------------------------


class Script:
    """In the relay: the script, started as this process's child (in a session of its own on
    the pseudo terminal, where there is one), and what its owner is told of it."""

    SIGNALS = ("SIGINT", "SIGTSTP", "SIGQUIT", "SIGTERM", "SIGHUP", "SIGTTOU", "SIGTTIN")

    def __init__(self, options: dict, inherited: dict, profile_json: str, marker: bytes):
        """`inherited`: the signal dispositions the owner gave this process, for the script."""
        import fcntl
        import termios

        self.status = int(options["--status"])
        self.life = int(options["--life"])
        self.modes = protocol.modes_from_text(options["--modes"]) if "--modes" in options else None
        self.terminal = int(options["--terminal"]) if "--terminal" in options else None
        self.pid = None  # type: Optional[int]
        self.code = None  # type: Optional[str]
        self.answered = False  # the owner has had the keys the script never read
        self.ending = False  # every writer is gone: this process ends once its owner is answered
        control_read, control_write = os.pipe()
        back_read, back_write = os.pipe()
        self.control, self.back = control_read, back_write
        self.channels = {}  # the relay's read ends -> "stdout" / "stderr"
        child_ends = []
        if self.terminal is not None:
            slave = int(options["--slave"])
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            self.channels[self.terminal] = "stdout"
            self.ordered = self.terminal
            plan = capture.plan_channels(True)
            stdio = {0: slave if "--keyboard" in options else None, 1: slave,
                     2: slave if plan.get(2) == "same" else None}
            child_ends.append(slave)
        else:
            plan = capture.plan_channels(False)
            read, write = os.pipe()
            self.channels[read] = "stdout"
            self.ordered = read
            stdio = {0: None, 1: write, 2: None}
            child_ends.append(write)
            if plan.get(2) == "same":
                stdio[2] = write
            elif plan.get(2) == "own":
                read, write = os.pipe()
                self.channels[read] = "stderr"
                stdio[2] = write
                child_ends.append(write)
        env = dict(os.environ)
        env[capture.RELAY] = "{},{},{},{}".format(control_write, back_read, marker.hex(), profile_json)
        env[capture.CAPTURED] = capture._identity(stdio[1])
        terminal = self.terminal is not None
        group = terminal or "--group" in options  # a process group of its own

        def prepare():
            for name, disposition in inherited.items():
                signal.signal(getattr(signal, name), disposition)
            if group:
                os.setpgid(0, 0)
            if terminal:  # the script's group is the terminal's foreground job
                signal.signal(signal.SIGTTOU, signal.SIG_IGN)
                os.tcsetpgrp(1, os.getpgrp())
                signal.signal(signal.SIGTTOU, inherited.get("SIGTTOU", signal.SIG_DFL))

        command = json.loads(options["--spawn"])
        try:
            process = subprocess.Popen(command, stdin=stdio[0], stdout=stdio[1], stderr=stdio[2], env=env,
                                       pass_fds=(control_write, back_read), preexec_fn=prepare)
        finally:
            for fd in child_ends + [control_write, back_read]:
                _close(fd)
        self.pid = process.pid
        self.process = process
        self.group = group
        self.tell("pid {}".format(process.pid))

    def attach(self, relay) -> None:
        """The relay watches the script's end and its owner's."""
        self.relay = relay
        wake_read, wake_write = os.pipe()
        for fd in (wake_read, wake_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda number, frame: None)
        relay.watch(wake_read, self._woken)
        relay.watch(self.life, self._from_owner)
        self._reap()

    def _woken(self, fd: int) -> None:
        try:
            os.read(fd, 512)
        except OSError:
            pass
        self._reap()

    def _reap(self, block: bool = False) -> None:
        while self.code is None:
            flags = (0 if block else os.WNOHANG) | os.WUNTRACED | getattr(os, "WCONTINUED", 0)
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:
                self.code = "exit 1"
                break
            except InterruptedError:
                continue
            if pid == 0:
                return
            if os.WIFSTOPPED(status):
                self.relay.show_unfinished()
                self.tell("stopped")
            elif os.WIFSIGNALED(status):
                self.code = "signal {}".format(os.WTERMSIG(status))
            elif os.WIFEXITED(status):
                self.code = "exit {}".format(os.WEXITSTATUS(status))
        # Everything the script wrote is in its channels now: shown before its owner exits,
        # so the shell's prompt comes after it. The owner then stops passing keys on and asks
        # for those the script never read (see _from_owner).
        self.relay.settle()
        self.tell(self.code)

    def _from_owner(self, fd: int) -> None:
        """The owner asks for the keys the script never read ("k"), or is gone (killed)."""
        try:
            data = os.read(fd, 64)
        except OSError:
            data = b""
        if data:
            if self.code is not None and not self.answered:
                self.answered = True
                # " end": this process ends now, and its owner can wait for it (then `time`
                # counts the script's CPU time, as it does without ideconsole)
                self.tell("keys " + self._unread_keys().hex() + (" end" if self.ending else ""))
            return
        self._owner_gone(fd)

    def _answer_owner(self) -> None:
        """The script has ended and everything it wrote is shown: its owner, told so, asks for
        the keys it never read before it exits; a relay whose channels ended first waits for
        that question (briefly: an owner that cannot ask is gone or stopped)."""
        deadline = time.monotonic() + UNREAD_SECONDS
        while not self.answered and self.life is not None:
            left = deadline - time.monotonic()
            try:
                if left <= 0 or not select.select([self.life], [], [], left)[0]:
                    return
            except InterruptedError:
                continue
            except (OSError, ValueError):
                return
            self._from_owner(self.life)

    def _owner_gone(self, fd: int) -> None:
        """The owner was killed from outside (SIGKILL: any other signal it passes on): the
        terminal gets its modes back, and the script is killed too, as `kill -9` of the
        script itself would have."""
        self.relay.unwatch(fd)
        _close(fd)
        self.life = None
        if self.modes is not None:
            try:
                import termios

                termios.tcsetattr(1, termios.TCSANOW, self.modes)
            except (OSError, ImportError):
                pass
        if self.code is None:
            try:
                if self.group:
                    os.killpg(self.pid, signal.SIGKILL)
                else:
                    os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass

    def _unread_keys(self) -> bytes:
        """Keys that went to the script's terminal and were never read (typed ahead while it
        was busy): taken from its input queue, for the owner to give back to the shell."""
        if self.terminal is None:
            return b""
        try:
            import termios

            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except (OSError, ImportError):
            return b""
        chunks = []
        try:
            os.tcsetpgrp(fd, os.getpgrp())  # a read from the background would fail
            modes = termios.tcgetattr(fd)
            whole = modes[:6] + [list(modes[6])]
            whole[3] &= ~(termios.ICANON | termios.ECHO)  # a line not yet ended is read too
            whole[6][termios.VMIN], whole[6][termios.VTIME] = 0, 0
            termios.tcsetattr(fd, termios.TCSANOW, whole)
            while sum(map(len, chunks)) < 1 << 16:
                data = os.read(fd, 4096)
                if not data:
                    break
                chunks.append(data)
        except (OSError, termios.error):
            pass
        finally:
            try:
                termios.tcsetattr(fd, termios.TCSANOW, modes)
            except (OSError, termios.error, NameError):
                pass
            _close(fd)
        return b"".join(chunks)

    def tell(self, line: str) -> None:
        try:
            os.write(self.status, line.encode("ascii") + b"\n")
        except OSError:
            pass

    def finish(self) -> None:
        """Every writer is gone: the script's end is told, if it was not yet, and what is left
        in the session is no foreground job, so the session's end signals nobody."""
        if self.code is None:
            self._reap(block=True)
        self.ending = True
        self._answer_owner()
        if self.terminal is not None:
            try:
                fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
                os.tcsetpgrp(fd, os.getpgrp())
                os.close(fd)
            except OSError:
                pass
