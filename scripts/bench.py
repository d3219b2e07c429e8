"""ideconsole's benchmarks: one table of medians, every comparison measured side by side in
the same run, with the goals next to the results (and by how much each missed one is missed).

    PYTHONPATH=. python scripts/bench.py                  # full run, under 10 minutes
    PYTHONPATH=. python scripts/bench.py --quick          # small N, 3 repeats, under a minute
    PYTHONPATH=. python scripts/bench.py --only 1,2,6     # some sections

Needs TensorFlow with Keras 3 and tf_keras; tqdm, rich and jax are optional. Sections:

  1  per-batch callback cost on the skip path (no redraw due), output to /dev/null
  2  tf_keras device-to-host conversions of metric tensors over one simulated epoch
  3  fit() throughput on TensorFlow CPU, ideconsole vs stock vs verbose=0
  4  the same on Keras 3's JAX backend (async dispatch), when jax is installed
  5  import time and peak memory, in fresh interpreters
  6  bytes written per second of training, per console, over a simulated fit
  7  log volume of a real multi-epoch fit() redirected to a file (tests/fit_script.py)
  8  one redraw with 10, 60 and 240 metrics on an 80-column terminal, ideconsole vs Keras 3
  9  capture, side by side with plain Python in a real pseudo terminal: print() lines under a
     tqdm bar, an os.write flood, start-up and exit (another process holding the output), last
     lines of a killed script against the shell's next output, the relay's CPU per MB, the
     latency of a line, fit() with capture on and off

Simulated epochs run on a fake clock (a fixed time per step), so their output is the same on
every machine. The table goes to stdout, progress notes to stderr.
"""
import argparse
import gc
import io
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext, redirect_stdout
from importlib import metadata, util
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

METRICS = ("loss", "accuracy", "mae", "mse", "auc")
SECTIONS = {
    "1": "skip path",
    "2": "tf_keras syncs",
    "3": "fit() TF CPU",
    "4": "fit() JAX",
    "5": "import, memory",
    "6": "bytes/s",
    "7": "log volume",
    "8": "many metrics",
    "9": "capture",
}
GOAL_US_PER_CALL = 0.3
GOAL_VS_KERAS3 = 6.0
GOAL_VS_TF_KERAS = 50.0
GOAL_FIT_RATIO = 0.99
REDRAWS_PER_SECOND = 20   # every logger here redraws at most every 50 ms on a VT terminal
MANY_METRICS = (10, 60, 240)  # section 8: 240 is a multi-output model's metrics with val_ copies
GOAL_MANY_VS_KERAS3 = 1.0     # section 8: at 240 metrics, a redraw no dearer than Keras 3's own


class Config(NamedTuple):
    repeats: int          # medians of this many repeats (sections 1, 3, 5)
    calls: int            # section 1: calls per timed loop, at most
    loop_s: float         # section 1: seconds per timed loop for the slower callbacks
    redraws: int          # sections 1 and 8: calls per timed loop on the redraw path
    fit_steps: int        # section 3: steps per epoch
    fit_epochs: int       # section 3: epochs per fit() (the first is not counted)
    log_epochs: int       # section 7
    log_steps: int        # section 7
    log_parallel: bool    # section 7: run the fits at the same time
    relay_mb: int         # section 9: megabytes written through the relay per case


QUICK = Config(repeats=3, calls=20_000, loop_s=0.05, redraws=200, fit_steps=100, fit_epochs=3,
               log_epochs=2, log_steps=30, log_parallel=True, relay_mb=4)
FULL = Config(repeats=7, calls=200_000, loop_s=0.3, redraws=2000, fit_steps=500, fit_epochs=6,
              log_epochs=5, log_steps=200, log_parallel=False, relay_mb=32)

SIM_EPOCHS, SIM_STEPS, SIM_STEP_S = 3, 2000, 0.005   # sections 2 and 6: the fake-clock fit


class Row(NamedTuple):
    section: str
    case: str
    result: str
    compare: str = ""
    goal: str = ""


# -- goals and formatting --------------------------------------------------------------------


def at_most(value: float, limit: float, unit: str, digits: int = 2) -> str:
    text = "<= {:.{d}f} {}".format(limit, unit, d=digits)
    if value <= limit:
        return text + ": met"
    return "{}: MISSED by {:.{d}f} {} ({:+.0%})".format(text, value - limit, unit, value / limit - 1,
                                                      d=digits)


def at_least(value: float, limit: float, unit: str = "x", digits: int = 1) -> str:
    text = ">= {:.{d}f}{}".format(limit, unit, d=digits)
    if value >= limit:
        return text + ": met"
    return "{}: MISSED by {:.{d}f}{} ({:.1%} short)".format(text, limit - value, unit, 1 - value / limit,
                                                         d=digits)


def median(values) -> float:
    return statistics.median(values)


def rotated(items: list, by: int) -> list:
    """The items in another order each round, so that drift hits every one alike."""
    by %= len(items)
    return items[by:] + items[:by]


def note(text: str) -> None:
    print("[bench] " + text, file=sys.stderr, flush=True)


# -- shared helpers --------------------------------------------------------------------------


def float_logs(prefix: str = "") -> Dict[str, float]:
    return {prefix + name: 0.1 * (index + 1) for index, name in enumerate(METRICS)}


def epoch_logs() -> Dict[str, float]:
    logs = float_logs()
    logs.update(float_logs("val_"))
    return logs


def tensor_logs(logs: Dict[str, float]):
    """Scalar tensors, as tf_keras hands them to callbacks with `_supports_tf_logs`."""
    import tensorflow as tf

    return {name: tf.constant(value) for name, value in logs.items()}


def ide_console(stream, console: str):
    """An ideconsole Console on `stream` with the given profile, deaf to this shell's
    environment (COLUMNS, NO_COLOR, IDECONSOLE_*) so that every run draws the same."""
    from ideconsole import Console

    return Console(stream, console=console, env={})


class CountingStream(io.TextIOBase):
    """A UTF-8 text stream that keeps counts instead of text."""

    encoding = "utf-8"

    def __init__(self):
        super().__init__()
        self.bytes = self.lines = self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        self.bytes += len(text.encode("utf-8"))
        self.lines += text.count("\n")
        return len(text)

    def isatty(self) -> bool:
        return False


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1e6):
        self.now = start
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _FakeTimeModule:
    """Stands in for the `time` module of Keras's progbar modules."""

    def __init__(self, clock: FakeClock):
        self.time = self.monotonic = self.perf_counter = clock

    def __getattr__(self, name):
        return getattr(time, name)


