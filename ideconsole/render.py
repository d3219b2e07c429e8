"""Progress lines as text: pure functions from a progress state to one line.

Numbers are formatted as Keras formats them. A transient line is fitted to a width by
giving things up in order of importance: the bar narrows, the time per step goes, metric
names are abbreviated, extra metrics are dropped, the bar goes; the step count and the
loss stay. A final line is never cut.
"""
import math
from typing import NamedTuple, Optional, Sequence, Tuple

from .cells import cell_width

BOLD, GREEN, WHITE, RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"
ABBREVIATIONS = (("validation", "val"), ("accuracy", "acc"), ("categorical", "cat"),
                 ("sparse", "sp"), ("mean_squared_error", "mse"), ("mean_absolute_error", "mae"),
                 ("crossentropy", "xent"), ("precision", "prec"), ("recall", "rec"))
HIDDEN_KEYS = ("batch", "size", "num_steps")


class Look(NamedTuple):
    """How lines look on one console."""

    unicode: bool = True     # "━" bar (Keras 3) or "[===>...]" (Keras 2)
    color: bool = True
    lines: bool = False      # every update is a log line: say which epoch, no bar
    flavour: str = "keras3"  # whose number and layout conventions: "keras3", or "keras2"
                             # (tf_keras and standalone Keras 2.x)


class State(NamedTuple):
    """Everything a progress line shows."""

    step: int
    total: Optional[int]               # None: unknown number of steps
    elapsed: float                     # seconds since the start
    per_step: float                    # seconds per step
    values: Sequence[Tuple[str, str]]  # metric name, formatted value
    title: str = ""                    # "Epoch 3/40", shown on log lines


def format_value(value) -> str:
    """A metric value as Keras shows it: %.4f, or %.4e when tiny (or huge, where Keras
    would print hundreds of digits); anything that is not a number as text."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        text = str(value)
        return text if len(text) <= 40 else text[:37] + "..."
    if math.isnan(number) or math.isinf(number):
        return str(number)
    return "%.4f" % number if 1e-3 < abs(number) < 1e12 else "%.4e" % number


def format_eta(seconds: float) -> str:
    seconds = max(int(seconds), 0) if math.isfinite(seconds) else 0
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def format_per_step(seconds: float, unit: str = "step") -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?/" + unit
    if seconds >= 1 or seconds == 0:
        return "%.0fs/%s" % (seconds, unit)
    if seconds >= 1e-3:
        return "%.0fms/%s" % (seconds * 1e3, unit)
    return "%.0fus/%s" % (seconds * 1e6, unit)


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
        head, tail = "\u2501" * filled, "\u2501" * (width - filled)
        if look.color:
            return "".join(color + part + RESET for color, part in ((GREEN, head), (WHITE, tail)) if part)
        return head + tail
    if filled < width and state.step < state.total:
        return "[" + "=" * max(filled - 1, 0) + ">" + "." * (width - max(filled, 1)) + "]"
    return "[" + "=" * width + "]"


def _bold(text: str, look: Look) -> str:
    return BOLD + text + RESET if look.color else text


def _metrics(values, names_short: bool) -> str:
    return "".join(" - %s: %s" % (abbreviate(name) if names_short else name, value)
                   for name, value in values)


def progress_line(state: State, look: Look, final: bool = False, bar_width: Optional[int] = None,
                  per_step: bool = True, short_names: bool = False,
                  values: Optional[Sequence[Tuple[str, str]]] = None, show_time: bool = True) -> str:
    """One line, Keras 3 style (unicode look) or Keras 2 style (ASCII look)."""
    values = state.values if values is None else values
    if bar_width is None:
        bar_width = 20 if look.unicode else 30
    remaining = state.per_step * (state.total - state.step) if state.total else 0.0
    time_text = format_eta(state.elapsed if final or state.total is None else remaining)
    parts = [_bold(_count(state), look)]
    bar = _bar(state, bar_width, look)
    if bar:
        parts.append(bar)
    if show_time:
        if look.unicode:
            parts.append(_bold(time_text, look))
        else:
            parts.append(("- " if final or state.total is None else "- ETA: ") + time_text)
    if per_step:
        parts.append(format_per_step(state.per_step))
    return " ".join(parts) + _metrics(values, short_names)


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
        parts.append(format_eta(state.elapsed))
    else:
        parts.append("ETA " + format_eta(state.per_step * (state.total - state.step)))
    parts.append(format_per_step(state.per_step))
    return " ".join(parts) + _metrics(state.values, False)


def summary_line(state: State, flavour: str = "keras3") -> str:
    """verbose=2: one plain line per epoch, in the layout of the flavour's own Keras:
    Keras 3 `4/4 - 0s - 64ms/step - loss: ...`; tf_keras and Keras 2
    `4/4 - 0s - loss: ... - 250ms/epoch - 62ms/step` (the epoch's time over its steps)."""
    parts = [_count(state).strip(), format_eta(state.elapsed)]
    if flavour == "keras2":
        per_step = state.elapsed / state.step if state.step else 0.0
        return (" - ".join(parts) + _metrics(state.values, False) + " - "
                + format_per_step(state.elapsed, "epoch") + " - " + format_per_step(per_step))
    parts.append(format_per_step(state.per_step))
    return " - ".join(parts) + _metrics(state.values, False)


def _levels(state: State, look: Look):
    """Ways to draw the line, each giving up a little more than the one before."""
    bar = 20 if look.unicode else 30
    yield {}
    yield dict(bar_width=bar // 2)
    yield dict(bar_width=10, per_step=False)
    yield dict(bar_width=6, per_step=False, short_names=True)
    values = list(state.values)
    others = [item for item in values if item[0] != "loss"]
    for keep in range(len(others) - 1, -1, -1):
        kept = others[:keep]
        trimmed = [item for item in values if item[0] == "loss" or item in kept] or values[:1]
        yield dict(bar_width=6, per_step=False, short_names=True, values=trimmed)
    loss = [item for item in values if item[0] == "loss"] or values[:1]
    yield dict(bar_width=0, per_step=False, short_names=True, values=loss)
    yield dict(bar_width=0, per_step=False, short_names=True, values=loss, show_time=False)


def fitted_line(state: State, look: Look, width: Optional[int], ambiguous_wide: bool = False,
                start: int = 0) -> Tuple[str, int]:
    """The richest transient line that fits in `width` cells (all of it when None), and
    its level. Redraws pass the last level as `start`: the same width and metrics give the
    same level, so a redraw usually renders one line, not six."""
    line, level = "", 0
    for level, options in enumerate(_levels(state, look)):
        if level < start:
            continue
        line = progress_line(state, look, **options)
        if width is None or cell_width(line, ambiguous_wide) <= width:
            break
    return line, level  # what still does not fit is cut by Console.status
