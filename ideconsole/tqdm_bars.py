"""tqdm's drawing methods, presented through a `Console`: each bar is a row of the status
area (nested bars by `position`), its text made by tqdm's own `format_meter`. Mixed into
tqdm's class by `install()` and by `ideconsole.tqdm`; nothing here imports tqdm.
"""
import atexit
import os
import re
import sys
from typing import Optional

from . import _compat, faults, session
from .cells import cell_width
from .console import Console, get_console, real_stream

STOCK = ("display", "clear", "close", "write")  # tqdm's own, kept as _stock_<name>
SHARED_DOCUMENT = ("pycharm", "jupyter", "thonny", "idle")  # both streams shown in one place
_PID = os.getpid()
_BAR_AFTER_LEFT = re.compile(r"\{l_bar\}\{bar(?::[^}]*)?\}\|?")  # "{l_bar}{bar}|": "desc: 40%|####|"
_BAR = re.compile(r"\{bar(?::[^}]*)?\}")


def stock_methods(cls) -> dict:
    """tqdm's own methods of `cls` under the names the methods below fall back on (the
    saved ones where `cls` is patched already)."""
    found = {}
    for name in STOCK:
        for klass in cls.__mro__:
            value = vars(klass).get("_stock_" + name, vars(klass).get(name))
            if value is not None:
                found["_stock_" + name] = value
                break
    return found


def _unwrapped(stream):
    """The stream tqdm was given, inside the wrappers it puts around it."""
    while "_wrapped" in getattr(stream, "__dict__", ()):
        stream = vars(stream)["_wrapped"]
    return real_stream(stream)


def console_for(stream) -> Optional[Console]:
    """The Console that presents what is drawn on `stream`: stdout's, also for stderr
    where both end in one place (a terminal, PyCharm's run window, `2>&1`); stderr's own
    where it goes elsewhere; None for any other file, where tqdm draws as it always has, and
    in worker processes, whose bars tqdm places by `position` among the parent's."""
    if _in_worker_process():
        return None
    real = _unwrapped(stream)
    stdout, stderr = _process_stdout(), real_stream(sys.stderr)
    if real is None or real not in (stdout, stderr):
        return None
    if real is stdout:
        return get_console(stdout)
    if stdout is not None:  # None: pythonw, or a script that threw stdout away
        console = get_console(stdout)
        if console.profile.console in SHARED_DOCUMENT or _compat.same_destination(stdout, stderr):
            return console
    return get_console(stderr)


def _stream_name(stream) -> str:
    """Which of the console's streams tqdm's `stream` is: "stdout" or "stderr"."""
    return "stdout" if _unwrapped(stream) is real_stream(sys.stdout) else "stderr"


def _process_stdout():
    """sys.stdout's real stream; while the script silences it (contextlib.redirect_stdout
    around a noisy call) and stderr is still the process's own, the process's own stdout,
    beside which the bars are up."""
    stdout = real_stream(sys.stdout)
    if (stdout is not None and stdout is not sys.__stdout__ and sys.__stdout__ is not None
            and real_stream(sys.stderr) is sys.__stderr__):
        return sys.__stdout__
    return stdout


def _in_worker_process() -> bool:
    if os.getpid() != _PID:  # forked after ideconsole was imported
        return True
    processes = sys.modules.get("multiprocessing")
    return processes is not None and processes.current_process().name != "MainProcess"


def _presenter(stream) -> Optional[Console]:
    """console_for(stream), or None (tqdm's own drawing) if even asking fails."""
    try:
        return console_for(stream)
    except Exception:
        return None


def _presenter_of(bar) -> Optional[Console]:
    """The Console of `bar`, decided when it is first drawn: a script may silence stdout
    for a while (contextlib.redirect_stdout) while the bar is up, and the bar's row stays
    where it is."""
    if _in_worker_process():
        return None
    try:
        return vars(bar)["_ideconsole_console"]
    except KeyError:
        console = bar._ideconsole_console = _presenter(getattr(bar, "fp", None))
        return console


def _line(bar, width: Optional[int], console: Console) -> str:
    """The bar as tqdm formats it, `width` cells at most (0: no bar at all)."""
    meter = bar.format_dict
    ncols = meter.get("ncols")
    if width == 0 and meter.get("bar_format"):
        # tqdm's ncols=0 would drop the caller's format with the bar: keep it, bar left out
        meter["bar_format"], width = _without_bar(meter["bar_format"], meter), None
    if width is not None and (not ncols or ncols > width):
        meter["ncols"] = width
    if not console.profile.unicode:
        meter["ascii"] = True
    return bar.format_meter(**meter)


def _without_bar(bar_format: str, meter: dict) -> str:
    """`bar_format` with its `{bar}` left out, and the borders tqdm's `{l_bar}` puts
    around it, as tqdm leaves them out of its own line without a bar."""
    prefix = meter.get("prefix") or ""
    if prefix and not prefix.endswith(": "):  # set_description() gives it its ": " already
        prefix += ": "
    lead = prefix.replace("{", "{{").replace("}", "}}") + ("{percentage:3.0f}%" if meter.get("total") else "")
    bar_format = _BAR_AFTER_LEFT.sub(lambda match: lead.rstrip(), bar_format)
    return _BAR.sub("", bar_format)


def _final_line(bar, console: Console) -> str:
    """A kept bar's last line, as wide as the console, but never cut (a narrow console
    wraps it): its postfix holds what matters most at the end."""
    if not console.redraws:
        return _line(bar, 0, console)
    width = console.full_width()
    whole = _line(bar, None, console)  # tqdm's default 10-cell bar, nothing cut
    if width is None or cell_width(whole, console.profile.ambiguous_wide) > width:
        return whole
    return _line(bar, width, console)


