"""Real model.fit() on TensorFlow CPU, its output captured on each console and replayed
through the console models: what a person sees in a terminal (a real pseudo terminal),
PyCharm's run window, Windows 7 cmd and a log file.

Runs for the Keras flavours importable here, or the one named by IDECONSOLE_TEST_KERAS
(keras3, tf_keras or keras2): the tox envs keras3, tfkeras and legacy set it.
"""
import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
import types

import pytest
from conftest import flavour_params
from consoles import VT, LegacyConhost, LogReader, PyCharm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCRIPT = os.path.join(HERE, "fit_script.py")
EPOCHS, STEPS = 3, 12
FOREIGN = ("checkpoint: half an epoch", "slow batch {}".format(STEPS // 2))
CONSOLE_VARIABLES = ("PYCHARM_HOSTED", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE",
                     "TTY_COMPATIBLE", "TTY_INTERACTIVE", "INSIDE_EMACS", "TERMINAL_EMULATOR",
                     "CI", "GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "JENKINS_URL", "BUILDKITE",
                     "CIRCLECI", "TRAVIS", "TEAMCITY_VERSION", "BITBUCKET_BUILD_NUMBER", "WT_SESSION")


@pytest.fixture(params=flavour_params())
def flavour(request):
    return request.param


def environment(**extra):
    env = {key: value for key, value in os.environ.items()
           if key not in CONSOLE_VARIABLES + ("PYTHONUNBUFFERED",) and not key.startswith("IDECONSOLE_")}
    env.update(PYTHONPATH=os.pathsep.join([ROOT, HERE, env.get("PYTHONPATH", "")]),
               TF_CPP_MIN_LOG_LEVEL="3", PYTHONIOENCODING="utf-8", TERM="xterm-256color")
    env.update(extra)
    return env


def command(flavour, *args, install=False):
    script = ["-m", "ideconsole", "run", SCRIPT] if install else [SCRIPT]
    return [sys.executable] + script + [flavour, "--epochs", str(EPOCHS), "--steps", str(STEPS)] + list(args)


def run_in_pty(argv, columns, env):
    """Run in a real pseudo terminal `columns` wide; everything it showed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert process.wait(timeout=300) == 0, b"".join(chunks).decode("utf-8", "replace")[-3000:]
    return b"".join(chunks).decode("utf-8", "replace")


def run_piped(argv, env, merge=True):
    """stdout (and stderr, merged in write order, as PyCharm's one document gets them)."""
    result = subprocess.run(argv, stdout=subprocess.PIPE, env=env, timeout=300,
                            stderr=subprocess.STDOUT if merge else subprocess.PIPE)
    output = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, output[-3000:] + (result.stderr or b"").decode("utf-8", "replace")[-3000:]
    return output


def epoch_blocks(lines):
    """Rows under each `Epoch i/N` header, foreign lines taken out."""
    headers = ["Epoch {}/{}".format(epoch, EPOCHS) for epoch in range(1, EPOCHS + 1)]
    for header in headers:
        assert sum(line.strip() == header for line in lines) == 1, "\n".join(lines)
    blocks = []
    for line in lines:
        if line.strip() in headers:
            blocks.append([])
        elif blocks:
            blocks[-1].append(line)
    return blocks


def assert_one_final_line_per_epoch(lines, chatter=True, verbose=1, log=False, count=True):
    """Under each header: the foreign lines intact, then exactly the final line (wrapped
    rows of a long one joined), nothing else. In a log (`log`) it names its epoch. Without
    `count`, the line shows no step count (Keras 2.2's verbose=2 layout)."""
    for epoch, rows in enumerate(epoch_blocks(lines), 1):
        rows = [row for row in rows if row.strip()]
        if chatter:
            for text in FOREIGN:
                assert any(text in row for row in rows), rows
            rows = [row for row in rows if not any(text in row for text in FOREIGN)]
        final = "".join(rows)
        steps = "{0}/{0} ".format(STEPS) if count else r"- \d+s - "
        pattern = r"^\s*(Epoch \d/\d )?{}.*loss: ?\d\.\d{{4}}.*val_loss: ?\d\.\d{{4}}".format(steps)
        assert re.search(pattern, final), "not one final line: {!r}".format(rows)
        assert len(re.findall(steps, final)) == 1, rows
        if verbose == 2:
            title = "Epoch {}/{} ".format(epoch, EPOCHS) if log else " " * (not count)
            assert final.startswith(title + ("{0}/{0} - ".format(STEPS) if count else "- ")), final


@pytest.mark.parametrize("columns", [80, 40])
def test_terminal_shows_each_epoch_once(flavour, columns):
    output = run_in_pty(command(flavour, "--chatter"), columns, environment())
    screen = VT(columns=columns)
    screen.feed(output)
    assert_one_final_line_per_epoch(screen.lines())


def test_pycharm_run_window_shows_each_epoch_once(flavour):
    output = run_piped(command(flavour, "--chatter"), environment(PYCHARM_HOSTED="1", PYTHONUNBUFFERED="1"))
    window = PyCharm()
    window.feed(output)
    assert_one_final_line_per_epoch(window.lines())
    assert "\x1b" not in "\n".join(window.lines())
    assert "\r" not in output.rstrip("\n").split("\n")[-1] or not output.endswith("\r")


@pytest.mark.parametrize("where", ["terminal", "pycharm"])
@pytest.mark.parametrize("flavour", flavour_params(("keras3", "keras2")))
def test_lines_of_forked_data_workers_land_above_the_bar(flavour, where):
    # Keras 3's PyDataset pool and Keras 2.2's enqueuer (forked before the first epoch's bar)
    # write straight to the inherited descriptors.
    argv = command(flavour, "--workers", "2")
    if where == "terminal":
        lines = VT(columns=100).feed_all([run_in_pty(argv, 100, environment())]).lines()
    else:
        env = environment(PYCHARM_HOSTED="1", PYTHONUNBUFFERED="1")
        lines = PyCharm().feed_all([run_piped(argv, env)]).lines()
    worker = [line for line in lines if "data worker line" in line]
    assert worker and all(line == "data worker line" for line in worker), lines
    assert_one_final_line_per_epoch([line for line in lines if line not in worker], chatter=False)


def test_windows7_console_shows_no_garbage(flavour):
    env = environment(IDECONSOLE_CONSOLE="conhost-legacy", COLUMNS="80")
    output = run_piped(command(flavour, "--chatter"), env)
    console = LegacyConhost(columns=80, codepage=437)
    console.feed(output)
    blocks = epoch_blocks(console.lines())
    assert_one_final_line_per_epoch(console.lines())
    assert not any("\u2190" in row or "?" in row for rows in blocks for row in rows), blocks


def test_log_file_is_readable_and_greppable(flavour):
    output = run_piped(command(flavour, "--chatter"), environment())  # train.py > log 2>&1
    log = LogReader()
    log.feed(output)
    assert log.complete() and not log.has_control(), log.control_chars()
    assert len([line for line in log.lines() if "val_loss" in line]) == EPOCHS
    assert_one_final_line_per_epoch(log.lines())


def test_a_log_holds_the_lines_other_bars_and_c_code_finally_make(flavour):
    """`python train.py > train.log 2>&1` with a plain tqdm loop in a callback (no install()):
    its frames become the line it finally made, and a line C code left unfinished ends before
    ideconsole's, as `python -m ideconsole clean` would have it."""
    output = run_piped(command(flavour, "--others"), environment())
    log = LogReader()
    log.feed(output)
    assert log.complete() and not log.has_control(), log.control_chars()
    lines = log.lines()
    finished = [line for line in lines if line.startswith("evaluating: 100%")]
    assert len(finished) == EPOCHS and not [line for line in lines if line.startswith("evaluating:  ")], lines
    if sys.version_info >= (3, 9):
        assert lines.count("C code began a line") == EPOCHS, lines
    else:  # stderr into a pipe is block-buffered: tqdm's last "\n" waits there, as without ideconsole
        assert len([line for line in lines if line.endswith("C code began a line")]) == EPOCHS, lines
    assert len([line for line in lines if "val_loss" in line]) == EPOCHS, lines


@pytest.mark.parametrize("where", ["log", "terminal"])
def test_verbose_2_writes_one_line_per_epoch(flavour, where):
    argv = command(flavour, "--verbose", "2")
    if where == "log":
        lines = LogReader().feed_all([run_piped(argv, environment(), merge=False)]).lines()
    else:
        lines = VT(columns=100).feed_all([run_in_pty(argv, 100, environment())]).lines()
    # standalone Keras 2.2 writes ` - 0s - loss: ...`, without a step count
    assert_one_final_line_per_epoch(lines, chatter=False, verbose=2, log=where == "log",
                                    count=flavour != "keras2")


def test_evaluate_after_fit_gets_its_own_bar(flavour):
    # Keras 2.2's evaluate() takes no callbacks and shows no metrics: install() reaches its
    # Progbar.
    output = run_piped(command(flavour, "--evaluate", install=flavour == "keras2"), environment(),
                       merge=False)
    log = LogReader().feed_all([output])
    assert not log.has_control(), log.control_chars()
    shows = r"^\s*\d+/\d+ .*" + ("/step" if flavour == "keras2" else "loss")
    evaluation = [line for line in log.lines() if re.match(shows, line) and "val_loss" not in line]
    assert len(evaluation) == 1, log.lines()


def test_run_applies_install_to_an_unmodified_script(flavour):
    output = run_in_pty(command(flavour, "--chatter", "--logger", "none", install=True), 60, environment())
    screen = VT(columns=60)
    screen.feed(output)
    assert_one_final_line_per_epoch(screen.lines())


def test_install_makes_plain_fit_use_ideconsole_in_a_log(flavour):
    output = run_piped(command(flavour, "--logger", "none", install=True), environment(), merge=False)
    log = LogReader()
    log.feed(output)
    assert not log.has_control(), log.control_chars()
    assert_one_final_line_per_epoch(log.lines(), chatter=False)


# -- parity: the same logs give the same numbers as Keras's own Progbar ------------------------

LOGS = [{"loss": 0.69314718, "accuracy": 0.5, "mean_absolute_error": 0.000123456},
        {"loss": 0.5, "accuracy": 0.625, "mean_absolute_error": 12345.678}]
FINAL_LOGS = {"loss": 0.4321, "accuracy": 0.75, "mean_absolute_error": 1e-05,
              "val_loss": 0.55555, "val_accuracy": 0.7, "val_mean_absolute_error": -3.25}
NUMBER = re.compile(r"(\w+): (-?[0-9.]+(?:e[-+]\d+)?|nan|inf)")


def drive(logger):
    logger.set_params({"verbose": 1, "epochs": 1, "steps": len(LOGS), "samples": None,
                       "metrics": list(FINAL_LOGS)})
    logger.on_train_begin()
    logger.on_epoch_begin(0)
    for index, logs in enumerate(LOGS):
        logger.on_batch_begin(index, dict(logs, batch=index, size=16))
        (logger.on_train_batch_end if hasattr(logger, "on_train_batch_end") else logger.on_batch_end)(
            index, dict(logs, batch=index, size=16))
    logger.on_epoch_end(0, dict(FINAL_LOGS))


def test_final_line_has_the_same_numbers_as_keras(flavour, monkeypatch):
    if flavour == "tf_keras":
        import tf_keras as keras

        from ideconsole.tf_keras import ProgbarLogger
    else:
        import keras

        from ideconsole.keras import ProgbarLogger
    from ideconsole.console import Console

    stock_output = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stock_output)
    # In fit every metric is stateful (Keras 3 always; the others learn it from the model):
    # the line shows the latest values, not averages.
    stock = (keras.callbacks.ProgbarLogger() if flavour == "keras3"
             else keras.callbacks.ProgbarLogger("steps", stateful_metrics=list(FINAL_LOGS)))
    drive(stock)
    ours_output = io.StringIO()
    console = Console(ours_output, console="vt", env={"COLUMNS": "200"})
    drive(ProgbarLogger(console=console))
    monkeypatch.undo()

    stock_screen = VT(columns=300).feed_all([stock_output.getvalue()]).lines()
    ours_screen = VT(columns=200).feed_all([ours_output.getvalue()]).lines()
    stock_values = dict(NUMBER.findall([line for line in stock_screen if "val_loss" in line][-1]))
    ours_values = dict(NUMBER.findall([line for line in ours_screen if "val_loss" in line][-1]))
    assert set(FINAL_LOGS) <= set(ours_values)
    for name in FINAL_LOGS:
        assert float(ours_values[name]) == pytest.approx(float(stock_values[name]), rel=1e-3), name


# -- parity on a real run: the hooks of a seeded fit() replayed on one clock ----------------------

HOOKS = ("set_params", "on_train_begin", "on_epoch_begin", "on_batch_begin", "on_train_batch_begin",
         "on_batch_end", "on_train_batch_end", "on_epoch_end", "on_train_end")


def keras_of(flavour):
    if flavour == "tf_keras":
        import tf_keras

        return tf_keras
    import keras

    return keras


def recorded_fit(keras, flavour, verbose, epochs=2, steps=12):
    """A real, seeded fit(verbose=...) of a tiny model: the hooks it called on a logger, in
    order, with their arguments (metric values as floats) and the time of each; and the model."""
    import numpy as np

    events = []

    def recorder(name):
        def hook(self, *args, **logs):
            if name == "set_params":
                self.params = args[0]
                args = (dict(args[0]),)
            else:
                args = args + tuple(logs.values())
                args = tuple({key: float(value) for key, value in arg.items()} if isinstance(arg, dict)
                             else arg for arg in args)
            events.append((time.time(), name, args))
        return hook

    if flavour == "keras2":
        import tensorflow as tf

        tf.set_random_seed(0)
    else:
        keras.utils.set_random_seed(0)
    rng = np.random.RandomState(0)
    x = rng.rand(16 * steps, 8).astype("float32")
    y = (x.sum(axis=1) > 4).astype("float32")
    model = keras.models.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(8,)),
                                     keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    hooks = {name: recorder(name) for name in HOOKS
             if flavour != "keras2" or "_train_batch_" not in name}  # Keras 2.2 has on_batch_* only
    recording = type("Recording", (keras.callbacks.Callback,), hooks)()
    if flavour == "keras2":
        def batches():
            while True:
                for start in range(0, len(x), 16):
                    yield x[start:start + 16], y[start:start + 16]
        model.fit_generator(batches(), steps_per_epoch=steps, epochs=epochs, validation_data=(x[:64], y[:64]),
                            verbose=verbose, callbacks=[recording])
    else:
        model.fit(x, y, batch_size=16, epochs=epochs, validation_data=(x[:64], y[:64]), verbose=verbose,
                  callbacks=[recording])
    return events, model


def replayed(logger, events, model, clock_module, monkeypatch, output=None):
    """The screen `logger` leaves when `events` are replayed on it, each at its recorded time,
    which `clock_module` reads from its `time`; it writes to `output`, or to stdout."""
    now = [events[0][0]]
    clock = types.SimpleNamespace(time=lambda: now[0], monotonic=lambda: now[0])
    monkeypatch.setattr(clock_module, "time", clock)
    if output is None:
        output = io.StringIO()
        monkeypatch.setattr(sys, "stdout", output)
    logger.set_model(model)
    for when, name, args in events:
        method = getattr(logger, name, None)
        if method is not None:
            now[0] = when
            method(*args)
    monkeypatch.undo()
    return VT(columns=300).feed_all([output.getvalue()]).lines()


@pytest.mark.parametrize("verbose", [2, 1])
def test_the_final_lines_have_the_numbers_keras_prints_on_the_same_run(flavour, verbose, monkeypatch):
    """A real seeded fit(verbose=...) replayed on the stock logger and on ideconsole's, on the
    same clock: the same step counts, elapsed seconds, times per step and epoch, and metrics
    (verbose=2: the same lines; verbose=1: the numbers of each epoch's final line, in each
    flavour's look). Keras 3 divides an epoch's time by its steps at verbose=2, where at
    verbose=1 it leaves the first step out."""
    import importlib

    from ideconsole import progress
    from ideconsole.console import Console
    from ideconsole.detect import Facts, detect

    keras = keras_of(flavour)
    events, model = recorded_fit(keras, flavour, verbose)
    if flavour == "tf_keras":
        from ideconsole.tf_keras import ProgbarLogger

        stock = keras.callbacks.ProgbarLogger(count_mode="steps")
        progbar = keras.utils.Progbar
    else:
        from ideconsole.keras import ProgbarLogger

        stock = keras.callbacks.ProgbarLogger() if flavour == "keras3" else keras.callbacks.ProgbarLogger(
            count_mode="steps", stateful_metrics=model.stateful_metric_names)
        progbar = keras.utils.Progbar if flavour == "keras3" else keras.utils.generic_utils.Progbar
    stock_lines = replayed(stock, events, model, importlib.import_module(progbar.__module__), monkeypatch)
    # tf_keras and Keras 2.2 look their own on an ASCII terminal: `[=====]`
    profile = detect(Facts(isatty=True, encoding="utf-8" if flavour == "keras3" else "ascii"),
                     {"COLUMNS": "300"}, console="vt")
    written = io.StringIO()
    ours = ProgbarLogger(console=Console(written, profile=profile))
    ours_lines = replayed(ours, events, model, progress, monkeypatch, written)
    if verbose == 2:
        assert ours_lines == stock_lines
    else:
        finals = [[line for line in lines if "val_loss" in line] for lines in (stock_lines, ours_lines)]
        assert len(finals[0]) == len(finals[1]) == 2, (stock_lines, ours_lines)
        for stock_line, our_line in zip(*finals):
            assert numbers_of(our_line) == numbers_of(stock_line), (stock_line, our_line)


def numbers_of(line):
    """What a final line says in numbers: the step count, the times (elapsed, per step, per
    epoch) and the metrics."""
    return (re.findall(r"\d+/\d+", line), re.findall(r"(?<![\w.])\d+(?:s|ms|us)\b(?:/\w+)?", line),
            NUMBER.findall(line))


def test_main_job_trains_and_reports(flavour):
    keras = "3" if flavour == "keras3" else "2"
    argv = [sys.executable, os.path.join(ROOT, "scripts", "train.py"), "--epochs", "2", "--steps", "5",
            "--keras", keras]
    lines = LogReader().feed_all([run_piped(argv, environment(), merge=False)]).lines()
    assert [line for line in lines if line.startswith("Epoch ")][0] == "Epoch 1/2"
    assert len([line for line in lines if "val_loss" in line]) == 2
    assert lines[-1].startswith("Done in ")


DIRECT_PROGBAR = r"""
import ideconsole, sys
ideconsole.install()
flavour = sys.argv[1]
if flavour == "tf_keras":
    from tf_keras.utils import Progbar
elif flavour == "keras3":
    from keras.utils import Progbar
else:
    from keras.utils.generic_utils import Progbar
bar = Progbar(20)
for step in range(1, 21):
    bar.update(step, [("loss", 1.0 / step)])
ideconsole.uninstall()
print("uninstalled, update from", Progbar.update.__module__.split(".")[0])
"""


def test_install_reaches_direct_progbar_uses(flavour):
    output = run_piped([sys.executable, "-c", DIRECT_PROGBAR, flavour], environment(), merge=False)
    log = LogReader().feed_all([output])
    assert not log.has_control(), log.control_chars()
    bars = [line for line in log.lines() if line.startswith("20/20 ")]
    assert len(bars) == 1 and "loss: " in bars[0], log.lines()
    assert log.lines()[-1] == "uninstalled, update from " + ("tf_keras" if flavour == "tf_keras" else "keras")


# -- loggers next to each other, made before install(), Keras's own switches -------------------


def test_a_second_logger_writes_its_own_log(flavour, tmp_path):
    path = str(tmp_path / "train.log")
    output = run_piped(command(flavour, "--second-log", path), environment(), merge=False)
    with open(path) as written:
        for text in (output, written.read()):
            log = LogReader().feed_all([text])
            assert not log.has_control(), log.control_chars()
            assert_one_final_line_per_epoch(log.lines(), chatter=False)


def test_a_logger_and_a_progbar_made_before_install(flavour):
    output = run_piped(command(flavour, "--logger", "stock", "--install-late"), environment(), merge=False)
    log = LogReader().feed_all([output])
    assert not log.has_control(), log.control_chars()
    assert_one_final_line_per_epoch(log.lines()[:-1], chatter=False)
    assert log.lines()[-1].startswith("4/4 ") and log.lines()[-1].endswith("extra: 1.0000"), log.lines()


@pytest.mark.parametrize("flavour", flavour_params(("keras3", "tf_keras")))
def test_verbose_2_counts_the_steps_of_a_dataset_of_unknown_length(flavour):
    # Keras 2.2's fit_generator needs steps_per_epoch: it always knows the length.
    output = run_piped(command(flavour, "--verbose", "2", "--unknown-length", "--attributes"),
                       environment(), merge=False)
    lines = LogReader().feed_all([output]).lines()
    assert_one_final_line_per_epoch(lines[:-1], chatter=False, verbose=2, log=True)
    assert lines[-1] == "target {0} seen {0} epochs {1}".format(STEPS, EPOCHS)


@pytest.mark.parametrize("flavour", flavour_params(("keras3", "tf_keras")))
@pytest.mark.parametrize("install", [False, True])
def test_progress_goes_to_absl_logging_when_keras_interactive_logging_is_off(flavour, install):
    # Keras 2.2 has no such switch.
    logger = "none" if install else "ideconsole"
    argv = command(flavour, "--not-interactive", "--logger", logger, install=install)
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: UP022 (3.6)
                            env=environment(), timeout=300)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert "/{}".format(STEPS) not in result.stdout.decode()
    log = LogReader().feed_all([result.stderr.decode()])
    assert not log.has_control(), log.control_chars()
    finals = [line for line in log.lines() if "val_loss" in line]
    assert len(finals) == EPOCHS and all(re.search(r"Epoch \d/\d {0}/{0} ".format(STEPS), line)
                                         for line in finals), log.lines()


def test_the_stock_constructor_signatures_work(flavour):
    import io as io_module

    from ideconsole.console import Console

    if flavour == "tf_keras":
        from ideconsole.tf_keras import Progbar, ProgbarLogger
    else:
        from ideconsole.keras import Progbar, ProgbarLogger
    console = Console(io_module.StringIO(), console="log")
    if flavour == "keras3":
        with pytest.raises(TypeError):
            ProgbarLogger("steps")  # as Keras 3's own: no parameters
        assert ProgbarLogger(console=console, verbose=2)._console is console
    else:
        logger = ProgbarLogger("steps", ["acc"])
        assert logger.use_steps and logger.stateful_metrics == {"acc"} and logger._console is None
        assert not ProgbarLogger(count_mode="samples", console=console).use_steps
        with pytest.raises(ValueError):
            ProgbarLogger("epochs")  # as Keras 2's own
    bar = Progbar(10, 25, 2, 0.5, ["acc"])
    stock = (bar.target, bar.width, bar.verbose, bar.interval, bar.stateful_metrics)
    assert stock == (10, 25, 2, 0.5, {"acc"})
