"""The Keras callback logic without Keras: hooks in the order Keras calls them, output
replayed through a console model."""
import contextlib
import io
import re
import types

import pytest
from conftest import Recorder
from consoles import LogReader

from ideconsole import patch
from ideconsole.callback import ProgbarCompat, ProgressCallback
from ideconsole.console import Console
from ideconsole.progress import Progress


class Callback:
    """Stands in for keras.callbacks.Callback."""

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params


class ProgbarLogger(Callback):
    """Stands in for Keras's own logger: draws 'STOCK' for every batch."""

    def on_train_batch_end(self, batch, logs=None):
        print("STOCK", batch)


class Logger(ProgressCallback, ProgbarLogger):
    def __init__(self, console=None, verbose=None):
        self._ideconsole_init(console, verbose)


class CallbackList:
    """Keras's CallbackList as far as the loggers see it."""

    def __init__(self, callbacks, params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_params(params)
        self.set_model("model")

    def set_model(self, model):
        for callback in self.callbacks:
            callback.set_model(model)

    def call(self, hook, *args):
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method:
                method(*args)


def fit(callbacks, params, epochs=2, steps=4, logs=None):
    hooks = CallbackList(callbacks, params)
    hooks.call("on_train_begin")
    for epoch in range(epochs):
        hooks.call("on_epoch_begin", epoch)
        for batch in range(steps):
            hooks.call("on_train_batch_end", batch, dict(logs or {"loss": 0.5}, size=8))
        hooks.call("on_epoch_end", epoch, {"loss": 0.5, "val_loss": 0.25})
    hooks.call("on_train_end")
    return hooks


def test_a_stock_logger_next_to_ours_is_silenced(make_setup):
    setup = make_setup("vt80")
    hooks = fit([ProgbarLogger(), Logger(setup.console)], {"verbose": 1, "epochs": 2, "steps": 4})
    assert type(hooks.callbacks[0]) is Callback  # replaced in place: the list keeps its length
    lines = setup.screen().lines()
    assert not any("STOCK" in line for line in lines)
    assert [line for line in lines if line.startswith("Epoch")] == ["Epoch 1/2", "Epoch 2/2"]


def test_keras_2_fit_on_arrays_counts_samples(make_setup):
    setup = make_setup("log")
    fit([Logger(setup.console)], {"verbose": 1, "epochs": 1, "steps": None, "samples": 32}, epochs=1)
    lines = setup.screen().lines()
    assert len(lines) == 1 and lines[0].startswith("32/32 ") and lines[0].endswith("val_loss: 0.2500")


def test_verbose_0_writes_nothing_and_2_only_epoch_lines(make_setup):
    quiet = make_setup("vt80")
    fit([Logger(quiet.console)], {"verbose": 0, "epochs": 2, "steps": 4})
    assert quiet.writes == []
    summary = make_setup("vt80")
    fit([Logger(summary.console)], {"verbose": 2, "epochs": 2, "steps": 4})
    lines = summary.screen().lines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("4/4 - ") and len(lines) == 4
    assert not any("\r" in text for _, text in summary.writes)


def test_verbose_2_lines_in_a_log_say_which_epoch(make_setup):
    setup = make_setup("log")
    fit([Logger(setup.console)], {"verbose": 2, "epochs": 2, "steps": 4})
    lines = setup.screen().lines()
    assert lines[0::2] == ["Epoch 1/2", "Epoch 2/2"]
    assert lines[1].startswith("Epoch 1/2 4/4 - ") and lines[3].startswith("Epoch 2/2 4/4 - ")
    assert len([line for line in lines if "val_loss" in line]) == 2


def test_verbose_auto_and_nonsense_mean_1(make_setup):
    for verbose in ("auto", "loud"):
        setup = make_setup("vt80")
        fit([Logger(setup.console)], {"verbose": verbose, "epochs": 1, "steps": 4})
        assert setup.screen().lines()[0].startswith("4/4 ")
        assert any(text.startswith("\r") for _, text in setup.writes)


def test_one_epoch_has_no_header_and_initial_epoch_counts(make_setup):
    setup = make_setup("vt80")
    hooks = CallbackList([Logger(setup.console)], {"verbose": 1, "epochs": 5, "steps": 2})
    hooks.call("on_train_begin")
    hooks.call("on_epoch_begin", 3)  # fit(initial_epoch=3, epochs=5)
    hooks.call("on_train_batch_end", 1, {"loss": 0.1})
    hooks.call("on_epoch_end", 3, {"loss": 0.1})
    assert setup.screen().lines()[0] == "Epoch 4/5"
    single = make_setup("vt80")
    fit([Logger(single.console)], {"verbose": 1, "epochs": 1, "steps": 4})
    assert not single.screen().lines()[0].startswith("Epoch")


def test_evaluate_and_predict_after_fit_get_untitled_bars(make_setup):
    setup = make_setup("log")
    logger = Logger(setup.console)
    hooks = fit([logger], {"verbose": 1, "epochs": 2, "steps": 4})
    hooks.call("on_test_begin")
    hooks.call("on_test_batch_end", 3, {"loss": 0.75})
    hooks.call("on_test_end", {"loss": 0.75})
    hooks.call("on_predict_begin")
    hooks.call("on_predict_batch_end", 3, {"outputs": [[1.0]]})
    hooks.call("on_predict_end")
    lines = setup.screen().lines()
    assert lines[-2].startswith("4/4 ") and "loss: 0.7500" in lines[-2]
    assert lines[-1].startswith("4/4 ") and "outputs" not in lines[-1]


def test_validation_inside_fit_is_silent(make_setup):
    setup = make_setup("vt80")
    hooks = CallbackList([Logger(setup.console)], {"verbose": 1, "epochs": 1, "steps": 2})
    hooks.call("on_train_begin")
    hooks.call("on_epoch_begin", 0)
    hooks.call("on_train_batch_end", 1, {"loss": 0.1})
    hooks.call("on_test_begin")
    hooks.call("on_test_batch_end", 0, {"loss": 9.9})
    hooks.call("on_test_end", {"loss": 9.9})
    hooks.call("on_epoch_end", 0, {"loss": 0.1, "val_loss": 9.9})
    assert len(setup.screen().lines()) == 1 and "loss: 9.9" not in setup.screen().lines()[0][:40]


def test_clear_removes_the_status_line(make_setup):
    setup = make_setup("vt80")
    setup.console.write("kept\n")
    setup.console.status("3/9 transient")
    setup.console.clear()
    setup.console.write("after\n")
    assert setup.screen().lines() == ["kept", "after"]


def test_keras_2_batch_values_are_shown_as_running_means(make_setup):
    setup = make_setup("vt80", interval=1e-9)  # draw every update
    logger = Logger(setup.console)
    hooks = CallbackList([logger], {"verbose": 1, "epochs": 1, "steps": 4, "metrics": ["loss", "acc"]})
    hooks.call("on_train_begin")
    hooks.call("on_epoch_begin", 0)
    for batch, (loss, acc) in enumerate([(1.0, 0.0), (0.0, 1.0), (0.5, 0.5)]):
        hooks.call("on_batch_end", batch, {"batch": batch, "size": 8, "loss": loss, "acc": acc})
    shown = [text for _, text in setup.writes if "3/4" in text][-1]
    assert "loss: 0.5000" in shown and "acc: 0.5000" in shown
    hooks.call("on_epoch_end", 0, {"loss": 0.5, "acc": 0.5, "val_loss": 0.25})
    final = "".join(setup.screen().lines()).replace(" ", "")  # wrapped at 80 columns
    assert final.endswith("loss:0.5000-acc:0.5000-val_loss:0.2500")


def test_keras_3_evaluate_shows_the_running_means_keras_gives(make_setup):
    setup = make_setup("vt80", interval=1e-9)
    hooks = CallbackList([Logger(setup.console)], {"verbose": 1, "epochs": 1, "steps": 4})
    hooks.call("on_test_begin")
    for batch, loss in enumerate([1.0, 0.5, 0.25]):  # already means over the batches seen
        hooks.call("on_test_batch_end", batch, {"loss": loss})
    shown = [text for _, text in setup.writes if "3/4" in text][-1]
    assert "loss: 0.2500" in shown


# -- a second logger, instances made before install(), stock attributes ---------------------


def test_a_second_logger_on_another_stream_draws_there_and_a_duplicate_is_silenced(make_setup):
    setup = make_setup("vt80")
    log = io.StringIO()
    hooks = fit([Logger(setup.console), Logger(), Logger(Console(log, console="log")),
                 Logger(Console(log, console="log"))], {"verbose": 1, "epochs": 2, "steps": 4})
    assert [type(item) for item in hooks.callbacks] == [Logger, Callback, Logger, Callback]
    assert [line for line in setup.screen().lines() if line.startswith("Epoch")] == ["Epoch 1/2", "Epoch 2/2"]
    lines = LogReader().feed_all([log.getvalue()]).lines()
    assert [line.split(" 4/4 ")[0] for line in lines if "val_loss" in line] == ["Epoch 1/2", "Epoch 2/2"]


class StockLogger(Callback):
    """Keras's ProgbarLogger as its constructor leaves it (the attributes code reads)."""

    def __init__(self):
        self.seen, self.progbar, self.target, self.verbose, self.epochs = 0, None, None, 1, 1


class StockProgbar:
    """Keras 3's Progbar as its constructor leaves it."""

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 stateless_metrics=None, unit_name="step"):
        self.target, self.width, self.verbose, self.interval = target, width, verbose, interval
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics is not None else None
        self.stateless_metrics = set(stateless_metrics) if stateless_metrics is not None else None
        if stateful_metrics is None and stateless_metrics is None:
            self.stateful_metrics = set()
        self._seen_so_far = 0

    def update(self, current, values=None, finalize=None):
        print("STOCK", current)


