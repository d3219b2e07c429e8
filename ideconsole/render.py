"""Progress lines as text: pure functions from a progress state to one line.

Numbers are formatted as Keras formats them. A transient line is fitted to a width by
giving things up in order of importance: the bar narrows, the time per step goes, metric
names are abbreviated, extra metrics are dropped, the bar, the time and then the loss go;
the step count goes last, and no number is ever cut. A final line is never cut.
"""
import math
import re
from bisect import bisect_right
from functools import lru_cache
from typing import List, NamedTuple, Optional, Sequence, Tuple

from .cells import cell_width

BOLD, GREEN, WHITE, RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"
DONE, LEFT = "\u2501", "\u2500"  # heavy and light rules: told apart without colour too
ABBREVIATIONS = (("validation", "val"), ("accuracy", "acc"), ("categorical", "cat"),
                 ("sparse", "sp"), ("mean_squared_error", "mse"), ("mean_absolute_error", "mae"),
                 ("crossentropy", "xent"), ("precision", "prec"), ("recall", "rec"))
HIDDEN_KEYS = ("batch", "size", "num_steps")


class Look(NamedTuple):
    """How lines look on one console."""

    unicode: bool = True     # "━" bar (Keras 3) or "[===>...]" (Keras 2)
    color: bool = True
    lines: bool = False      # every update is a log line: say which epoch, no bar
    flavour: str = "keras3"  # whose number and layout conventions: "keras3", "keras2" (tf_keras,
                             # tf.keras) or "keras2.2" (standalone Keras 2.2 and 2.3)


class State(NamedTuple):
    """Everything a progress line shows."""

    step: int
    total: Optional[int]               # None: unknown number of steps
    elapsed: float                     # seconds since the start
    per_step: float                    # seconds per step
    values: Sequence[Tuple[str, str]]  # metric name, formatted value
    title: str = ""                    # "Epoch 3/40", shown on log lines


def format_value(value, summary: bool = False) -> str:
    """A metric value as Keras shows it: %.4f, or %.4e when tiny (or huge, where Keras
    would print hundreds of digits); anything that is not a number as text. `summary`: the
    verbose=2 line, where every Keras tests the value, not its size, so a negative one is
    %.4e there."""
    try:
        number = float(value)
    except Exception:  # not a number (or one whose conversion fails): shown as text
        try:
            text = str(value)
        except Exception:
            from . import faults

            faults.swallowed("showing a metric value")
            return "?"
        return text if len(text) <= 40 else text[:37] + "..."
    if 1e-3 < (number if summary else abs(number)) < 1e12:
        return "%.4f" % number
    if math.isnan(number) or math.isinf(number):
        return str(number)
    return "%.4e" % number


def format_eta(seconds: float) -> str:
    """Time left, as every Keras shows it: whole seconds cut down, "1:05" past a minute."""
    seconds = max(seconds, 0) if math.isfinite(seconds) else 0
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def format_elapsed(seconds: float) -> str:
    """Time since the start, as every Keras shows it (Keras 3, tf_keras and Keras 2.2
    alike): seconds rounded, "65s" past a minute too."""
    return "%.0fs" % seconds if math.isfinite(seconds) and seconds > 0 else "0s"


def format_per_step(seconds: float, unit: str = "step") -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?/" + unit
    if seconds >= 1 or seconds == 0:
        return "%.0fs/%s" % (seconds, unit)
    if seconds >= 1e-3:
        return "%.0fms/%s" % (seconds * 1e3, unit)
    return "%.0fus/%s" % (seconds * 1e6, unit)


@lru_cache(maxsize=1024)
def abbreviate(name: str) -> str:
    for long, short in ABBREVIATIONS:
        name = name.replace(long, short)
    return name


def _count(state: State) -> str:
    if state.total is None:
        return "%7d/Unknown" % state.step
    digits = len(str(state.total))
    return "%*d/%d" % (digits, state.step, state.total)


