"""A progress bar over a Console: keeps the state of one run of steps and decides when a
line is drawn. Between redraws an update stores a reference and compares two numbers; no
formatting, no conversion of metric values (which may be tensors still on a device).
"""
import math
import threading
import time
from typing import Callable, Iterable, Optional, Sequence, Tuple

from . import faults
from .console import Console, get_console
from .detect import checked_interval
from .render import HIDDEN_KEYS, Look, State, fitted_line, format_value, log_line, progress_line, summary_line


def to_number(value):
    """A metric value as a plain number where it is one (tensors, numpy scalars and
    arrays are reduced to their mean), otherwise as it came (an empty array, which has
    no mean, is shown as text)."""
    if type(value) is float:  # most often, and every redraw converts each metric
        return value
    try:
        if hasattr(value, "numpy"):
            value = value.numpy()
        if hasattr(value, "ndim") and getattr(value, "ndim", 0) > 0:
            if getattr(value, "size", None) == 0:
                return value
            value = value.mean()
        return float(value)
    except Exception:  # not a number: shown as text (render.format_value)
        return value


def _steps(total) -> Optional[int]:
    """A bar's total as steps: None (unknown) for anything but a finite number above 0."""
    try:
        return total if total > 0 and math.isfinite(float(total)) else None
    except (TypeError, ValueError, OverflowError):
        return None


class Averages:
    """Keras's running means: a metric shows its mean over the steps (or samples) seen so
    far, unless it is in `stateful` (or, when `stateless` is given, unless it is not in
    `stateless`: Keras 3's other way to say it); then its latest value. Values are kept as
    given, tensors included, and converted only when read, for a line that is drawn."""

    def __init__(self, stateful=(), stateless=None):
        self.stateful = set(stateful)
        self.stateless = None if stateless is None else set(stateless)
        self._sums = {}  # name -> (weighted sum, weight), or (latest value, None)

    def add(self, values, weight=1, final=False) -> None:
        """`final`: the values are shown as given, averaged or not (Keras 3's last update)."""
        for name, value in values:
            total = self._sums.get(name)
            averaged = name not in self.stateful if self.stateless is None else name in self.stateless
            if averaged and not final:
                try:
                    part = value * weight
                    if total is None or total[1] is None:
                        self._sums[name] = (part, weight)
                    else:
                        self._sums[name] = (total[0] + part, total[1] + weight)
                    continue
                except TypeError:  # not a number: shown as it is
                    pass
            self._sums[name] = (value, None)

    def __call__(self):
        return [(name, _mean(value, weight)) for name, (value, weight) in self._sums.items()]


def _mean(value, weight):
    if weight is None:
        return value
    try:
        return to_number(value) / weight
    except Exception:
        return value