@pytest.fixture
def stock_classes():
    """Fresh stand-ins for Keras's classes, each named as Keras names it, unpatched at the end."""
    logger = type("ProgbarLogger", (StockLogger,), {})
    progbar = type("Progbar", (StockProgbar,), {})
    yield logger, progbar
    patch.uninstall()


def test_instances_made_before_install_draw_through_ideconsole(make_setup, stock_classes):
    logger_class, progbar_class = stock_classes
    logger, progbar = logger_class(), progbar_class(3, interval=0.0)
    patch._patch_class(logger_class, ProgressCallback)
    patch._patch_class(progbar_class, ProgbarCompat)
    setup = make_setup("log")
    fit([logger], {"verbose": 1, "epochs": 2, "steps": 4})  # AttributeError '_bar' before
    for step in (1, 2, 3):
        progbar.update(step, [("loss", 0.5)])
    lines = setup.screen().lines()
    assert not any("STOCK" in line for line in lines)
    assert len([line for line in lines if line.startswith("Epoch 2/2 4/4 ")]) == 1, lines
    assert lines[-1].startswith("3/3 ") and lines[-1].endswith("loss: 0.5000"), lines


def test_the_stock_attributes_say_what_they_say_in_keras(make_setup):
    make_setup("log")
    logger = Logger()
    hooks = CallbackList([logger], {"verbose": "auto", "epochs": 2, "steps": None})
    assert (logger.target, logger.epochs, logger.verbose, logger.seen) == (None, 2, 1, 0)
    hooks.call("on_train_begin")
    hooks.call("on_epoch_begin", 0)
    for batch in range(5):  # a dataset of unknown length
        hooks.call("on_train_batch_end", batch, {"loss": 0.5})
    assert logger.seen == 5 and logger.progbar is not None
    hooks.call("on_epoch_end", 0, {"loss": 0.5})
    assert (logger.target, logger.seen, logger.progbar) == (5, 5, None)  # learnt, as Keras does