def _bar(state: State, width: int, look: Look) -> str:
    if not state.total or width <= 0:
        return ""
    done = min(max(state.step / state.total, 0.0), 1.0)
    filled = int(width * done)
    if look.unicode:
        if look.color:  # Keras 3's look: one rule, green then white
            head, tail = DONE * filled, DONE * (width - filled)
            return "".join(color + part + RESET for color, part in ((GREEN, head), (WHITE, tail)) if part)
        return DONE * filled + LEFT * (width - filled)
    if filled < width and state.step < state.total:
        return "[" + "=" * max(filled - 1, 0) + ">" + "." * (width - max(filled, 1)) + "]"
    return "[" + "=" * width + "]"


def _bold(text: str, look: Look) -> str:
    return BOLD + text + RESET if look.color else text


METRIC = " - %s: %s"


def _metrics(values, names_short: bool) -> str:
    return "".join(METRIC % (abbreviate(name) if names_short else name, value) for name, value in values)


class _Head:
    """What a line shows before its metrics: the count, the bar, the time and the time per
    step, made once for every level a line tries. Their cells are counted, not measured:
    all of it is ASCII but the bar, whose cells are known."""

    def __init__(self, state: State, look: Look, final: bool = False, ambiguous_wide: bool = False):
        self.state, self.look = state, look
        self.count = _count(state)
        elapsed = final or state.total is None
        time_text = (format_elapsed(state.elapsed) if elapsed
                     else format_eta(state.per_step * (state.total - state.step)))
        self.time = time_text if look.unicode else ("- " if elapsed else "- ETA: ") + time_text
        self.per_step = format_per_step(state.per_step)
        self._bar_cell = 2 if look.unicode and ambiguous_wide else 1

    def text(self, bar_width: int, per_step: bool, show_time: bool) -> str:
        """The count is padded to keep the bar in place, and so only when a bar is asked for."""
        look = self.look
        parts = [_bold(self.count if bar_width else self.count.strip(), look)]
        bar = _bar(self.state, bar_width, look)
        if bar:
            parts.append(bar)
        if show_time:
            parts.append(_bold(self.time, look) if look.unicode else self.time)
        if per_step:
            parts.append(self.per_step)
        return " ".join(parts)

    def cells(self, bar_width: int, per_step: bool, show_time: bool) -> int:
        cells = len(self.count if bar_width else self.count.strip())
        if self.state.total and bar_width > 0:
            cells += 1 + (bar_width * self._bar_cell if self.look.unicode else bar_width + 2)
        if show_time:
            cells += 1 + len(self.time)
        if per_step:
            cells += 1 + len(self.per_step)
        return cells


def progress_line(state: State, look: Look, final: bool = False, bar_width: Optional[int] = None,
                  per_step: bool = True, short_names: bool = False,
                  values: Optional[Sequence[Tuple[str, str]]] = None, show_time: bool = True) -> str:
    """One line, Keras 3 style (unicode look) or Keras 2 style (ASCII look)."""
    values = state.values if values is None else values
    if bar_width is None:
        bar_width = 20 if look.unicode else 30
    return _Head(state, look, final).text(bar_width, per_step, show_time) + _metrics(values, short_names)


def log_line(state: State, final: bool = False) -> str:
    """A self-explanatory line for a log: which epoch, how far, how long, the metrics."""
    parts = [state.title] if state.title else []
    if state.total:
        parts.append("%d/%d" % (state.step, state.total))
        if not final:
            parts.append("%d%%" % int(100 * min(state.step / state.total, 1.0)))
    else:
        parts.append("%d/Unknown" % state.step)
    if final or not state.total:
        parts.append(format_elapsed(state.elapsed))
    else:
        parts.append("ETA " + format_eta(state.per_step * (state.total - state.step)))
    parts.append(format_per_step(state.per_step))
    return " ".join(parts) + _metrics(state.values, False)


def summary_line(state: State, flavour: str = "keras3") -> str:
    """verbose=2: one plain line per epoch, in the layout of the flavour's own Keras:
    Keras 3 `4/4 - 0s - 62ms/step - loss: ...`; tf_keras
    `4/4 - 0s - loss: ... - 250ms/epoch - 62ms/step`; standalone Keras 2.2 ` - 0s - loss: ...`.
    Both times per step are the epoch's time over its steps (see Progress)."""
    if flavour == "keras2.2":
        return " - " + format_elapsed(state.elapsed) + _metrics(state.values, False)
    parts = [_count(state).strip(), format_elapsed(state.elapsed)]
    if flavour == "keras2":
        return (" - ".join(parts) + _metrics(state.values, False) + " - "
                + format_per_step(state.elapsed, "epoch") + " - " + format_per_step(state.per_step))
    parts.append(format_per_step(state.per_step))
    return " - ".join(parts) + _metrics(state.values, False)