@contextmanager
def patched(patches):
    """setattr(obj, name, value) for each (obj, name, value), undone on exit."""
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, value in patches:
        setattr(obj, name, value)
    try:
        yield
    finally:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)


@contextmanager
def fake_clock(clock: FakeClock):
    """ideconsole's bars and the Progbars of Keras 3 and tf_keras read `clock`."""
    import ideconsole.callback as callback_module
    from ideconsole.progress import Progress

    class FakeClockProgress(Progress):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("clock", clock)
            super().__init__(*args, **kwargs)

    patches = [(callback_module, "Progress", FakeClockProgress)]
    for name in ("keras", "tf_keras"):
        if util.find_spec(name):
            module = sys.modules[__import__(name).utils.Progbar.__module__]
            patches.append((module, "time", _FakeTimeModule(clock)))
    with patched(patches):
        yield


def simulate_fit(callback, clock: FakeClock, logs, final_logs, epochs: int = SIM_EPOCHS,
                 steps: int = SIM_STEPS, on_batch: Optional[Callable] = None) -> None:
    """The callback events of fit(), on a fake clock that moves SIM_STEP_S per step."""
    callback.set_params({"verbose": 1, "epochs": epochs, "steps": steps})
    callback.on_train_begin()
    for epoch in range(epochs):
        callback.on_epoch_begin(epoch)
        for batch in range(steps):
            clock.advance(SIM_STEP_S)
            if on_batch:
                on_batch(batch)
            callback.on_train_batch_end(batch, logs)
        if on_batch:
            on_batch("end")
        callback.on_epoch_end(epoch, final_logs)
    callback.on_train_end()
    if not clock.reads:
        raise RuntimeError("the fake clock was never read: the bars use another clock now")


def python_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


# -- 1: per-batch cost on the skip path --------------------------------------------------------


class NoOpCallback:
    """The floor: a batch hook that does nothing, called the same way."""

    def set_params(self, params):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class Case(NamedTuple):
    name: str
    make: Callable
    logs: dict
    reference: Optional[str] = None   # the case this one's ratio is taken against
    goal: Optional[Callable] = None   # (µs per call, ratio) -> goal text
    redraws: bool = True              # also time the redraw path (on a fake clock)


def seconds_per_call(case: Case, calls: int, clock: Optional[FakeClock] = None) -> float:
    """`on_train_batch_end` called `calls` times inside an epoch, after a first call that draws
    the first line (and sets the console up), which is not counted. With `clock`, a fake clock
    moves a second before each call, so that every call redraws."""
    with fake_clock(clock) if clock else nullcontext():
        callback = case.make()
        callback.set_params({"verbose": 1, "epochs": 1, "steps": calls + 1})
        callback.on_train_begin()
        callback.on_epoch_begin(0)
        hook, logs = callback.on_train_batch_end, case.logs
        hook(0, logs)
        gc.disable()
        try:
            if clock:
                start = time.perf_counter()
                for batch in range(1, calls + 1):
                    clock.advance(1.0)
                    hook(batch, logs)
            else:
                start = time.perf_counter()
                for batch in range(1, calls + 1):
                    hook(batch, logs)
            elapsed = time.perf_counter() - start
        finally:
            gc.enable()
        callback.on_epoch_end(0, logs)
        callback.on_train_end()
    if clock and not clock.reads:
        raise RuntimeError("the fake clock was never read: {} uses another clock now".format(case.name))
    return elapsed / calls


def skip_path_cases(devnull) -> List[Case]:
    import keras
    import tf_keras

    from ideconsole.keras import ProgbarLogger as Keras3Logger
    from ideconsole.tf_keras import ProgbarLogger as TfKerasLogger

    floats, tensors = float_logs(), tensor_logs(float_logs())
    ours_k3, ours_tfk = "ideconsole.keras ProgbarLogger", "ideconsole.tf_keras ProgbarLogger (tensors)"

    def ours_goal(us, ratio):
        return at_most(us, GOAL_US_PER_CALL, "µs")

    def stock_tf_keras():
        return tf_keras.callbacks.ProgbarLogger(count_mode="steps")

    cases = [
        Case("no-op hook (loop + call floor)", NoOpCallback, floats, redraws=False),
        Case(ours_k3, lambda: Keras3Logger(console=ide_console(devnull, "vt")), floats, goal=ours_goal),
        Case("keras.callbacks.ProgbarLogger", keras.callbacks.ProgbarLogger, floats, ours_k3,
             lambda us, ratio: at_least(ratio, GOAL_VS_KERAS3)),
    ]
    if util.find_spec("tqdm"):
        from tqdm.keras import TqdmCallback
        from tqdm.std import tqdm

        cases.append(Case("tqdm.keras.TqdmCallback", lambda: TqdmCallback(tqdm_class=tqdm, file=devnull),
                          floats, ours_k3, redraws=False))  # tqdm keeps its own clock
    cases += [
        Case(ours_tfk, lambda: TfKerasLogger(console=ide_console(devnull, "vt")), tensors, goal=ours_goal),
        Case("tf_keras ProgbarLogger (tensors)", stock_tf_keras, tensors, ours_tfk,
             lambda us, ratio: at_least(ratio, GOAL_VS_TF_KERAS)),
        Case("tf_keras ProgbarLogger (floats)", stock_tf_keras, floats, ours_tfk, redraws=False),
    ]
    return cases


def timed_cases(cases: List[Case], calls: Dict[str, int], repeats: int, redraw: bool) -> Dict[str, float]:
    """Median µs per call of each case, the cases alternated in each repeat."""
    samples = {case.name: [] for case in cases}
    for repeat in range(repeats):
        for case in rotated(cases, repeat):
            clock = FakeClock() if redraw else None
            samples[case.name].append(seconds_per_call(case, calls[case.name], clock))
    return {name: median(values) * 1e6 for name, values in samples.items()}