class Counter:
    def __init__(self, value):
        self.value = value

    def numpy(self):
        return self.value


def test_tf_keras_verbose_2_counts_unknown_steps_with_the_model_counters(make_setup):
    # tf_keras calls no batch hook at verbose=2 when the model counts the steps itself.
    setup = make_setup("log")
    logger = Logger()
    model = types.SimpleNamespace(_train_counter=Counter(20), _test_counter=Counter(7),
                                  _predict_counter=Counter(3))
    logger.set_model(model)
    logger.set_params({"verbose": 2, "epochs": 2, "steps": None})
    assert logger._call_batch_hooks is False
    logger.on_train_begin()
    for epoch in range(2):
        logger.on_epoch_begin(epoch)
        logger.on_epoch_end(epoch, {"loss": 0.5})
    logger.on_train_end()
    logger.set_params({"verbose": 2, "epochs": 1, "steps": None})
    logger.on_test_begin()
    logger.on_test_end({"loss": 0.25})
    lines = [line for line in setup.screen().lines() if " - " in line]
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/2 20/20", "Epoch 2/2 20/20", "7/7"], lines


class Keras2Logger(Logger):
    flavour = "keras2"


def test_verbose_2_follows_the_layout_of_the_flavour(make_setup):
    setup = make_setup("log")
    fit([Keras2Logger()], {"verbose": 2, "epochs": 1, "steps": 4}, epochs=1)
    keras3 = make_setup("log")
    fit([Logger()], {"verbose": 2, "epochs": 1, "steps": 4}, epochs=1)
    time = r"\d+(s|ms|us)"
    keras2_layout = r"^4/4 - \d+s - loss: 0\.5000 - val_loss: 0\.2500 - TIME/epoch - TIME/step$"
    keras3_layout = r"^4/4 - \d+s - TIME/step - loss: 0\.5000 - val_loss: 0\.2500$"
    assert re.match(keras2_layout.replace("TIME", time), setup.screen().lines()[-1]), setup.screen().lines()
    assert re.match(keras3_layout.replace("TIME", time), keras3.screen().lines()[-1]), keras3.screen().lines()


