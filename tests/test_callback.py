"""The Keras callback logic without Keras: hooks in the order Keras calls them, output
replayed through a console model."""
from ideconsole.callback import ProgressCallback


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
