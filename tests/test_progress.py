"""A bar over a console: what a person sees as steps arrive at a given pace."""
import warnings

import pytest
from conftest import Recorder
from consoles import screen

from ideconsole.console import Console
from ideconsole.detect import Facts, detect
from ideconsole.progress import Progress


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Screen:
    """A Console on a recorder (a terminal unless `console` says otherwise: its profile
    comes from `env`), and a model of what the person sees there."""

    def __init__(self, console=None, columns=80, **env):
        self.writes = []
        env.setdefault("COLUMNS", str(columns))
        profile = detect(Facts(isatty=console != "log"), env, console=console)
        self.console = Console(Recorder("stdout", self.writes), profile=profile,
                               stderr=Recorder("stderr", self.writes))
        self.model = screen("log" if console == "log" else "vt", columns=columns)

    def lines(self):
        return self.model.feed_all(self.writes).lines()


def run(bar, clock, seconds, values=None, start=1):
    """Steps `start`, `start + 1`... taking `seconds[i]` each."""
    for step, took in enumerate(seconds, start):
        clock.now += took
        bar.update(step, values)


COMPILE_THEN_FAST = [5.0] + [0.1] * 19  # 20 steps: the first compiles


@pytest.mark.parametrize("console,verbose,flavour,per_step", [
    # Keras 3 and tf_keras at verbose=1 leave the compiling first step out...
    ("log", 1, "keras3", "100ms/step"), ("vt", 1, "keras3", "100ms/step"),
    ("vt", 1, "keras2", "100ms/step"),
    # ...and at verbose=2 divide the epoch's 6.9 s by its 20 steps, as standalone Keras 2.2 always does
    ("vt", 2, "keras3", "345ms/step"), ("vt", 2, "keras2", "345ms/step"),
    ("vt", 1, "keras2.2", "345ms/step")])
def test_time_per_step_is_computed_as_the_keras_in_use_computes_it(console, verbose, flavour, per_step):
    seen, clock = Screen(console), Clock()
    bar = Progress(20, console=seen.console, verbose=verbose, clock=clock, flavour=flavour)
    run(bar, clock, COMPILE_THEN_FAST, {"loss": 0.5})
    bar.done({"loss": 0.5})
    final = seen.lines()[-1]
    assert " 7s " in final and " " + per_step in final, final  # 6.9 s in all: rounded, as Keras


def test_the_line_gets_its_fuller_level_back_when_a_long_eta_is_over():
    values = {"loss": 0.5, "accuracy": 0.25, "mean_absolute_error": 0.125}
    seen, clock = Screen(columns=108), Clock()  # one column is kept free
    bar = Progress(1000, console=seen.console, clock=clock)
    run(bar, clock, [1.0, 20.0, 20.0], values)  # 5 hours left: the bar narrows
    assert "\u2501" * 11 not in seen.lines()[-1]
    run(bar, clock, [0.05] * 990, values, start=4)  # under a second left: the whole line fits
    assert seen.lines()[-1] == (" 993/1000 " + "\u2501" * 20 + " 0s 90ms/step - loss: 0.5000"
                                " - accuracy: 0.2500 - mean_absolute_error: 0.1250")


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_without_colour_a_person_can_tell_how_far_the_bar_is(env):
    rows = []
    for step in (5, 15):
        seen, clock = Screen(**env), Clock()
        bar = Progress(20, console=seen.console, clock=clock)
        run(bar, clock, [0.1] * step, {"loss": 0.5})
        rows.append(seen.lines()[-1])
    five, fifteen = (row.split()[1] for row in rows)
    assert rows[0].startswith(" 5/20 ") and rows[1].startswith("15/20 ")
    assert five != fifteen and (five.count("\u2501"), fifteen.count("\u2501")) == (5, 15), rows