class Keras22Logger(Logger):
    flavour = "keras2.2"


@pytest.mark.parametrize("console_kind, layout", [
    ("vt80", r"^ - \d+s - loss: 0\.5000 - val_loss: 0\.2500$"),
    ("log", r"^Epoch 2/2 - \d+s - loss: 0\.5000 - val_loss: 0\.2500$")])
def test_verbose_2_in_keras_2_2_is_its_own_layout(make_setup, console_kind, layout):
    """Standalone Keras 2.2 (and 2.3) write ` - 0s - loss: ...` at verbose=2: no step count, no
    time per epoch or step (those came with tf.keras)."""
    setup = make_setup(console_kind)
    fit([Keras22Logger(setup.console)], {"verbose": 2, "epochs": 2, "steps": 4}, epochs=2)
    assert re.match(layout, setup.screen().lines()[-1]), setup.screen().lines()


# -- keras.utils.Progbar ------------------------------------------------------------------------


class Progbar(ProgbarCompat, StockProgbar):
    pass


def test_progbar_writes_to_the_stdout_of_the_moment_it_writes(make_setup):
    make_setup("log")
    bar = Progbar(3, interval=0.0)
    bar.update(1, [("value", 0.0)])
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        bar.update(2, [("value", 2.0)])
    assert "2/3 " in captured.getvalue() and "value: 1.0000" in captured.getvalue()
    assert "1/3 " not in captured.getvalue()


def test_an_explicit_interval_is_honoured_in_a_log(make_setup):
    setup = make_setup("log")
    explicit, default = Progbar(4, interval=0.0), Progbar(4)
    for step in (1, 2, 3):
        explicit.update(step, [("loss", 1.0)])
        default.update(step, [("loss", 9.0)])
    lines = setup.screen().lines()
    assert [line.split()[0] for line in lines if "loss: 1.0" in line] == ["1/4", "2/4", "3/4"]
    assert not any("loss: 9.0" in line for line in lines)  # a heartbeat every 30 s


@pytest.mark.parametrize("stateful, stateless, shown", [
    ([], None, "1.0000"), (["value"], None, "2.0000"), (None, [], "2.0000"), (None, ["value"], "1.0000")])
def test_progbar_stateful_and_stateless_metrics(make_setup, stateful, stateless, shown):
    setup = make_setup("log")
    bar = Progbar(3, interval=0.0, stateful_metrics=stateful, stateless_metrics=stateless)
    bar.update(1, [("value", 0.0)])
    bar.update(2, [("value", 2.0)])
    assert setup.screen().lines()[-1].endswith("value: " + shown)


def test_keras_3_progbar_shows_the_final_values_as_given(make_setup):
    setup = make_setup("log")
    bar = Progbar(2)
    bar.update(1, [("loss", 1.0)])
    bar.update(2, [("loss", 0.25)], finalize=True)
    assert setup.screen().lines()[-1].endswith("loss: 0.2500")