def section_skip_path(cfg: Config) -> List[Row]:
    devnull = open(os.devnull, "w")
    with devnull, redirect_stdout(devnull):
        cases = skip_path_cases(devnull)
        # as many calls as fit in loop_s, at most cfg.calls: stock callbacks are 10-100x slower
        calls = {case.name: min(cfg.calls, max(2000, int(cfg.loop_s / seconds_per_call(case, 2000))))
                 for case in cases}
        skip = timed_cases(cases, calls, cfg.repeats, redraw=False)
        drawing = [case for case in cases if case.redraws]
        redraw = timed_cases(drawing, {case.name: cfg.redraws for case in drawing}, cfg.repeats, redraw=True)
    rows = []
    for case in cases:
        ratio = skip[case.name] / skip[case.reference] if case.reference else None
        rows.append(Row("1", case.name, "{:.3f} µs/call (n={})".format(skip[case.name], calls[case.name]),
                        "{:.1f}x the cost of {}".format(ratio, case.reference) if ratio else "",
                        case.goal(skip[case.name], ratio) if case.goal else ""))
    if not util.find_spec("tqdm"):
        rows.append(Row("1", "tqdm.keras.TqdmCallback", "skipped: tqdm not installed"))
    for case in drawing:
        share = redraw[case.name] * 1e-6 * REDRAWS_PER_SECOND
        compare = "{:.2%} of a CPU at {} redraws/s".format(share, REDRAWS_PER_SECOND)
        if case.reference:
            compare += "; ideconsole's costs {:.1f}x this".format(redraw[case.reference] / redraw[case.name])
        rows.append(Row("1", "redraw path: " + case.name, "{:.1f} µs/redraw (n={})".format(
            redraw[case.name], cfg.redraws), compare))
    return rows


# -- 2: tf_keras conversions per epoch --------------------------------------------------------


class Conversions:
    """Counts tensor.numpy() calls, and the batches at which any happened (host syncs)."""

    def __init__(self):
        self.calls = 0
        self.batch = None
        self.batches = set()

    def at(self, batch) -> None:
        self.batch = batch

    @contextmanager
    def counting(self):
        from tensorflow.python.framework import ops

        original = ops._EagerTensorBase.numpy

        def numpy(tensor):
            self.calls += 1
            self.batches.add(self.batch)
            return original(tensor)

        with patched([(ops._EagerTensorBase, "numpy", numpy)]):
            yield self


class CountingConsole:
    """Wraps a Console's `status` to count redraws."""

    def __init__(self, console):
        self.redraws = 0
        status = console.status

        def counted(text):
            self.redraws += 1
            status(text)

        console.status = counted
        self.console = console


def conversions_run(make_callback):
    """(conversion counts, the stream written to, redraws) of one simulated epoch of tensor logs."""
    stream, counter, clock = CountingStream(), Conversions(), FakeClock()
    logs, final = tensor_logs(float_logs()), tensor_logs(epoch_logs())
    with redirect_stdout(stream), fake_clock(clock), counter.counting():
        callback, redraws = make_callback(stream)
        simulate_fit(callback, clock, logs, final, epochs=1, on_batch=counter.at)
    return counter, stream, redraws()


def section_conversions(cfg: Config) -> List[Row]:
    import tf_keras

    from ideconsole.tf_keras import ProgbarLogger

    def stock(stream):
        return tf_keras.callbacks.ProgbarLogger(count_mode="steps"), lambda: None

    def ours(profile):
        def make(stream):
            counting = CountingConsole(ide_console(stream, profile))
            return ProgbarLogger(console=counting.console), lambda: counting.redraws
        return make

    rows = []
    where = "{} steps x {:g} ms, {} metrics".format(SIM_STEPS, SIM_STEP_S * 1e3, len(METRICS))
    counter, stream, _ = conversions_run(stock)
    rows.append(Row("2", "tf_keras ProgbarLogger, " + where,
                    "{} syncs ({:.2f}/batch), {} tensor.numpy()".format(
                        len(counter.batches), len(counter.batches) / SIM_STEPS, counter.calls),
                    "{} writes".format(stream.writes), "~1 sync per batch (reference)"))
    for profile in ("vt", "pycharm", "log"):
        counter, stream, redraws = conversions_run(ours(profile))
        syncs = len(counter.batches)
        rows.append(Row("2", "ideconsole.tf_keras, console={}".format(profile),
                        "{} syncs ({:.3f}/batch), {} tensor.numpy()".format(syncs, syncs / SIM_STEPS,
                                                                           counter.calls),
                        "{} redraws + 1 final line".format(redraws),
                        _at_most_count(syncs, redraws + 1, "syncs <= redraws + final line")))
    return rows


def _at_most_count(value: int, limit: int, text: str) -> str:
    return text + (": met" if value <= limit else ": MISSED by {}".format(value - limit))


# -- 3 and 4: fit() throughput ------------------------------------------------------------------


def tiny_model(keras):
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(4)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