@pytest.mark.parametrize("columns", range(4, 14))
def test_a_narrow_terminal_shows_whole_numbers_only(columns):
    seen, clock = Screen(columns=columns), Clock()
    bar = Progress(200, console=seen.console, clock=clock)
    run(bar, clock, [0.1] * 18, {"loss": 0.8123})
    assert seen.lines()[-1] == ("18/200" if columns >= 7 else "18")  # one column kept free; the loss needs 22


def test_an_empty_array_as_a_metric_is_shown_as_text_without_a_warning():
    numpy = pytest.importorskip("numpy", reason="the empty value is a numpy array")
    seen, clock = Screen(), Clock()
    bar = Progress(3, console=seen.console, clock=clock)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(bar, clock, [0.1] * 3, {"loss": 0.5, "per_class": numpy.array([])})
        bar.done({"loss": 0.5, "per_class": numpy.array([])})
    assert not caught, [str(warning.message) for warning in caught]
    assert seen.lines()[-1].endswith("loss: 0.5000 - per_class: []")


def test_verbose_2_writes_a_negative_value_as_every_keras_does_there():
    """At verbose=2 Keras tests `value > 1e-3`, not its size: a negative loss (cosine
    similarity) is written %.4e there, and %.4f at verbose=1."""
    lines = []
    for verbose in (1, 2):
        seen = Screen("log")
        bar = Progress(2, console=seen.console, verbose=verbose, clock=Clock())
        bar.done({"loss": -0.5, "accuracy": 0.75})
        lines.append(seen.lines()[-1])
    assert lines[0].endswith("loss: -0.5000 - accuracy: 0.7500"), lines
    assert lines[1].endswith("loss: -5.0000e-01 - accuracy: 0.7500"), lines


class Unconvertible:
    """A metric whose conversion fails as a device tensor's can (not a TypeError)."""

    def __float__(self):
        raise RuntimeError("the device went away")

    def __repr__(self):
        return "Unconvertible()"


@pytest.mark.parametrize("total", [float("inf"), 10 ** 400, float("nan")])
def test_a_total_that_is_no_count_of_steps_is_unknown(total):
    writes = []
    console = Console(Recorder("stdout", writes), console="log", capture=False)
    with Progress(total, console=console) as bar:
        bar.update(1, {"loss": 0.5})
        bar.update(2, {"loss": 0.5})
    assert screen("log").feed_all(writes).lines()[-1].startswith("2/2 "), writes


def test_one_metric_that_cannot_be_shown_leaves_the_others():
    writes = []
    console = Console(Recorder("stdout", writes), console="log", capture=False)
    with Progress(2, console=console) as bar:
        bar.update(2, {"loss": 0.5, "odd": Unconvertible(), "accuracy": 0.75})
    line = screen("log").feed_all(writes).lines()[-1]
    assert line.endswith(" - loss: 0.5000 - odd: Unconvertible() - accuracy: 0.7500"), line


@pytest.mark.parametrize("interval", [10 ** 400, float("inf"), "1", True, complex(1, 0)])
def test_an_interval_that_is_no_number_of_seconds_is_refused_by_name(interval):
    with pytest.raises(ValueError, match="interval"):
        Console(Recorder("stdout", []), console="log", capture=False, interval=interval)
    with pytest.raises(ValueError, match="interval"):
        Progress(3, console=Console(Recorder("stdout", []), console="log", capture=False), interval=interval)


def test_the_final_line_keeps_a_metric_only_the_batches_carried():
    # Keras's Progbar shows every metric seen during the epoch, in the order first seen, the
    # last value of one the epoch's logs lack (a callback that adds to the batch logs)
    seen, clock = Screen(columns=200), Clock()
    bar = Progress(3, console=seen.console, clock=clock)
    run(bar, clock, [0.1] * 3, {"loss": 0.5, "extra": 7.0})
    bar.done({"loss": 0.25, "val_loss": 0.125})
    assert seen.lines()[-1].endswith(" - loss: 0.2500 - extra: 7.0000 - val_loss: 0.1250"), seen.lines()