def _brief(bar) -> str:
    """`outer 2/3`: what an outer bar shows next to the bars nested in it."""
    meter = bar.format_dict
    count = "{n_fmt}/{total_fmt}" if meter.get("total") else "{n_fmt}{unit}"
    meter.update(ncols=None, bar_format=count, prefix="")
    desc = (bar.desc or "").strip().rstrip(":")
    return (desc + " " if desc else "") + bar.format_meter(**meter)


def _draw(bar, console: Console) -> None:
    if not getattr(bar, "_ideconsole_drawn", False):
        session.install_excepthook()  # a traceback comes below the bars' latest state
    bar._ideconsole_drawn = True
    key, depth = id(bar), abs(bar.pos)
    if console.redraws:
        console.status(_line(bar, console.width(key, depth), console), row=key, brief=_brief(bar),
                       depth=depth)
        return
    # A log: a complete line per bar at most every interval; a finished bar's final line
    # follows at once (close()), or never (leave=False).
    if bar.total and bar.n >= bar.total:
        return
    now = bar._time()
    due = getattr(bar, "_ideconsole_due", bar.start_t + console.interval)
    if now >= due:
        bar._ideconsole_due = now + console.interval
        console.status(_line(bar, 0, console))


class TqdmMethods:
    """The methods of tqdm's class that draw, presenting the bar through a Console when
    it is drawn on stdout or stderr (tqdm's own methods for any other file)."""

    def display(self, msg=None, pos=None):
        console = _presenter_of(self)
        if console is None:
            return self._stock_display(msg, pos)
        try:
            if msg is None:
                _draw(self, console)
            elif not msg:
                console.clear(row=id(self))
        except Exception:  # a progress bar must never stop the loop it counts
            faults.swallowed("TqdmMethods.display")
        return True

    def clear(self, nolock=False):
        if self.disable:
            return
        if _presenter_of(self) is None:
            self._stock_clear(nolock)
        # Otherwise other output goes above the bars by itself: nothing to take down.

    def close(self):
        if getattr(self, "disable", True):
            return
        console = _presenter_of(self)
        if console is None:
            if getattr(self, "_ideconsole_drawn", False) and _in_worker_process():
                # a forked child's copy of a bar its parent draws (collected as the child
                # exits): the parent ends it, in its own place
                self.disable = True
                self._decr_instances(self)
                return None
            return self._stock_close()
        # tqdm's bookkeeping, as its own close() does it.
        self.disable = True
        pos = abs(self.pos)
        self._decr_instances(self)
        if not getattr(self, "_ideconsole_drawn", False):
            return  # never shown (tqdm's `delay`)
        leave = pos == 0 if self.leave is None else self.leave
        try:
            with self._lock:
                if not leave:
                    console.clear(row=id(self))
                    return
                self._ema_dt = lambda: None  # the final rate is the average over the run
                console.finish(_final_line(self, console), row=id(self))
        except Exception:
            faults.swallowed("TqdmMethods.close")

    @classmethod
    def write(cls, s, file=None, end="\n", nolock=False):
        """Print a message above the bars."""
        fp = file if file is not None else sys.stdout
        console = _presenter(fp) if fp is not None else None
        if console is None:
            return cls._stock_write(s, file, end, nolock)
        console.foreign(_stream_name(fp), s + end)


def take_over(cls) -> None:
    """Bars of `cls` that tqdm drew itself before install(): their line is taken down (a
    terminal) or ended (a log), and they go on as rows of the status area, so that neither
    their end nor the next print lands on tqdm's unfinished line."""
    for bar in list(getattr(cls, "_instances", ())):
        if getattr(bar, "disable", True) or getattr(bar, "_ideconsole_drawn", False):
            continue
        if getattr(bar, "last_print_t", 0) < getattr(bar, "start_t", 0) + getattr(bar, "delay", 0):
            continue  # not shown yet (tqdm's `delay`)
        console = _presenter_of(bar)
        if console is None:
            continue
        try:
            if console.redraws:
                bar._stock_clear()
            else:
                console.foreign(_stream_name(bar.fp), "\n")
            _draw(bar, console)
        except Exception:
            faults.swallowed("take_over")


def hand_back(cls) -> None:
    """Take the bars of `cls` that no longer draw through ideconsole (uninstall() gave tqdm
    its own methods back) off the status area: tqdm draws them from their next update on."""
    for bar in list(getattr(cls, "_instances", ())):
        if isinstance(bar, TqdmMethods) or getattr(bar, "disable", True):
            continue
        vars(bar).pop("_ideconsole_drawn", None)  # what is on screen from now on is tqdm's
        console = _presenter_of(bar)
        if console is not None and console.showing(id(bar)):
            try:
                console.clear(row=id(bar))
            except Exception:
                faults.swallowed("hand_back")


@atexit.register
@session.before_close
def _latest_state_at_exit() -> None:
    """Bars still up when the process ends stay as permanent lines (see Console.close):
    each shows its latest count, not the one last drawn, as tqdm's own at-exit close does."""
    tqdm_module = sys.modules.get("tqdm.std")
    for bar in list(getattr(getattr(tqdm_module, "tqdm", None), "_instances", ())):
        console = None if bar.disable else _presenter_of(bar)
        if console is not None and console.showing(id(bar)):
            try:
                _draw(bar, console)
            except Exception:
                faults.swallowed("_latest_state_at_exit")
