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
import types
from typing import List, Optional

from . import _compat, capture, protocol

# Signals this process passes on to the script where it owns the terminal (the pseudo terminal
# itself turns Ctrl-C, Ctrl-\ and Ctrl-Z into signals for the script's process group).
PASSED_ON = ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2")
# Where stdout is a pipe or a file, the script shares this process group: the terminal's own
# signals reach it directly, and only a signal sent to this process alone is passed on.
PASSED_ON_SHARED = ("SIGTERM", "SIGUSR1", "SIGUSR2")
KEY_LOOK = 0.04  # seconds between looks for a reader while typed keys wait
MODES_LOOK = 0.1  # seconds between looks at the script's terminal modes


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
        if self.terminal:
            self.master, slave = os.openpty()
            opened += [self.master, slave]
            self.readers = _compat.Readers(os.fstat(slave).st_rdev)
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
        return self.loop()

    # -- the loop ----------------------------------------------------------------------------

    def loop(self) -> int:
        wake_read, wake_write = os.pipe()
        for fd in (wake_read, wake_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_write)
        self.caught = []
        self.catch()
        if not self.terminal:
            for name in ("SIGINT", "SIGQUIT", "SIGHUP"):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
        pending = False  # keys wait on the keyboard, for a program that reads them
        try:
            while True:
                readable = [self.status_fd, wake_read]
                if self.keyboard is not None and self.raw_now and not pending:
                    readable.append(self.keyboard)
                waiting = self.keyboard is not None and (pending or not self.raw_now)
                try:
                    ready = select.select(readable, [], [], KEY_LOOK if waiting else MODES_LOOK)[0]
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
                if self.keyboard is not None:
                    self.raw()  # the terminal's modes follow the script's (and come back after fg)
                    if self.raw_now and (pending or self.keyboard in ready):
                        pending = not self.forwarded()
                if self.status_fd in ready:
                    code = self.report()
                    if code is not None:
                        return code
        finally:
            self.cooked()
            signal.set_wakeup_fd(-1)

    def catch(self) -> None:
        names = PASSED_ON + ("SIGTSTP",) if self.terminal else PASSED_ON_SHARED
        for name in names + ("SIGWINCH", "SIGCONT"):
            number = getattr(signal, name, None)
            if number is not None:
                signal.signal(number, lambda number, frame: self.caught.append(number))

    def forwarded(self) -> bool:
        """Pass the keys typed to the script, if a program of its waits for them (as on a
        terminal of its own): keys typed ahead while it is busy stay on the terminal's queue,
        for the shell if the script ends without reading them. False: they wait."""
        if not self.pty_cooked() or self.readers.waiting(self.foreground()) is not False:
            self.keys()
            return True
        return False

    def foreground(self) -> int:
        try:
            return os.tcgetpgrp(self.master)
        except OSError:
            return -1

    def pty_cooked(self) -> bool:
        modes = self.pty_modes()
        import termios

        return modes is not None and bool(modes[3] & termios.ICANON)

    def pty_modes(self):
        try:
            import termios

            return termios.tcgetattr(self.master)
        except (OSError, ImportError):
            return None

    def keys(self) -> None:
        try:
            os.set_blocking(self.keyboard, False)
            data = os.read(self.keyboard, 4096)
        except OSError:
            data = b""
        finally:
            os.set_blocking(self.keyboard, True)
        if data and self.master is not None:
            try:
                _write_all(self.master, data)
            except OSError:
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
                return int(value)
            elif word == "signal":
                return self.die(int(value))
        return None

    def signalled(self, number: int) -> None:
        """A signal for the script: the keyboard's own (Ctrl-C, Ctrl-\\, Ctrl-Z) are typed into
        the pseudo terminal, which signals the script's foreground job and echoes them, as the
        real terminal would have; others go to the script."""
        if number == getattr(signal, "SIGWINCH", None):
            if self.master is not None:
                capture.copy_size(1, self.master)
            return
        if number == getattr(signal, "SIGCONT", None):
            return  # the loop takes the keyboard back once in the foreground
        keys = {signal.SIGINT: "VINTR", signal.SIGQUIT: "VQUIT",
                getattr(signal, "SIGTSTP", None): "VSUSP"}
        modes = self.pty_modes() if self.master is not None else None
        try:
            import termios

            if number in keys and modes is not None and modes[3] & termios.ISIG:
                _write_all(self.master, modes[6][getattr(termios, keys[number])])
            elif number in keys or number == getattr(signal, "SIGHUP", None) and self.terminal:
                os.killpg(self.foreground() if self.terminal else self.pid, number)
            elif self.pid is not None:
                os.kill(self.pid, number)
        except (OSError, ImportError, TypeError):
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
        """The keyboard's keys come here unechoed, one at a time, while this process is the
        foreground job (from the background a change of modes would stop it): the pseudo
        terminal echoes and edits them. Its Ctrl-C, Ctrl-\\ and Ctrl-Z stay signals, as the
        script has them, so they work while nobody reads the keys. Nothing typed is dropped."""
        if self.keyboard is None or self.saved_modes is None:
            return
        try:
            if os.tcgetpgrp(self.keyboard) != os.getpgrp():
                self.raw_now = False
                return
            import termios

            pty = self.pty_modes()
            modes = termios.tcgetattr(self.keyboard)
            if not self.raw_now:  # what to give back: the modes of the moment it became ours
                self.saved_modes = modes[:6] + [list(modes[6])]
            modes[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR
                          | termios.IGNCR | termios.ICRNL | termios.IXON)
            modes[1] &= ~termios.OPOST
            modes[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.IEXTEN | termios.ISIG)
            modes[2] &= ~(termios.CSIZE | termios.PARENB)
            modes[2] |= termios.CS8
            modes[6][termios.VMIN] = 1
            modes[6][termios.VTIME] = 0
            if pty is not None and pty[3] & termios.ISIG:
                modes[3] |= termios.ISIG
                for key in ("VINTR", "VQUIT", "VSUSP"):
                    index = getattr(termios, key)
                    modes[6][index] = pty[6][index]
            if modes != self.set_modes:
                termios.tcsetattr(self.keyboard, termios.TCSANOW, modes)
                self.set_modes = modes
            self.raw_now = True
        except (OSError, ImportError):
            pass

    set_modes = None

    def cooked(self) -> None:
        if not self.raw_now:
            return
        self.raw_now = False
        self.set_modes = None
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

        def prepare():
            for name, disposition in inherited.items():
                signal.signal(getattr(signal, name), disposition)
            if terminal:  # the script's group is the terminal's foreground job
                signal.signal(signal.SIGTTOU, signal.SIG_IGN)
                os.setpgid(0, 0)
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
        relay.watch(self.life, self._owner_gone)
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
        # so the shell's prompt comes after it.
        self.relay.settle()
        self.tell(self.code)

    def _owner_gone(self, fd: int) -> None:
        """The owner was killed from outside: the terminal gets its modes back, the script
        goes on (as a background job would), and what it writes is still shown."""
        self.relay.unwatch(fd)
        _close(fd)
        if self.modes is not None:
            try:
                import termios

                termios.tcsetattr(1, termios.TCSANOW, self.modes)
            except (OSError, ImportError):
                pass

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
        if self.terminal is not None:
            try:
                fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
                os.tcsetpgrp(fd, os.getpgrp())
                os.close(fd)
            except OSError:
                pass
