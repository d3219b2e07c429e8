"""Keras callback events -> a Progress bar. Shared by every Keras flavour; the thin
modules `ideconsole.keras` and `ideconsole.tf_keras` mix it into their Keras's own
`ProgbarLogger`, so Keras sees a ProgbarLogger and adds none of its own.

Nothing here imports Keras.
"""
import sys
from typing import Optional

from .console import Console, get_console
from .progress import Averages, Progress


class ProgressCallback:
    """Every hook of Keras's ProgbarLogger, drawn through an ideconsole `Console`.

    Keras 3, tf_keras and standalone Keras 2.2 call different hooks (`on_batch_end` is the
    only train-batch hook in Keras 2.2); all of them are answered here. Validation inside
    `fit` stays silent, as in Keras; `evaluate` and `predict` get a bar of their own.
    """

    flavour = "keras3"           # "keras2" for tf_keras and standalone Keras 2.x (see render.Look)
    async_safe = True            # Keras 3: batch hooks may run on a thread pool (JAX, PyTorch)
    _supports_tf_logs = True     # tf_keras: hand us tensors; we convert only what is drawn

    def _ideconsole_init(self, console: Optional[Console] = None, verbose=None):
        self._console = console
        self._verbose_override = verbose
        self._bar = None
        self._in_fit = False
        self._epochs = 1
        self._epoch_title = ""
        self._target = None
        self._count_samples = False
        self._averaging = False
        self._averages = None
        self._seen = 0

    # -- parameters -----------------------------------------------------------------------

    @property
    def console(self) -> Console:
        return self._console or get_console()

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
        self._epochs = params.get("epochs") or 1
        steps = params.get("steps")
        self._count_samples = steps is None and params.get("samples") is not None
        self._target = params.get("samples") if self._count_samples else steps
        # Keras 2.2 (the one with params["metrics"]) hands over each batch's own values and
        # leaves the running means to its logger, which shows them mid-epoch.
        self._averaging = params.get("metrics") is not None
        self._call_batch_hooks = self.verbose == 1  # tf_keras: skip batch hooks otherwise

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
        if self.verbose and self._epochs > 1:
            self._epoch_title = "Epoch {}/{}".format(epoch + 1, self._epochs)
            self._say(self._epoch_title + "\n")
        self._start_bar()

    def on_batch_begin(self, batch, logs=None):
        pass  # Keras 2.2's stock hook reads state this class does not keep

    # Direct no-ops: Keras's defaults would call on_batch_begin on every step.
    on_train_batch_begin = on_test_batch_begin = on_predict_batch_begin = on_batch_begin

    def on_train_batch_end(self, batch, logs=None):
        # The hot path: between redraws, Progress.update stores two references and reads
        # the clock. Nothing else happens per batch.
        bar = self._bar
        if bar is not None and not self._averaging:
            try:
                bar.update(batch + 1, logs)
            except Exception:
                pass
        else:
            self._step(batch, logs)

    on_batch_end = on_train_batch_end  # Keras 2.2's only train-batch hook

    def on_epoch_end(self, epoch, logs=None):
        self._finish_bar(logs)

    # -- evaluate and predict ---------------------------------------------------------------

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._start_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._step(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish_bar(logs)

    def on_predict_begin(self, logs=None):
        self._start_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._step(batch, None)  # the logs hold the predictions, not metrics

    def on_predict_end(self, logs=None):
        self._finish_bar(None)

    # -- plumbing -----------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        try:
            self.console.write(text)
        except Exception:  # the progress display must never stop training
            pass

    def _start_bar(self):
        self._seen = 0
        if self._averaging:
            self._averages = Averages(getattr(self, "stateful_metrics", None) or
                                      getattr(getattr(self, "model", None), "stateful_metric_names", ()))
        self._bar = None
        if self.verbose:
            try:
                self._bar = Progress(self._target, console=self.console, title=self._epoch_title,
                                     verbose=self.verbose, flavour=self.flavour)
            except Exception:  # no bar rather than no training
                pass

    def _step(self, batch, logs):
        """A batch end off the hot path: evaluate, predict, and Keras 2.2, whose batch logs
        hold each batch's own values (averaged here, counted in samples or steps)."""
        bar = self._bar
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
            pass

    def _finish_bar(self, logs):
        bar, self._bar = self._bar, None
        if bar is not None:
            try:
                bar.done(_ordered(logs, self.params.get("metrics")))
            except Exception:
                pass
            if self._target is None and bar.total:
                self._target = bar.total  # learnt at the end of the first epoch, as Keras does

    def _close_bar(self):
        """A bar left open (an interrupted epoch) keeps its last state on screen."""
        bar, self._bar = self._bar, None
        if bar is not None:
            try:
                bar.stop()
            except Exception:
                pass


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
    being set up is the caller's `self`; every other progress logger in it is replaced, in
    place, by a plain Callback (so the list keeps its length while it is being iterated)."""
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
    for index, item in enumerate(callbacks):
        if item is not logger and type(item).__name__ == "ProgbarLogger" or (
                item is not logger and isinstance(item, ProgressCallback)):
            callbacks[index] = base()


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
    """`keras.utils.Progbar`'s interface over a Progress: `update(current, values)` and
    `add(n, values)`, averaging the metrics that are not stateful over the steps seen, as
    Keras does. `width`, `interval` and `unit_name` are accepted and left to the console."""

    flavour = "keras3"

    def __init__(self, target, width=None, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step", console: Optional[Console] = None):
        self.target = target
        self.verbose = verbose
        self._ideconsole_init(target, verbose, stateful_metrics, console)

    def _ideconsole_init(self, target, verbose=1, stateful_metrics=None, console=None):
        self._progress = Progress(target, console=console or get_console(), verbose=verbose,
                                  flavour=self.flavour)
        self._averages = Averages(stateful_metrics or ())
        self._seen_so_far = 0

    def update(self, current, values=None, finalize=None):
        try:
            self._averages.add(values or (), max(current - self._seen_so_far, 1))
            self._seen_so_far = current
            progress = self._progress
            if finalize is None:
                finalize = progress.total is not None and current >= progress.total
            if finalize:
                progress.done(self._averages(), step=current)
            else:
                progress.update(current, self._averages)
        except Exception:  # the progress display must never stop training
            pass

    def add(self, n, values=None):
        self.update(self._seen_so_far + n, values)
