"""Every platform difference in one place: asking a stream what it is without ever
raising, the terminal's width, the Windows console's mode and code page, and which
programs started this process. The rest of ideconsole reads as if there were one platform.
"""
import os
import signal
import stat
import sys
from typing import Optional, TextIO, Tuple

from .detect import Facts

ENABLE_VIRTUAL_TERMINAL_PROCESSING = 0x0004
STD_HANDLES = {1: -11, 2: -12}  # file descriptor -> GetStdHandle argument


def isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:  # closed, detached, or a stream without isatty
        return False


def fileno(stream) -> Optional[int]:
    try:
        return stream.fileno()
    except Exception:
        return None


def is_regular_file(stream) -> bool:
    number = fileno(stream)
    if number is None:
        return False
    try:
        return stat.S_ISREG(os.fstat(number).st_mode)
    except OSError:
        return False


def same_file(first, second) -> bool:
    """Whether two streams write into the same file or pipe (`2>&1`). Windows gives every
    pipe the same identity, no inode: two such pipes are not taken for one."""
    try:
        a, b = os.fstat(first.fileno()), os.fstat(second.fileno())
    except Exception:
        return False
    return bool(a.st_ino) and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def escape_unencodable(stream) -> None:
    """Let `stream` write what its encoding cannot show as backslash escapes instead of
    raising UnicodeEncodeError, as Python's stderr does (Python 3.7+)."""
    try:
        if stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")
    except Exception:  # not a TextIOWrapper, Python 3.6, or a closed stream
        pass


def encoding(stream) -> str:
    return getattr(stream, "encoding", None) or "utf-8"


def _terminal_size(stream) -> Optional[os.terminal_size]:
    number = fileno(stream)
    if number is None:
        return None
    try:
        return os.get_terminal_size(number)
    except (OSError, ValueError):
        return None


def terminal_width(stream) -> Optional[int]:
    """Columns of the terminal behind `stream`, or None when it has none."""
    size = _terminal_size(stream)
    return size.columns if size is not None and size.columns > 0 else None


def same_destination(one, other) -> bool:
    """Whether two streams end in one place: one terminal, file or pipe (`2>&1`)."""
    if one is other:
        return True
    if isatty(one) and isatty(other):
        return True  # one terminal, as far as anyone drawing on it can tell
    return same_file(one, other)


def terminal_rows(stream) -> Optional[int]:
    """Rows of the terminal behind `stream`, or None when it has none."""
    size = _terminal_size(stream)
    return size.lines if size is not None and size.lines > 0 else None


def discard_output(stream) -> None:
    """Point the descriptor behind `stream` at the null device (after a broken pipe)."""
    number = fileno(stream)
    if number is None:
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, number)
        os.close(null)
    except OSError:
        pass


def null_device(stream) -> bool:
    """Whether the descriptor behind `stream` is the null device."""
    number = fileno(stream)
    try:
        return number is not None and os.path.samestat(os.fstat(number), os.stat(os.devnull))
    except (OSError, ValueError):
        return False


def exit_for_closed_pipe() -> int:
    """End a command whose reader went away (`| head`) as `cat` and `grep` end there: killed by
    SIGPIPE, quietly (the shell says 141), nothing more written. Where there is no SIGPIPE
    (Windows), status 1, Python's own convention for a broken pipe: returned to the caller."""
    discard_output(sys.stdout)  # Python's flush at exit would raise into the closed pipe
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # Python ignores it from the start
        os.kill(os.getpid(), signal.SIGPIPE)
    return 1


def _windows_console_mode(number: int) -> Optional[bool]:
    """Try to turn on VT processing for the console behind fd `number`.
    True: on (now or already); False: refused (Windows 7, or a legacy-mode console);
    None: no console there."""
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.GetStdHandle(STD_HANDLES.get(number, -11))
    mode = wintypes.DWORD()
    if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
        return None
    if mode.value & ENABLE_VIRTUAL_TERMINAL_PROCESSING:
        return True
    return bool(kernel32.SetConsoleMode(handle, mode.value | ENABLE_VIRTUAL_TERMINAL_PROCESSING))


def _windows_codepage() -> Optional[int]:
    import ctypes

    return ctypes.windll.kernel32.GetConsoleOutputCP() or None


def stream_type(stream) -> str:
    """The stream's class as "module.Name": IDLE's and Thonny's shells have their own."""
    kind = type(stream)
    return "{}.{}".format(getattr(kind, "__module__", ""), getattr(kind, "__qualname__", kind.__name__))


def debugger() -> str:
    """The file of the pydevd module loaded (PyCharm's debugger, or VS Code's debugpy), or ""."""
    module = sys.modules.get("pydevd")
    return str(getattr(module, "__file__", "") or "") if module is not None else ""


PARENTS = 6  # enough for IDE, conda, a shell and the interpreter's own launcher
_parents = {}  # pid -> its parents and whether each passes this stdout on, read once


def parents() -> Optional[Tuple[str, ...]]:
    """The command lines of this process's parent, grandparent and so on (nearest first),
    or None where they cannot be read cheaply. Read once per process."""
    return _ancestry()[0]


def passing() -> Optional[Tuple[bool, ...]]:
    """For each of `parents()`, whether its own stdout is the very pipe or terminal this
    process's is (a launcher that passed it on, as `conda run` does), or None where that cannot
    be read (outside Linux)."""
    return _ancestry()[1]


def _ancestry():
    pid = os.getpid()
    if pid not in _parents:
        found = passes = None
        try:
            if sys.platform.startswith("linux"):
                found, passes = _linux_parents(pid)
            elif sys.platform == "darwin":
                found = _ps_parents(pid)
            elif sys.platform == "win32":
                found = _windows_parents(pid)
        except Exception:  # a process gone meanwhile, /proc hidden, no ps: unknown
            found = passes = None
        _parents[pid] = (found, passes)
    return _parents[pid]