class HookClock:
    """Adds up the wall time spent in a callback's hooks: each of its `on_*` methods is
    replaced, on the instance, by a timed wrapper (costing well under a µs a call). A hook
    called from another (Keras's on_train_batch_begin calls on_batch_begin) counts once.

    The wrapper holds each hook's latest arguments until its next call: a logger that keeps the
    latest logs would otherwise free the previous step's dict and tensors inside its hook
    (about 2 µs a step for tf_keras's EagerTensors), a cost that fit() pays wherever the last
    reference to them goes, logger or not."""

    def __init__(self, callback=None):
        self.seconds = 0.0
        self._lock = threading.Lock()   # Keras 3 on JAX runs batch hooks on a thread pool
        self._local = threading.local()
        self._held = {}                 # hook name -> its latest arguments
        for name in dir(callback) if callback is not None else ():
            if name.startswith("on_") and callable(getattr(callback, name)):
                setattr(callback, name, self._timed(name, getattr(callback, name)))

    def _timed(self, name: str, hook):
        local = self._local

        def timed(*args, **kwargs):
            if getattr(local, "inside", False):
                return hook(*args, **kwargs)
            local.inside = True
            start = time.perf_counter()
            try:
                return hook(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                local.inside = False
                with self._lock:
                    self.seconds += elapsed
                    self._held[name] = (args, kwargs)

        return timed


def epoch_timer(keras, hooks: HookClock):
    """A callback noting, as each epoch ends, the wall and process CPU time and the time spent
    in the logger's hooks: consecutive ends bound one whole epoch, every callback's work
    included, wherever the timer sits in the list."""

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends = []

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append((time.perf_counter(), time.process_time(), hooks.seconds))

        def epochs(self):
            """(wall s, CPU s, s in the logger's hooks) of each epoch after the first."""
            return [tuple(b[i] - a[i] for i in range(3)) for a, b in zip(self.ends, self.ends[1:])]

    return EpochTimer()


class FitSamples:
    """Per round, medians over the epochs: wall and CPU steps/s, the share of the epoch's wall
    time spent in the logger's hooks."""

    def __init__(self):
        self.wall, self.cpu, self.hook_share = [], [], []

    def add(self, epochs, steps: int) -> None:
        self.wall.append(median([steps / wall for wall, _, _ in epochs]))
        self.cpu.append(median([steps / cpu for _, cpu, _ in epochs]))
        self.hook_share.append(median([hook / wall for wall, _, hook in epochs]))


def fit_throughput(section: str, label: str, keras, loggers: Dict[str, Callable], cfg: Config) -> List[Row]:
    """Steps per second of one tiny model's fit(), the variants alternated in each round.

    On a small shared machine, wall time swings by tens of percent from epoch to epoch and
    even the process's CPU time by several, too much to see a 1% cost. So the time spent in
    the logger's hooks is measured too: a logger taking a share s of the epoch's wall time
    runs at (1 - s) of verbose=0 (what the fd-capture thread and cache effects cost is not
    in it). The goal is checked on that; the measured ratios are shown next to it."""
    import numpy as np

    rng = np.random.RandomState(0)
    batch = 8
    where = "Dense(4) on 8 features, batch {}, {} steps/epoch, {} epochs/fit".format(
        batch, cfg.fit_steps, cfg.fit_epochs)
    x = rng.rand(batch * cfg.fit_steps, 8).astype("float32")
    y = rng.rand(batch * cfg.fit_steps, 4).astype("float32")
    model = tiny_model(keras)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # traces the train function
    variants = [("verbose=0", None, 0), ("no-op Callback, verbose=0", noop_callback(keras), 0)]
    variants += [(name, make, 1) for name, make in loggers.items()]
    samples = {name: FitSamples() for name, _, _ in variants}
    devnull = open(os.devnull, "w")
    with devnull, redirect_stdout(devnull):
        for repeat in range(cfg.repeats):
            for name, make, verbose in rotated(variants, repeat):
                callback = make(devnull) if make else None
                timer = epoch_timer(keras, HookClock(callback))
                model.fit(x, y, batch_size=batch, epochs=cfg.fit_epochs, verbose=verbose,
                          callbacks=([callback] if callback else []) + [timer])
                samples[name].add(timer.epochs(), cfg.fit_steps)
    base = samples["verbose=0"]
    rows = []
    for name, make, _ in variants:
        got = samples[name]
        result = "{:.0f} steps/s wall, {:.0f} per CPU-s".format(median(got.wall), median(got.cpu))
        compare = goal = ""
        if make:
            wall = [rate / ref for rate, ref in zip(got.wall, base.wall)]
            cpu = [rate / ref for rate, ref in zip(got.cpu, base.cpu)]
            share = median(got.hook_share)
            compare = "wall {} CPU {} hooks {:.2%} -> {:.4f}".format(
                spread(wall), spread(cpu), share, 1 - share)
            if name.startswith("ideconsole"):
                goal = "hooks " + at_least(1 - share, GOAL_FIT_RATIO, "", 3)
        case = "{}: {}".format(label, name) + (" ({})".format(where) if name == "verbose=0" else "")
        rows.append(Row(section, case, result, compare, goal))
    return rows


def spread(ratios: List[float]) -> str:
    return "{:.3f} ({:.2f}-{:.2f}),".format(median(ratios), min(ratios), max(ratios))


def noop_callback(keras) -> Callable:
    """A callback whose batch hooks do nothing: what any callback costs fit() (Keras's
    dispatch, the timing wrapper, cold caches after each step)."""

    class NoOp(keras.callbacks.Callback):
        async_safe = True  # Keras 3 on JAX or PyTorch: keep async dispatch on

        def on_train_batch_begin(self, batch, logs=None):
            pass

        def on_train_batch_end(self, batch, logs=None):
            pass

    return lambda devnull: NoOp()


def fit_loggers(stock: Callable, ours: Callable) -> Dict[str, Callable]:
    """The two logger variants, each made from the devnull stream: Keras's own and ideconsole's
    on the VT profile, which redraws as often as Keras."""

    def make_stock(devnull):
        logger = stock()
        # Keras 3 checks only the callbacks passed in for async dispatch (JAX, PyTorch), never
        # the ProgbarLogger that verbose=1 adds: passed in here, it must not turn dispatch off
        logger.async_safe = True
        return logger

    return {"stock ProgbarLogger": make_stock,
            "ideconsole ProgbarLogger (vt)": lambda devnull: ours(console=ide_console(devnull, "vt"))}


def section_fit(cfg: Config) -> List[Row]:
    import keras
    import tf_keras

    import ideconsole.keras
    import ideconsole.tf_keras

    keras3 = fit_loggers(keras.callbacks.ProgbarLogger, ideconsole.keras.ProgbarLogger)
    legacy = fit_loggers(lambda: tf_keras.callbacks.ProgbarLogger(count_mode="steps"),
                         ideconsole.tf_keras.ProgbarLogger)
    return (fit_throughput("3", "Keras 3", keras, keras3, cfg)
            + fit_throughput("3", "tf_keras", tf_keras, legacy, cfg))


def fit_child(backend: str, cfg: Config) -> None:
    """Section 4's child process: Keras 3 on `backend`, rows as JSON on stdout."""
    os.environ["KERAS_BACKEND"] = backend
    import keras

    import ideconsole.keras

    label = "Keras 3 on {}".format(backend)
    loggers = fit_loggers(keras.callbacks.ProgbarLogger, ideconsole.keras.ProgbarLogger)
    rows = fit_throughput("4", label, keras, loggers, cfg)
    print(json.dumps([list(row) for row in rows]))


def section_jax(cfg: Config, quick: bool) -> List[Row]:
    if util.find_spec("jax") is None:
        return [Row("4", "Keras 3 on JAX, async dispatch", "skipped: jax not installed")]
    command = [sys.executable, __file__, "--fit-child", "jax"] + (["--quick"] if quick else [])
    done = subprocess.run(command, env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True)
    if done.returncode:
        return [Row("4", "Keras 3 on JAX", "failed: exit status {}".format(done.returncode))]
    return [Row(*row) for row in json.loads(done.stdout.strip().splitlines()[-1])]


# -- 5: import time and memory ----------------------------------------------------------------


MAXRSS = ("import resource, subprocess, sys; "
          "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
          "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def cached_bytecode_env(folder: str) -> Dict[str, str]:
    """Children that write and read bytecode under `folder` (for every module, so that all
    are timed alike, whatever PYTHONDONTWRITEBYTECODE says and however fresh the sources)."""
    env = python_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = folder
    return env


def wall_seconds(args: List[str], env) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable] + args, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def import_times(module: str, env) -> Dict[str, tuple]:
    """module -> (self µs, cumulative µs) of everything `import module` imports, from
    -X importtime."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import " + module],
                          env=env, stderr=subprocess.PIPE, text=True, check=True)
    times = {}
    for line in done.stderr.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if len(parts) == 3 and parts[0].startswith("import time:") and parts[1].isdigit():
            times[parts[2]] = (int(parts[0].split(":")[1]), int(parts[1]))
    return times


def peak_mb(args: List[str], env) -> float:
    done = subprocess.run([sys.executable, "-c", MAXRSS, sys.executable] + args, env=env,
                          stdout=subprocess.PIPE, text=True, check=True)
    kilobytes = int(done.stdout.strip().splitlines()[-1])
    return kilobytes / (1024 * 1024 if sys.platform == "darwin" else 1024)  # bytes on macOS


def section_imports(cfg: Config) -> List[Row]:
    modules = [name for name in ("ideconsole", "tqdm", "rich") if util.find_spec(name)]
    runs = [["-c", "pass"]] + [["-c", "import " + name] for name in modules]
    demo = ["-m", "ideconsole", "demo", "--epochs", "2", "--steps", "50", "--delay", "0"]
    walls = {tuple(run): [] for run in runs}
    importtimes = {name: [] for name in modules}
    with tempfile.TemporaryDirectory() as folder:
        env = cached_bytecode_env(folder)
        for run in runs + [demo]:
            wall_seconds(run, env)  # compiles and caches the bytecode
        for repeat in range(cfg.repeats):
            for run in rotated(runs, repeat):
                walls[tuple(run)].append(wall_seconds(run, env))
            for name in modules:
                importtimes[name].append(import_times(name, env))
        base_mb = median([peak_mb(["-c", "pass"], env) for _ in range(cfg.repeats)])
        demo_mb = median([peak_mb(demo, env) for _ in range(cfg.repeats)])
    base = median(walls[("-c", "pass")]) * 1e3
    rows = [Row("5", "python -c pass (bytecode cached)", "{:.1f} ms wall".format(base), "baseline")]
    for name in modules:
        wall = median(walls[("-c", "import " + name)]) * 1e3
        cumulative = median([times[name][1] for times in importtimes[name]]) / 1e3
        rows.append(Row("5", "python -c 'import {}'".format(name), "{:.1f} ms wall".format(wall),
                        "+{:.1f} ms over pass; -X importtime {:.1f} ms".format(wall - base, cumulative)))
    for name in ("tqdm", "rich"):
        if name not in modules:
            rows.append(Row("5", "python -c 'import {}'".format(name), name + " not installed: skipped"))
    if "ideconsole" in modules:
        rows.append(Row("5", "import ideconsole: largest self times", "-X importtime",
                        heaviest(importtimes["ideconsole"])))
    rows.append(Row("5", "peak RSS: python -c pass", "{:.1f} MB".format(base_mb), "baseline"))
    rows.append(Row("5", "peak RSS: python -m ideconsole demo (2x50)", "{:.1f} MB".format(demo_mb),
                    "+{:.1f} MB over pass".format(demo_mb - base_mb)))
    return rows


def heaviest(runs: List[Dict[str, tuple]], count: int = 4) -> str:
    """The modules with the largest median self time over the runs."""
    selves = {name: median([run[name][0] for run in runs if name in run]) for name in runs[-1]}
    top = sorted(selves.items(), key=lambda item: -item[1])[:count]
    return ", ".join("{} {:.1f} ms".format(name, us / 1e3) for name, us in top)


# -- 6: bytes per second of training ------------------------------------------------------------


def written_by(make_callback) -> CountingStream:
    """What one simulated fit (Keras 3 float logs) writes to a counting stdout."""
    stream, clock = CountingStream(), FakeClock()
    with redirect_stdout(stream), fake_clock(clock):
        simulate_fit(make_callback(stream), clock, float_logs(), epoch_logs())
    return stream


def section_bytes(cfg: Config) -> List[Row]:
    import keras

    from ideconsole.keras import ProgbarLogger

    seconds = SIM_EPOCHS * SIM_STEPS * SIM_STEP_S
    where = "{} epochs x {} steps x {:g} ms".format(SIM_EPOCHS, SIM_STEPS, SIM_STEP_S * 1e3)
    stock = written_by(lambda stream: keras.callbacks.ProgbarLogger())
    rows = [Row("6", "keras.callbacks.ProgbarLogger, any console, " + where,
                "{:.0f} B/s of training, {} lines".format(stock.bytes / seconds, stock.lines),
                "{} bytes in {} writes".format(stock.bytes, stock.writes))]
    for profile in ("vt", "pycharm", "log"):
        ours = written_by(lambda stream, p=profile: ProgbarLogger(console=ide_console(stream, p)))
        rows.append(Row("6", "ideconsole.keras, console={}".format(profile),
                        "{:.0f} B/s of training, {} lines".format(ours.bytes / seconds, ours.lines),
                        "{} bytes in {} writes; stock writes {:.1f}x the bytes".format(
                            ours.bytes, ours.writes, stock.bytes / max(ours.bytes, 1))))
    return rows


# -- 7: log volume of a real fit() -------------------------------------------------------------


# (label, flavour, logger) of each fit_script run, the stock logger first in each pair
LOG_RUNS = [("stock Keras 3 (verbose=1)", "keras3", "none"),
            ("ideconsole, Keras 3", "keras3", "ideconsole"),
            ("stock tf_keras (verbose=1)", "tf_keras", "none"),
            ("ideconsole, tf_keras", "tf_keras", "ideconsole")]


def start_fit_script(flavour: str, logger: str, cfg: Config, out) -> subprocess.Popen:
    command = [sys.executable, str(REPO / "tests" / "fit_script.py"), flavour,
               "--epochs", str(cfg.log_epochs), "--steps", str(cfg.log_steps), "--logger", logger]
    return subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=python_env())


def log_facts(path: str) -> Dict[str, int]:
    data = Path(path).read_bytes()
    val_loss = sum(b"val_loss" in line for line in data.split(b"\n"))
    return {"bytes": len(data), "lines": data.count(b"\n"), "val_loss": val_loss}


def section_log_volume(cfg: Config) -> List[Row]:
    if not (REPO / "tests" / "fit_script.py").exists():
        return [Row("7", "log volume", "skipped: tests/fit_script.py not found")]
    facts = {}
    with tempfile.TemporaryDirectory() as folder:
        files = {label: open(os.path.join(folder, "{}.log".format(index)), "w")
                 for index, (label, _, _) in enumerate(LOG_RUNS)}
        processes = {}
        for label, flavour, logger in LOG_RUNS:
            processes[label] = start_fit_script(flavour, logger, cfg, files[label])
            if not cfg.log_parallel:
                processes[label].wait()
        for label, process in processes.items():
            files[label].close()
            facts[label] = log_facts(files[label].name) if process.wait() == 0 else process.returncode
    rows = []
    where = " ({} epochs x {} steps, stdout to a file{})".format(
        cfg.log_epochs, cfg.log_steps, ", fits run in parallel" if cfg.log_parallel else "")
    stock = None
    for index, (label, _, _) in enumerate(LOG_RUNS):
        got = facts[label]
        case = label + (where if index == 0 else "")
        if isinstance(got, int):
            rows.append(Row("7", case, "failed: exit status {}".format(got)))
            continue
        result = "{} bytes, {} lines, {} with val_loss".format(got["bytes"], got["lines"], got["val_loss"])
        compare = ""
        if label.startswith("stock"):
            stock = got
        elif isinstance(stock, dict):
            compare = "stock/ideconsole: {:.1f}x bytes, {:.1f}x lines".format(
                stock["bytes"] / max(got["bytes"], 1), stock["lines"] / max(got["lines"], 1))
        rows.append(Row("7", case, result, compare))
    return rows


# -- 8: one redraw with many metrics -------------------------------------------------------------


def many_logs(count: int) -> Dict[str, float]:
    """`count` metrics as a multi-output model logs them: the loss, then each output's."""
    logs = {"loss": 0.5}
    for index in range(count - 1):
        logs["output_{}_{}".format(index // 4, METRICS[1 + index % 4])] = 0.1 + index * 1e-3
    return logs


def section_many_metrics(cfg: Config) -> List[Row]:
    """Every call redraws (fake clock), on an 80-column terminal: ideconsole fits the line to
    the width, Keras draws it whole and lets the terminal wrap it."""
    import keras

    from ideconsole.keras import ProgbarLogger as Keras3Logger

    ours, stock = "ideconsole.keras ProgbarLogger", "keras.callbacks.ProgbarLogger"
    devnull = open(os.devnull, "w")

    def ours_on_80_columns():
        return Keras3Logger(console=ide_console(devnull, "vt"))

    with devnull, redirect_stdout(devnull):
        cases = []
        for count in MANY_METRICS:
            logs = many_logs(count)
            cases += [Case("{} {}".format(count, ours), ours_on_80_columns, logs),
                      Case("{} {}".format(count, stock), keras.callbacks.ProgbarLogger, logs)]
        redraw = timed_cases(cases, {case.name: cfg.redraws for case in cases}, cfg.repeats, redraw=True)
    rows = []
    for count in MANY_METRICS:
        mine, keras3 = redraw["{} {}".format(count, ours)], redraw["{} {}".format(count, stock)]
        ratio = mine / keras3
        rows.append(Row("8", "one redraw, {} metrics: {}".format(count, ours),
                        "{:.1f} µs/redraw (n={})".format(mine, cfg.redraws),
                        "{}: {:.1f} µs; ideconsole's costs {:.2f}x this".format(stock, keras3, ratio),
                        at_most(ratio, GOAL_MANY_VS_KERAS3, "x") if count == MANY_METRICS[-1] else ""))
    return rows


# -- 9: capture ------------------------------------------------------------------------------------


RELAY_LOAD = r"""
import os, resource, sys, time
import ideconsole
from ideconsole import capture, session
from ideconsole.progress import Progress
ideconsole.install()  # the relay starts here
relay = capture.current().process
megabytes, kind = int(sys.argv[1]), sys.argv[2]
line = b"\r 50%|#####     | " + b"y" * 60 + b"\n" if kind == "redraws" else b"x" * 79 + b"\n"
block = line * (65536 // len(line))
bar = Progress(10)
if kind != "no bar":
    bar.update(1, {"loss": 0.5})
for _ in range(megabytes * (1 << 20) // len(block)):
    os.write(1, block)
bar.done({"loss": 0.5})
session.end()
relay.wait()  # it ends once every writer has gone: this process's descriptors are its own again
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write("RELAY-CPU %f\n" % (usage.ru_utime + usage.ru_stime))
"""

PINGS = r"""
import os, sys, time
from ideconsole.progress import Progress
bar = Progress(10 ** 6)
for index in range(int(sys.argv[1])):
    bar.update(index + 1, {"loss": 0.5})
    if sys.argv[2] == "print":
        print("PING %.6f" % time.monotonic(), flush=True)
    else:
        os.write(1, b"PING %.6f\n" % time.monotonic())
    time.sleep(0.02)
bar.done({"loss": 0.5})
"""

FIT_IN_TERMINAL = r"""
import os, sys, time
import numpy as np
import keras
from ideconsole.keras import ProgbarLogger
steps, epochs = int(sys.argv[1]), int(sys.argv[2])
x = np.random.RandomState(0).rand(8 * steps, 8).astype("float32")
y = np.random.RandomState(1).rand(8 * steps, 4).astype("float32")
model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(4)])
model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
model.fit(x, y, batch_size=8, epochs=1, verbose=0)
times = []
class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        times.append(time.perf_counter() - self.start)
model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[ProgbarLogger(), Timer()])
times = sorted(times[1:])
print("STEPS-PER-S %f" % (steps / times[len(times) // 2]))
"""


PRINTS_UNDER_A_BAR = r"""
import sys, time
if sys.argv[2] != "plain":
    import ideconsole
    ideconsole.install()  # the relay starts here
from tqdm import tqdm
lines = int(sys.argv[1])
start = time.perf_counter()
with tqdm(total=lines, mininterval=0.05) as bar:
    for index in range(lines):
        print("a line printed under the bar, number %d" % index)
        bar.update(1)
sys.stderr.write("SECONDS %f\n" % (time.perf_counter() - start))
"""

FLOOD = r"""
import os, sys, time
if sys.argv[2] != "plain":
    import ideconsole
    ideconsole.install()
from ideconsole.progress import Progress
megabytes = int(sys.argv[1])
line = b"x" * 79 + b"\n"
block = line * (65536 // len(line))
start = time.perf_counter()
bar = Progress(10) if sys.argv[2] != "plain" else None
if bar:
    bar.update(1, {"loss": 0.5})
for _ in range(megabytes * (1 << 20) // len(block)):
    os.write(1, block)
if bar:
    bar.done({"loss": 0.5})
sys.stderr.write("SECONDS %f\n" % (time.perf_counter() - start))
"""

LAST_WORDS = r"""
import os, signal, sys
from ideconsole.progress import Progress
bar = Progress(3)
bar.update(1, {"loss": 0.5})
print("last words")
sys.stdout.flush()
os.kill(os.getpid(), getattr(signal, sys.argv[1]))
"""

HOLDER = r"""
import subprocess, sys
# holds stdout and stderr after the script ends, as a resource tracker or a kept dup() does
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
print("the script ends")
"""


def ways(script: str, plain: bool = True) -> Dict[str, List[str]]:
    """How a script is started: without ideconsole, with install() in it, and under run."""
    installed = str(REPO / "tests" / "installed.py")
    started = {"install": [sys.executable, installed, script],
               "run": [sys.executable, "-m", "ideconsole", "run", script]}
    if plain:
        started["plain"] = [sys.executable, script]
    return started


def seconds_reported(output: bytes) -> float:
    found = [line for line in output.split(b"\n") if line.startswith(b"SECONDS ")]
    return float(found[-1].split()[1]) if found else float("nan")


def prints_and_flood(cfg: Config) -> List[Row]:
    """The issue's costs, side by side with plain Python in one run: print() lines under a tqdm
    bar and an os.write flood, in a real pseudo terminal read as fast as a terminal reads."""
    rows = []
    lines = 40000
    cases = (("prints", PRINTS_UNDER_A_BAR, str(lines), "{:,} print() lines under a tqdm bar".format(lines)),
             ("flood", FLOOD, str(cfg.relay_mb), "os.write flood of {} MB, a bar up".format(cfg.relay_mb)))
    for _, code, size, what in cases:
        times = {"plain": [], "install": []}
        for repeat in range(cfg.repeats):
            for way in rotated(["plain", "install"], repeat):
                env = dict(capture_env(True), PYTHONUNBUFFERED="")
                output = in_terminal([sys.executable, "-c", code, size, way], env)
                times[way].append(seconds_reported(output))
        ratios = [ours / plain for ours, plain in zip(times["install"], times["plain"])]
        compared = "{:.2f} s plain Python; {}".format(median(times["plain"]), spread(ratios).rstrip(","))
        rows.append(Row("9", what, "{:.2f} s with install()".format(median(times["install"])), compared,
                        at_most(median(ratios), 1.5, "x")))
    return rows


def start_and_exit(cfg: Config) -> List[Row]:
    """Wall time of `install(); print(1)` against capture off, and the time from a script's last
    line to its process's end while another process holds its output (a resource tracker, a kept
    dup()): plain Python, install() and run side by side."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        short = os.path.join(folder, "short.py")
        with open(short, "w") as file:
            file.write("print(1)\n")
        held = os.path.join(folder, "held.py")
        with open(held, "w") as file:
            file.write(HOLDER)
        started = dict(ways(short), off=[sys.executable, str(REPO / "tests" / "installed.py"), short])
        times = {way: [] for way in started}
        for repeat in range(cfg.repeats):
            for way in rotated(list(times), repeat):
                begun = time.perf_counter()
                in_terminal(started[way], capture_env(way != "off"), until_exit=True)
                times[way].append(time.perf_counter() - begun)
        extra = (median(times["install"]) - median(times["off"])) * 1e3
        rows.append(Row("9", "wall time of `install(); print(1)`", "{:.0f} ms ({:.0f} ms run)".format(
            median(times["install"]) * 1e3, median(times["run"]) * 1e3),
            "{:.0f} ms capture off, {:.0f} ms plain Python".format(median(times["off"]) * 1e3,
                                                                   median(times["plain"]) * 1e3),
            at_most(extra, 60, " ms over capture off", 0)))
        exits = {way: [] for way in ("plain", "install", "run")}
        for repeat in range(cfg.repeats):
            for way in rotated(list(exits), repeat):
                seen = {}

                def last_line(data, seen=seen):
                    if b"the script ends" in data and "line" not in seen:
                        seen["line"] = time.perf_counter()

                in_terminal(ways(held)[way], capture_env(True), last_line, until_exit=True)
                exits[way].append(time.perf_counter() - seen.get("line", float("nan")))
        late = max(median(exits["install"]), median(exits["run"])) - median(exits["plain"])
        rows.append(Row("9", "last line to the end of the process, another holding its output",
                        "{:.0f} ms install(), {:.0f} ms run".format(median(exits["install"]) * 1e3,
                                                                   median(exits["run"]) * 1e3),
                        "{:.0f} ms plain Python".format(median(exits["plain"]) * 1e3),
                        at_most(late * 1e3, 50, " ms over plain", 0)))
    return rows


def late_last_words(cfg: Config) -> List[Row]:
    """How often a script's last line comes after the shell's next output, when the script is
    killed: install() (the relay is its child) and run (the script is the relay's child)."""
    rows = []
    runs = 10 if cfg.repeats >= 5 else 4
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "last.py")
        with open(path, "w") as file:
            file.write(LAST_WORDS)
        for how in ("SIGKILL", "SIGTERM"):
            late = {}
            for way, argv in ways(path, plain=False).items():
                command = " ".join("{} {}; echo MARKER".format(" ".join(argv), how) for _ in range(runs))
                output = in_terminal(["sh", "-c", command], capture_env(True)).replace(b"\r", b"")
                said, late[way] = False, 0
                for row in output.split(b"\n"):  # each run's marker must come after its last words
                    said = said or b"last words" in row
                    if row.endswith(b"MARKER"):
                        late[way] += not said
                        said = False
            result = "{0} of {2} install(), {1} of {2} run".format(late["install"], late["run"], runs)
            rows.append(Row("9", "killed by {}: last line after the shell's marker".format(how), result,
                            "plain Python: never", "run: 0"))
    return rows


def in_terminal(argv: List[str], env, on_output: Optional[Callable[[bytes], None]] = None,
                until_exit: bool = False) -> bytes:
    """Run `argv` in a real pseudo terminal, 120 columns; everything it showed."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        if until_exit and process.poll() is not None:
            break  # the process ended: what others still hold open is not waited for
        if until_exit and not select.select([master], [], [], 0.001)[0]:
            continue
        try:
            data = os.read(master, 1 << 16)
        except OSError:
            break
        if not data:
            break
        if on_output:
            on_output(data)
        chunks.append(data)
    os.close(master)
    process.wait()
    return b"".join(chunks)


def capture_env(on: bool) -> Dict[str, str]:
    env = dict(python_env(), IDECONSOLE_CAPTURE="1" if on else "0", TERM="xterm-256color")
    for name in ("PYCHARM_HOSTED", "COLUMNS", "CI"):
        env.pop(name, None)
    return env


def relay_seconds(megabytes: int, kind: str) -> float:
    """CPU seconds of the relay, start to end, for `megabytes` written with os.write."""
    output = in_terminal([sys.executable, "-c", RELAY_LOAD, str(megabytes), kind], capture_env(True))
    found = [line for line in output.split(b"\n") if line.startswith(b"RELAY-CPU ")]
    return float(found[-1].split()[1]) if found else float("nan")


def relay_cpu(cfg: Config) -> List[Row]:
    start = median([relay_seconds(0, "lines") for _ in range(cfg.repeats)])
    rows = [Row("9", "relay CPU: start and end, nothing written", "{:.0f} ms".format(start * 1e3),
                "once per process")]
    cases = (("lines", "lines of 80 bytes, a bar up"), ("redraws", "lines with \\r redraws, a bar up"),
             ("no bar", "lines of 80 bytes, no bar up (passed on as written)"))
    for kind, what in cases:
        seconds = median([relay_seconds(cfg.relay_mb, kind) for _ in range(cfg.repeats)])
        per_mb = max(seconds - start, 1e-6) / cfg.relay_mb
        rows.append(Row("9", "relay CPU, os.write of {} MB: {}".format(cfg.relay_mb, what),
                        "{:.1f} ms per MB".format(per_mb * 1e3),
                        "{:.0f} MB/s on one core".format(1 / per_mb)))
    return rows


def line_latency(cfg: Config) -> List[Row]:
    rows = []
    pings = 20 if cfg.repeats < 5 else 100
    for how in ("os.write", "print"):
        results = {}
        for on in (False, True):
            delays = []
            held = bytearray()

            def seen(data, delays=delays, held=held):
                now = time.monotonic()
                held.extend(data)
                while b"\n" in held:
                    line, _, rest = bytes(held).partition(b"\n")
                    held[:] = rest
                    start = line.rfind(b"PING ")
                    if start >= 0:
                        delays.append(now - float(line[start + 5:].split()[0]))

            in_terminal([sys.executable, "-c", PINGS, str(pings), how], capture_env(on), seen)
            results[on] = median(delays) if delays else float("nan")
        rows.append(Row("9", "latency of a line ({}), a bar up".format(how),
                        "{:.2f} ms through the relay".format(results[True] * 1e3),
                        "{:.2f} ms with capture off".format(results[False] * 1e3)))
    return rows


def fit_with_capture(cfg: Config) -> List[Row]:
    steps, epochs = cfg.fit_steps, cfg.fit_epochs
    rates = {True: [], False: []}
    for repeat in range(cfg.repeats):
        for on in rotated([True, False], repeat):
            output = in_terminal([sys.executable, "-c", FIT_IN_TERMINAL, str(steps), str(epochs)],
                                 capture_env(on))
            found = [line for line in output.split(b"\n") if b"STEPS-PER-S " in line]
            rates[on].append(float(found[-1].split()[-1]) if found else float("nan"))
    ratios = [on / off for on, off in zip(rates[True], rates[False])]
    case = "fit() in a terminal, Keras 3, ideconsole.keras (Dense(4), {} steps/epoch)".format(steps)
    return [Row("9", case, "{:.0f} steps/s capture on".format(median(rates[True])),
                "{:.0f} steps/s capture off; on/off {}".format(median(rates[False]),
                                                               spread(ratios).rstrip(",")))]


def section_capture(cfg: Config) -> List[Row]:
    if os.name != "posix":
        return [Row("9", "capture", "skipped: POSIX only")]
    return (prints_and_flood(cfg) + start_and_exit(cfg) + late_last_words(cfg) + relay_cpu(cfg)
            + line_latency(cfg) + fit_with_capture(cfg))


# -- the table ----------------------------------------------------------------------------------


def header(cfg: Config, quick: bool, load_before: str) -> List[str]:
    return [
        "ideconsole benchmark ({}): Python {}, TensorFlow {}, Keras {}, tf_keras {}, tqdm {}, rich {}".format(
            "--quick" if quick else "full run", platform.python_version(), version("tensorflow"),
            version("keras"), version("tf_keras"), version("tqdm"), version("rich")),
        "{} CPUs, {} {}, load average {} before, {} after; medians of {} repeats, compared cases "
        "measured side by side, alternating".format(os.cpu_count(), platform.system(), platform.machine(),
                                                   load_before, load_average(), cfg.repeats),
        "3, 4: steps/s over whole epochs after the first; ratios are of verbose=0, per round (median, "
        "range); hooks: share of the",
        "epoch spent in the callback's hooks (waits in them included), and 1 - that share, which the "
        "goal is checked on.",
    ]


def load_average() -> str:
    try:
        return "{:.2f}".format(os.getloadavg()[0])
    except (AttributeError, OSError):  # not on Windows
        return "n/a"


def table(rows: List[Row], titles=("section", "case", "result", "compared", "goal")) -> str:
    cells = [list(titles)]
    previous = None
    for row in rows:
        section = "{} {}".format(row.section, SECTIONS[row.section]) if row.section != previous else ""
        previous = row.section
        cells.append([section, row.case, row.result, row.compare, row.goal])
    widths = [max(len(line[column]) for line in cells) for column in range(len(titles))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def run_section(key: str, cfg: Config, quick: bool) -> List[Row]:
    runners = {"1": section_skip_path, "2": section_conversions, "3": section_fit,
               "4": lambda c: section_jax(c, quick), "5": section_imports, "6": section_bytes,
               "7": section_log_volume, "8": section_many_metrics,
               "9": section_capture}
    started = time.perf_counter()
    note("section {} ({})...".format(key, SECTIONS[key]))
    try:
        rows = runners[key](cfg)
    except Exception as error:  # one broken section must not hide the others' results
        rows = [Row(key, "error", "{}: {}".format(type(error).__name__, error))]
    note("section {} done in {:.1f} s".format(key, time.perf_counter() - started))
    return rows


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small N, 3 repeats (under a minute)")
    parser.add_argument("--only", metavar="SECTION[,SECTION]", help="sections to run, e.g. 1,3")
    parser.add_argument("--fit-child", metavar="BACKEND", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sections = sorted(SECTIONS) if not args.only else [s.strip() for s in args.only.split(",")]
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error("unknown section(s) {}; choose from {}".format(", ".join(unknown), ",".join(SECTIONS)))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.fit_child:
        fit_child(args.fit_child, cfg)
        return 0
    started, load_before = time.perf_counter(), load_average()
    rows = []
    for key in args.sections:
        rows += run_section(key, cfg, args.quick)
    print("\n".join(header(cfg, args.quick, load_before)))
    print()
    print(table(rows))
    print()
    print("total {:.0f} s".format(time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
