"""Keras callback events -> a Progress bar. Shared by every Keras flavour; the thin
modules `ideconsole.keras` and `ideconsole.tf_keras` mix it into their Keras's own
`ProgbarLogger`, so Keras sees a ProgbarLogger and adds none of its own.

Nothing here imports Keras.
"""
import inspect
import math
import numbers
import sys
from typing import Optional

from . import faults, session
from .console import Console, get_console
from .progress import Averages, Progress


class ProgressCallback:
    """Every hook of Keras's ProgbarLogger, drawn through an ideconsole `Console`.

    Keras 3, tf_keras and standalone Keras 2.2 call different hooks (`on_batch_end` is the
    only train-batch hook in Keras 2.2); all of them are answered here. Validation inside
    `fit` stays silent, as in Keras; `evaluate` and `predict` get a bar of their own. The
    stock logger's attributes (`target`, `seen`, `epochs`, `verbose`, `progbar`) mean what
    they mean there; `progbar` is the bar being drawn, a `Progress`.
    """

    flavour = "keras3"           # "keras2": tf_keras; "keras2.2": standalone Keras 2.2 (see render.Look)
    async_safe = True            # Keras 3: batch hooks may run on a thread pool (JAX, PyTorch)
    _supports_tf_logs = True     # tf_keras: hand us tensors; we convert only what is drawn

    # The state, as class defaults: a stock ProgbarLogger made before install() gets
    # ideconsole's methods but never ran ideconsole's __init__.
    target = None                # steps (or samples) per epoch; None until learnt
    epochs = 1
    verbose = 1
    progbar = None               # the Progress of the epoch, evaluate() or predict() under way
    _seen = 0
    _console = None              # None: sys.stdout's console (or Keras's absl logging)
    _verbose_override = None
    _in_fit = False
    _epoch_title = ""
    _count_samples = False
    _averaging = False
    _averages = None
    _counters = None             # tf_keras: the model's step counters, for an unknown length

    def _ideconsole_init(self, console: Optional[Console] = None, verbose=None):
        self._console = console
        self._verbose_override = verbose

    # -- parameters -----------------------------------------------------------------------

    @property
    def console(self) -> Console:
        return self._console or _default_console(self)

    @property
    def seen(self) -> int:
        """Steps (or samples) of the current bar so far, or of the last one."""
        bar = self.progbar
        return bar.step if bar is not None else self._seen

    @seen.setter
    def seen(self, value):
        self._seen = value

    def set_params(self, params):
        # Keras calls this once per fit(), evaluate() and predict(): whatever an interrupted
        # one left (a bar, "in fit", an epoch title) ends here.
        self._close_bar()
        self._in_fit = False
        self._epoch_title = ""
        self.params = params
        verbose = self._verbose_override
        if verbose is None:
            verbose = params.get("verbose", 1)
        try:
            self.verbose = 1 if verbose == "auto" else int(verbose or 0)
        except (TypeError, ValueError):
            self.verbose = 1
        self.epochs = params.get("epochs") or 1
        steps = params.get("steps")
        self._count_samples = (steps is None and params.get("samples") is not None
                               and not getattr(self, "use_steps", False))
        self.target = params.get("samples") if self._count_samples else steps
        # Keras 2.2 (the one with params["metrics"]) hands over each batch's own values and
        # leaves the running means to its logger, which shows them mid-epoch.
        self._averaging = params.get("metrics") is not None
        self._call_batch_hooks = self.verbose == 1  # tf_keras: skip batch hooks otherwise...
        self._counters = None
        if self.target is None:  # ...unless the steps must be counted: its counters, or the hooks
            model = getattr(self, "model", None)
            counters = tuple(getattr(model, name, None)
                             for name in ("_train_counter", "_test_counter", "_predict_counter"))
            if any(counter is None for counter in counters):  # not `in`: tensors compare elementwise
                self._call_batch_hooks = True
            else:
                self._counters = counters
        if self.verbose:
            # Before Keras forks its data workers (Keras 2.2 starts them after on_train_begin):
            # they inherit descriptors the relay reads.
            try:
                session.start(self.console)
            except Exception:  # no capture rather than no training
                faults.swallowed("ProgressCallback.set_params")

    def set_model(self, model):
        _keras_method(self, "set_model")(self, model)
        _silence_other_loggers(self)

    # -- fit ------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False
        self._epoch_title = ""
        self._close_bar()

    def on_epoch_begin(self, epoch, logs=None):
        self._close_bar()
        self._epoch_title = ""
        if self.verbose and self.epochs > 1:
            self._epoch_title = "Epoch {}/{}".format(epoch + 1, self.epochs)
            self._say(self._epoch_title + "\n")
        self._start_bar()

    def on_batch_begin(self, batch, logs=None):
        pass  # Keras 2.2's stock hook reads state this class does not keep

    # Direct no-ops: Keras's defaults would call on_batch_begin on every step.
    on_train_batch_begin = on_test_batch_begin = on_predict_batch_begin = on_batch_begin

    def on_train_batch_end(self, batch, logs=None):
        # The hot path: between redraws, Progress.update stores two references and reads
        # the clock. Nothing else happens per batch.
        bar = self.progbar
        if bar is not None and not self._averaging:
            try:
                bar.update(batch + 1, logs)
            except Exception:
                faults.swallowed("ProgressCallback.on_train_batch_end")
        else:
            self._step(batch, logs)

    on_batch_end = on_train_batch_end  # Keras 2.2's only train-batch hook

    def on_epoch_end(self, epoch, logs=None):
        self._finish_bar(logs, 0)

    # -- evaluate and predict ---------------------------------------------------------------

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._start_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._step(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish_bar(logs, 1)

    def on_predict_begin(self, logs=None):
        self._start_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._step(batch, None)  # the logs hold the predictions, not metrics

    def on_predict_end(self, logs=None):
        self._finish_bar(None, 2)

    # -- plumbing -----------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        try:
            self.console.write(text)
        except Exception:  # the progress display must never stop training
            faults.swallowed("ProgressCallback._say")

    def _start_bar(self):
        self._seen = 0
        if self._averaging:
            self._averages = Averages(getattr(self, "stateful_metrics", None) or
                                      getattr(getattr(self, "model", None), "stateful_metric_names", ()))
        self.progbar = None
        if self.verbose:
            try:
                self.progbar = Progress(self.target, console=self.console, title=self._epoch_title,
                                        verbose=self.verbose, flavour=self.flavour)
            except Exception:  # no bar rather than no training
                faults.swallowed("ProgressCallback._start_bar")

    def _step(self, batch, logs):
        """A batch end off the hot path: evaluate, predict, and Keras 2.2, whose batch logs
        hold each batch's own values (averaged here, counted in samples or steps)."""
        bar = self.progbar
        if bar is None:
            return
        try:
            if not self._averaging:  # Keras 3 and tf_keras: the logs are running means already
                bar.update(batch + 1, logs)
                return
            weight = _batch_size(logs) if self._count_samples else 1
            self._seen += weight
            self._averages.add([(name, value) for name, value in (logs or {}).items()
                                if name not in bar.hidden], weight)
            bar.update(self._seen if self._count_samples else batch + 1, self._averages)
        except Exception:
            faults.swallowed("ProgressCallback._step")

    def _finish_bar(self, logs, counter):
        """`counter`: which of the model's step counters (train, test, predict) tells the
        steps when no batch hook counted them (tf_keras, verbose=2, unknown length)."""
        bar, self.progbar = self.progbar, None
        if bar is None:
            return
        try:
            steps = None
            if self.target is None and not bar.step and self._counters:
                steps = int(self._counters[counter].numpy())
            bar.done(_ordered(logs, (getattr(self, "params", None) or {}).get("metrics")), step=steps)
        except Exception:
            faults.swallowed("ProgressCallback._finish_bar")
        self._seen = bar.step
        if self.target is None and bar.total:
            self.target = bar.total  # learnt at the end of the first epoch, as Keras does

    def _close_bar(self):
        """A bar left open (an interrupted epoch) keeps its last state on screen."""
        bar, self.progbar = self.progbar, None
        if bar is not None:
            self._seen = bar.step
            try:
                bar.stop()
            except Exception:
                faults.swallowed("ProgressCallback._close_bar")


def _keras_method(obj, name):
    """Keras's own implementation of `name` for `obj`, past ideconsole's. Not super(): on
    classes patched by install() these methods are copied onto Keras's ProgbarLogger."""
    ours = getattr(ProgressCallback, name)
    for cls in type(obj).__mro__:
        method = cls.__dict__.get(name)
        if method is not None and method is not ours:
            return method
    raise AttributeError(name)


def _silence_other_loggers(logger) -> None:
    """Keras 2.2 adds its own ProgbarLogger whatever the callbacks list holds, and a stock
    ProgbarLogger passed next to ours would draw a second bar in any Keras. The CallbackList
    being set up is the caller's `self`. In it, ideconsole's loggers are kept, one per stream
    they draw on (a second one on the same stream would only repeat the first); stock loggers
    are kept only where there is no ideconsole logger, one of them, the caller (a stock logger
    patched by install()). Every other one is replaced, in place, by a plain Callback (so the
    list keeps its length while it is being iterated)."""
    frame = sys._getframe(2)
    for _ in range(3):
        if frame is None:
            return
        owner = frame.f_locals.get("self")
        callbacks = getattr(owner, "callbacks", None)
        if isinstance(callbacks, list) and any(item is logger for item in callbacks):
            break
        frame = frame.f_back
    else:
        return
    base = next(cls for cls in type(logger).__mro__ if cls.__name__ == "Callback")
    ours = any(isinstance(item, ProgressCallback) for item in callbacks)
    streams = []
    for index, item in enumerate(callbacks):
        if not (isinstance(item, ProgressCallback) or type(item).__name__ == "ProgbarLogger"):
            continue
        if isinstance(item, ProgressCallback) or (item is logger and not ours):
            stream = _stream_of(item)
            if not any(stream is seen for seen in streams):
                streams.append(stream)
                continue
        callbacks[index] = base()


def _stream_of(logger):
    try:
        return logger.console.stream
    except Exception:
        return None


def _default_console(owner) -> Console:
    """sys.stdout's console; or, where Keras's interactive logging is off
    (`keras.config.disable_interactive_logging()`), absl logging's, as Keras sends its own
    progress text there."""
    if _interactive_logging(owner):
        return get_console()
    global _absl_console
    if _absl_console is None:
        _absl_console = Console(_AbslLines(), console="log")
    return _absl_console


_absl_console = None


def _interactive_logging(owner) -> bool:
    """Keras's switch, of the Keras that `owner`'s class comes from (Keras 3 and tf_keras
    each have their own; older ones have none)."""
    for cls in type(owner).__mro__:
        package = cls.__module__.partition(".")[0]
        if package in ("keras", "tf_keras"):
            io_utils = sys.modules.get(package + ".src.utils.io_utils")
            try:
                return bool(io_utils.is_interactive_logging_enabled())
            except Exception:
                return True
    return True


class _AbslLines:
    """A stream that hands each complete line to absl's `logging.info`, as Keras's
    `print_msg` does with its text when interactive logging is off."""

    encoding = "utf-8"

    def __init__(self):
        self._held = ""

    def write(self, text: str) -> int:
        from absl import logging

        lines = (self._held + text).split("\n")
        self._held = lines.pop()
        for line in lines:
            if line:
                logging.info(line)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _ordered(logs, order):
    """Keras 2.2 lists the metrics in params["metrics"] order (loss first, val_ last)."""
    if not logs or not order:
        return logs
    rank = {name: index for index, name in enumerate(order)}
    return sorted(logs.items(), key=lambda item: rank.get(item[0], len(rank)))


def _batch_size(logs) -> int:
    try:
        return int(logs.get("size", 1)) if logs else 1
    except (TypeError, ValueError, AttributeError):
        return 1


class ProgbarCompat:
    """`keras.utils.Progbar`'s interface over a Progress: `update(current, values, finalize)`
    and `add(n, values)`. Keras's own constructor runs unchanged (its attributes are kept);
    metrics are averaged over the steps seen unless stateful, as that Keras does. Drawn on
    the console of the `sys.stdout` of the moment (`contextlib.redirect_stdout` works), or on
    `console=`. An `interval` passed explicitly is honoured everywhere, in a log too; by
    default the console's own applies. `width` and `unit_name` are left to the console."""

    flavour = "keras3"

    # The state, as class defaults: a Progbar made before install() never ran ideconsole's
    # __init__ and starts drawing at its first update.
    _progress = None  # the bar, on the console of `_stdout`
    _stdout = None
    _console = None   # given explicitly: drawn there whatever sys.stdout is
    _interval = None  # given explicitly by the caller
    _averages = None

    def __init__(self, *args, console: Optional[Console] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._ideconsole_init(console, _passed(super().__init__, args, kwargs, "interval"))

    def _ideconsole_init(self, console=None, interval_given=False):
        self._console = console
        interval = getattr(self, "interval", None)
        if interval_given and isinstance(interval, numbers.Real) and not isinstance(interval, bool):
            # Keras draws unless less than `interval` has passed: a negative or NaN one draws
            # every update; one that is not finite leaves the console's own
            try:
                seconds = float(interval) if interval >= 0 else 0.0
            except OverflowError:  # an int too big for a float: never finite
                seconds = float("inf")
            if math.isfinite(seconds):
                self._interval = seconds

    def update(self, current, values=None, finalize=None):
        try:
            progress = self._progress
            if progress is None or (sys.stdout is not self._stdout and self._console is None):
                progress = self._follow_stdout()
            if progress.finished and current < progress.step:
                # counting from the start again (one Progbar for every epoch of a loop): a new pass
                progress = self._progress = self._new_progress(progress.console)
            target = self.target
            if target and progress.total != target:  # Keras's logger sets it once it is known
                progress.total = target
            if finalize is None:
                finalize = target is not None and current >= target
            weight = max(current - self._seen_so_far, 1)
            # Keras 3 shows the values given with the final update as they are.
            self._averages.add(values or (), weight, final=finalize and self.flavour == "keras3")
            self._seen_so_far = current
            if finalize:
                progress.done(self._averages, step=current)
            else:
                progress.update(current, self._averages)
        except Exception:  # the progress display must never stop training
            faults.swallowed("ProgbarCompat.update")

    def add(self, n, values=None):
        self.update(self._seen_so_far + n, values)

    def _follow_stdout(self) -> Progress:
        """The bar on the console of the current sys.stdout: the one already drawn there, or
        one that goes on from where the other stopped."""
        self._stdout = sys.stdout
        console = self._console or _default_console(self)
        old = self._progress
        if old is not None and old.console is console:
            return old
        if self._averages is None:
            stateful = getattr(self, "stateful_metrics", None)
            self._averages = Averages(stateful or (), None if stateful is not None
                                      else getattr(self, "stateless_metrics", None))
        progress = self._new_progress(console)
        if old is not None:
            progress.take_over(old)
        self._progress = progress
        return progress

    def _new_progress(self, console) -> Progress:
        return Progress(self.target, console=console, verbose=self.verbose, flavour=self.flavour,
                        interval=self._interval)


def _passed(function, args, kwargs, name) -> bool:
    """Whether a call of `function` with these arguments gives `name` explicitly."""
    try:
        return name in inspect.signature(function).bind(*args, **kwargs).arguments
    except (TypeError, ValueError):
        return False