class Progress:
    """One bar: `update()` on every step, `done()` once at the end.

    verbose=1 redraws a status line (or writes heartbeat lines in a log); verbose=2
    writes only the final line; verbose=0 writes nothing.
    """

    def __init__(self, total: Optional[int] = None, console: Optional[Console] = None,
                 title: str = "", verbose: int = 1, clock: Optional[Callable[[], float]] = None,
                 hidden: Sequence[str] = HIDDEN_KEYS, flavour: str = "keras3",
                 interval: Optional[float] = None):
        self.console = console or get_console()
        # the caller's interval (Keras's Progbar(interval=...)) holds on every console, logs too
        interval = checked_interval(interval)
        self.interval = self.console.interval if interval is None else interval
        self.total = _steps(total)
        self.title = title
        self.verbose = verbose
        self.hidden = hidden
        self._clock = clock or time.monotonic  # looked up here: a test can run bars on its own clock
        self._start = self._clock()
        self._step = 0
        self._values = None          # the latest metrics, as given (not yet converted)
        self._first = None           # (time, step) of the first update: compiling and warming
                                     # up make step 1 slow, so rates count from its end, as Keras's
        # ...at verbose=1 in Keras 3 and tf_keras. At verbose=2 they print the epoch's time over
        # its steps, and standalone Keras 2.2 always divides the time so far by the steps.
        self._rate_after_first = verbose == 1 and flavour != "keras2.2"
        # when the first line is due; verbose 0 and 2 draw nothing until done()
        self._due = self._start + (self.interval if interval is None and not self.console.redraws else 0.0)
        if verbose != 1:
            self._due = float("inf")
        self._next = float("-inf")  # the first update only notes its time
        self._lock = threading.Lock()
        self._finished = False
        profile = self.console.profile
        self._look = Look(unicode=profile.unicode, color=profile.color != "none",
                          lines=not self.console.redraws, flavour=flavour)
        if verbose == 1:
            self.console.attach(self._interrupted_line)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        """The end of a `with` block: done() after a normal end; after an exception the
        latest state stays as a line (stop()). A bar dropped without either is ended by its
        console once it has been collected (see Console.attach)."""
        if kind is None:
            self.done()
        else:
            self.stop()

    def update(self, step: int, values=None) -> None:
        """Record progress; draw when a redraw is due. Steps going backwards (updates
        arriving out of order from several threads) are ignored."""
        if step < self._step:
            return
        self._step = step
        if values is not None:
            self._values = values
        if self._clock() < self._next:
            return
        self._draw()

    def done(self, values=None, step: Optional[int] = None) -> None:
        """The final line, permanent: elapsed time instead of ETA, every metric given."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        if step is not None:
            self._step = max(step, self._step)
        if values is not None:
            self._values = _merged(self._values, values)
        if self.total is None:
            self.total = self._step or None
        else:  # as Keras: the final line shows the whole target
            self._step = max(self._step, self.total)
        self.console.detach(self._interrupted_line)
        if self.verbose == 0:
            return
        state = self._state()
        if self.verbose == 2:
            line = summary_line(state, self._look.flavour)
            # in a log every line says which epoch it is about, as at verbose=1
            if self._look.lines and state.title:
                line = state.title + " " + line.lstrip()
            self.console.finish(line)
        elif self._look.lines:
            self.console.finish(log_line(state, final=True))
        else:
            self.console.finish(progress_line(state, self._look, final=True))

    def stop(self) -> None:
        """End without done() (an interrupted epoch): the latest state stays as a line."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self.console.detach(self._interrupted_line)
        if self.verbose == 1:
            self.console.finish(self._interrupted_line())

    @property
    def step(self) -> int:
        return self._step

    @property
    def finished(self) -> bool:
        """Whether done() or stop() has ended the bar."""
        return self._finished

    def take_over(self, other: "Progress") -> None:
        """Go on from where `other` (the same run of steps, on another console) stopped:
        its times, step and values; it draws nothing more, and what it drew stays."""
        with other._lock:
            other._finished = True
        other.console.detach(other._interrupted_line)
        if other.verbose == 1 and other.console.redraws:
            other.console.finish()
        self._start, self._first = other._start, other._first
        self._step, self._values = other._step, other._values

    def _interrupted_line(self) -> str:
        """The latest state, for a process stopped before done()."""
        state = self._state()
        if self._look.lines:
            return log_line(state)
        return self._fitted(state)

    def _draw(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is drawing a step at least as recent
        try:
            now = self._clock()
            if self._first is None:
                self._first, self._next = (now, self._step), self._due
                if now < self._due:
                    return
            if self._finished or (self._look.lines and self.total and self._step >= self.total):
                return  # in a log, the final line follows at once
            self._next = now + self.interval
            state = self._state(now)
            if self._look.lines:
                self.console.status(log_line(state))
            else:
                self.console.status(self._fitted(state))
        except Exception:  # a progress bar must never stop training
            faults.swallowed("Progress._draw")
        finally:
            self._lock.release()

    def _fitted(self, state: State) -> str:
        return fitted_line(state, self._look, self.console.width(), self.console.profile.ambiguous_wide)

    def _state(self, now: Optional[float] = None) -> State:
        now = self._clock() if now is None else now
        elapsed = now - self._start
        if self._first is None and self._step:  # done() with no update before it
            self._first = (now, self._step)
        first_time, first_step = self._first or (self._start, 0)
        if self._step > first_step and self._rate_after_first:
            per_step = (now - first_time) / (self._step - first_step)
        else:
            per_step = elapsed / self._step if self._step else 0.0
        return State(step=self._step, total=self.total, elapsed=elapsed, per_step=per_step,
                     values=self._formatted(), title=self.title)

    def _formatted(self) -> Iterable[Tuple[str, str]]:
        values = self._values
        try:
            if callable(values):  # computed only when a line is drawn
                values = values()
            if not values:
                return []
            items = values.items() if hasattr(values, "items") else values
            summary = self.verbose == 2
            return [(str(name), format_value(to_number(value), summary))
                    for name, value in items if name not in self.hidden]
        except Exception:  # the metrics as a whole could not be read: the line goes without them
            faults.swallowed("reading the metrics")
            return []


def _pairs(values) -> list:
    if values is None:
        return []
    items = getattr(values, "items", None)
    return list(items()) if callable(items) else list(values)


def _merged(earlier, final):
    """The final line's metrics as Keras's Progbar shows them: every metric seen during the
    epoch, in the order first seen, with the final value where there is one (a metric that
    only the batch logs carried keeps its last value), then those new at the end (val_*)."""
    try:
        latest = dict(_pairs(earlier))
        if not latest:
            return final
        ends = _pairs(final)
        latest.update(ends)
        return list(latest.items())
    except (TypeError, ValueError):  # not pairs: the final values as given
        return final