def _linux_parents(pid: int):
    found, passes = [], []
    try:
        ours = os.fstat(1)
        ours = (ours.st_dev, ours.st_ino)
    except OSError:
        ours = None
    for _ in range(PARENTS):
        with open("/proc/{}/stat".format(pid), "rb") as stat_file:
            fields = stat_file.read().rsplit(b")", 1)[1].split()
        pid = int(fields[1])  # the field after the state is the parent's pid
        if pid <= 0:
            break
        with open("/proc/{}/cmdline".format(pid), "rb") as cmdline:
            command = cmdline.read().replace(b"\0", b" ").strip()
        if not command:
            with open("/proc/{}/comm".format(pid), "rb") as comm:
                command = comm.read().strip()
        found.append(command.decode("utf-8", "replace"))
        try:
            theirs = os.stat("/proc/{}/fd/1".format(pid))
            passes.append(ours is not None and (theirs.st_dev, theirs.st_ino) == ours)
        except OSError:  # not ours to look at
            passes.append(False)
        if pid == 1:
            break
    return tuple(found), tuple(passes)


def _ps_parents(pid: int) -> Tuple[str, ...]:
    """macOS has no /proc: one `ps` for every process's parent and command line."""
    import subprocess

    listing = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "ppid=", "-o", "command="],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=2).stdout
    table = {}
    for line in listing.decode("utf-8", "replace").splitlines():
        fields = line.split(None, 2)
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit():
            table[int(fields[0])] = (int(fields[1]), fields[2] if len(fields) > 2 else "")
    return _walk(pid, table)


def _walk(pid: int, table) -> Tuple[str, ...]:
    """Up the tree of {pid: (parent pid, command)}."""
    found = []
    while len(found) < PARENTS and pid in table:
        pid = table[pid][0]
        if pid not in table:
            break
        found.append(table[pid][1])
    return tuple(found)


def _windows_parents(pid: int) -> Tuple[str, ...]:
    """Executable names from a Toolhelp snapshot (pycharm64.exe, conda.exe, python.exe)."""
    import ctypes
    from ctypes import wintypes

    class Entry(ctypes.Structure):
        _fields_ = [("dwSize", wintypes.DWORD), ("cntUsage", wintypes.DWORD),
                    ("th32ProcessID", wintypes.DWORD), ("th32DefaultHeapID", ctypes.c_size_t),
                    ("th32ModuleID", wintypes.DWORD), ("cntThreads", wintypes.DWORD),
                    ("th32ParentProcessID", wintypes.DWORD), ("pcPriClassBase", ctypes.c_long),
                    ("dwFlags", wintypes.DWORD), ("szExeFile", ctypes.c_wchar * 260)]

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.CreateToolhelp32Snapshot.restype = wintypes.HANDLE
    snapshot = kernel32.CreateToolhelp32Snapshot(0x2, 0)  # TH32CS_SNAPPROCESS
    if snapshot in (None, wintypes.HANDLE(-1).value):
        raise OSError("no process snapshot")
    table = {}
    try:
        entry = Entry()
        entry.dwSize = ctypes.sizeof(Entry)
        more = kernel32.Process32FirstW(snapshot, ctypes.byref(entry))
        while more:
            table[entry.th32ProcessID] = (entry.th32ParentProcessID, entry.szExeFile)
            more = kernel32.Process32NextW(snapshot, ctypes.byref(entry))
    finally:
        kernel32.CloseHandle(snapshot)
    return _walk(pid, table)


def in_ipykernel(stream) -> bool:
    return "ipykernel" in sys.modules and type(stream).__name__ == "OutStream"


def probe(stream: Optional[TextIO]) -> Facts:
    """Gather the facts `detect()` needs. On a Windows console this may switch VT
    processing on, which is the documented way to learn whether the console has it."""
    tty = isatty(stream)
    platform = sys.platform
    version = vt = codepage = None
    if platform == "win32":
        wv = sys.getwindowsversion()
        version = (wv.major, wv.minor, wv.build)
        number = fileno(stream)
        if tty and number in STD_HANDLES:
            try:
                vt = _windows_console_mode(number)
                codepage = _windows_codepage()
            except Exception:  # ctypes missing or a console API refusing: assume legacy
                vt = False
    regular = not tty and is_regular_file(stream)
    return Facts(isatty=tty, encoding=encoding(stream), width=terminal_width(stream) if tty else None,
                 platform=platform, windows_version=version, vt_enabled=vt, codepage=codepage,
                 ipykernel=in_ipykernel(stream), regular_file=regular, stream_type=stream_type(stream),
                 parents=None if regular else parents(), passing=None if regular else passing(),
                 debugger=debugger())


def opens_terminal(rdev: Optional[int], exclude=(), group: Optional[int] = None) -> Optional[bool]:
    """Whether a process of process group `group` (other than those in `exclude`) has the
    terminal `rdev` open on a descriptor of its own making (3 and up: a pager opens the
    terminal behind stderr), from Linux's /proc; None where that cannot be read."""
    if rdev is None or group is None or not sys.platform.startswith("linux"):
        return None
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    for name in names:
        if not name.isdigit() or int(name) in exclude:
            continue
        try:
            with open("/proc/{}/stat".format(name), "rb") as stat_file:
                if int(stat_file.read().rsplit(b")", 1)[1].split()[2]) != group:
                    continue
            for fd in os.listdir("/proc/{}/fd".format(name)):
                if int(fd) >= 3 and os.stat("/proc/{}/fd/{}".format(name, fd)).st_rdev == rdev:
                    return True
        except (OSError, ValueError, IndexError):
            continue
    return False