def test_progbar_keeps_the_stock_constructor_and_attributes(make_setup):
    make_setup("log")
    bar = Progbar(10, 30, 2, 0.5, ["acc"], None, "sample")
    stock = (bar.target, bar.width, bar.verbose, bar.interval, bar.stateful_metrics)
    assert stock == (10, 30, 2, 0.5, {"acc"})
    assert bar._interval == 0.5 and Progbar(10)._interval is None
    with pytest.raises(TypeError):
        Progbar()  # as Keras: target is required


def test_a_progbar_used_again_for_another_pass_draws_it(make_setup):
    """A custom training loop that makes one Progbar and counts from 1 again every epoch:
    stock Keras draws every pass."""
    setup = make_setup("log")
    bar = Progbar(3, interval=0.0)
    for epoch in range(3):
        for step in (1, 2, 3):
            bar.update(step, [("loss", float(epoch))])
    counts = [line.split()[0] for line in setup.screen().lines()]
    assert counts == ["1/3", "2/3", "3/3"] * 3, setup.screen().lines()
    assert setup.screen().lines()[-1].endswith("loss: 2.0000")


# -- intervals: refused where given, never a lost line ------------------------------------------

INTERVALS = [0, 0.5, 10, 2 ** 40, -1, -0.0001, float("nan"), float("inf"), float("-inf"), "x", "5",
             None, True, [1], complex(1, 1)]


@pytest.mark.parametrize("interval", INTERVALS, ids=repr)
def test_no_interval_loses_an_epochs_final_line(interval):
    """A value Console refuses is refused at once, naming it; any value it takes keeps every
    epoch's final loss line (a bad one used to be taken, and lost them all in fit())."""
    writes = []
    try:
        console = Console(Recorder("stdout", writes), console="pycharm", mode="lines", interval=interval)
    except ValueError as error:
        assert "interval" in str(error) and repr(interval) in str(error), error
        return
    fit([Logger(console)], {"verbose": 1, "epochs": 2, "steps": 4})
    lines = LogReader().feed_all([text for _, text in writes]).lines()
    finals = [line.split(" 4/4 ")[0] for line in lines if "val_loss" in line]
    assert finals == ["Epoch 1/2", "Epoch 2/2"], lines


@pytest.mark.parametrize("interval", [-1, float("nan"), float("inf"), "x", True], ids=repr)
def test_a_bad_interval_is_refused_by_name_where_it_is_given(interval):
    message = r"interval must be a number of seconds.*not " + re.escape(repr(interval))
    with pytest.raises(ValueError, match=message):
        Console(io.StringIO(), interval=interval)
    with pytest.raises(ValueError, match=message):
        Progress(3, console=Console(io.StringIO(), console="log"), interval=interval)


@pytest.mark.parametrize("name", ["vt80", "log"])
def test_interval_0_draws_every_update_as_keras_progbar_does(make_setup, name):
    """Keras's Progbar(interval=0) draws every update: a redraw each, in a log a line each."""
    setup = make_setup(name)
    console = Console(setup.stdout, console="vt" if name == "vt80" else "log", interval=0,
                      env={"COLUMNS": "80"}, stderr=setup.stderr)
    bar = Progress(4, console=console)
    for step in (1, 2, 3):
        bar.update(step, {"loss": 1.0})
    bar.done({"loss": 1.0})
    if name == "log":
        assert [line.split()[0] for line in setup.screen().lines()] == ["1/4", "2/4", "3/4", "4/4"]
    else:
        drawn = re.findall(r"(\d)/4", "".join(text for _, text in setup.writes))
        assert drawn == ["1", "2", "3", "4"], setup.writes  # what the terminal showed, in turn


@pytest.mark.parametrize("interval", [-1, float("nan"), float("inf"), "x"], ids=repr)
def test_a_progbar_draws_its_final_line_whatever_interval_keras_was_given(make_setup, interval):
    """Keras's own Progbar stores any interval; ideconsole's never loses a line over one."""
    setup = make_setup("log")
    bar = Progbar(3, interval=interval)
    for step in (1, 2, 3):
        bar.update(step, [("loss", 0.25)])
    final = setup.screen().lines()[-1]
    assert final.startswith("3/3") and final.endswith("loss: 0.2500"), setup.screen().lines()