FEWER = -1  # the levels that keep the loss and fewer and fewer of the other metrics


def _levels(look: Look):
    """Ways to draw the line, each giving up a little more than the one before: (bar
    width, time per step?, short names?, metrics kept, time?). Metrics kept: None for
    all, FEWER, or a number of metrics other than the loss."""
    bar = 20 if look.unicode else 30
    yield bar, True, False, None, True
    yield bar // 2, True, False, None, True
    yield 10, False, False, None, True
    yield 6, False, True, None, True
    yield 6, False, True, FEWER, True
    yield 0, False, True, 0, True
    yield 0, False, True, 0, False


PLAIN = re.compile(r"[ -~]*\Z")  # printable ASCII: one cell per character


class _Metrics:
    """The metrics of one line with the cells each takes, so that the width of every
    level is a sum: a redraw measures each metric once, however many levels there are.
    The loss (or the first metric when there is none) is kept to the end."""

    def __init__(self, values: Sequence[Tuple[str, str]], ambiguous_wide: bool):
        self.values = values
        self.is_loss = [name == "loss" for name, _ in values]
        if values and not any(self.is_loss):
            self.is_loss[0] = True
        self.others = len(values) - sum(self.is_loss)
        # printable ASCII throughout (as metrics nearly always are): the sums are exact
        self.exact = PLAIN.match("".join(name + value for name, value in values)) is not None
        self._ambiguous_wide = ambiguous_wide
        self._sums = {}  # short names? -> (cells of the loss, cells of the first k others for each k)

    def cells(self, short_names: bool, keep: Optional[int]) -> int:
        loss, others = self._measured(short_names)
        return loss + others[self.others if keep is None else keep]

    def fewer(self, short_names: bool, room: int) -> range:
        """How many other metrics to try keeping, most first: none that cannot fit."""
        loss, others = self._measured(short_names)
        most = bisect_right(others, room - loss) - 1
        return range(min(most, self.others - 1), -1, -1)

    def _measured(self, short_names: bool) -> Tuple[int, List[int]]:
        sums = self._sums.get(short_names)
        if sums is None:
            loss, others = 0, [0]
            for (name, value), is_loss in zip(self.values, self.is_loss):
                text = METRIC % (abbreviate(name) if short_names else name, value)
                cells = len(text) if self.exact else cell_width(text, self._ambiguous_wide)
                if is_loss:
                    loss += cells
                else:
                    others.append(others[-1] + cells)
            sums = self._sums[short_names] = (loss, others)
        return sums

    def kept(self, keep: Optional[int]) -> Sequence[Tuple[str, str]]:
        if keep is None:
            return self.values
        kept = []
        for item, is_loss in zip(self.values, self.is_loss):
            if is_loss or keep > 0:
                kept.append(item)
                keep -= 0 if is_loss else 1
        return kept


def fitted_line(state: State, look: Look, width: Optional[int], ambiguous_wide: bool = False) -> str:
    """The richest transient line that fits in `width` cells (all of it when None). Past
    the last level, the step count alone, then the step alone, then nothing: a number is
    never cut."""
    if width is None:
        return progress_line(state, look)
    head, metrics = _Head(state, look, False, ambiguous_wide), _Metrics(state.values, ambiguous_wide)
    for bar_width, per_step, short_names, keep, show_time in _levels(look):
        room = width - head.cells(bar_width, per_step, show_time)
        for kept in metrics.fewer(short_names, room) if keep == FEWER else (keep,):
            if metrics.cells(short_names, kept) > room:
                continue
            line = head.text(bar_width, per_step, show_time) + _metrics(metrics.kept(kept), short_names)
            # not printable ASCII: measured, as an escape code in a value may span two metrics
            if metrics.exact or cell_width(line, ambiguous_wide) <= width:
                return line
    count = _count(state).strip()
    for text in (count, count.split("/")[0]):
        if cell_width(text, ambiguous_wide) <= width:
            return _bold(text, look)
    return ""
