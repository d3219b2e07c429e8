"""Faults never reach the training loop, and an interrupted run leaves a readable screen
or log: the last progress state kept, the traceback on clean lines."""
import io
import math
import os
import random
import subprocess
import sys
import threading

import pytest
from conftest import Recorder
from consoles import VT, LogReader
from test_pty import clean_environment, run_in_terminal

from ideconsole import _compat
from ideconsole.callback import ProgressCallback
from ideconsole.console import Console
from ideconsole.progress import Progress

INTERRUPTED = r"""
import sys, time
from ideconsole.progress import Progress
print("Epoch 1/1")
bar = Progress(30)
for step in range(1, 31):
    time.sleep(0.002)
    bar.update(step, {{"loss": 0.5}})
    if step == 15:
        {stop}
"""
STOPS = {
    "ctrl-c": ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    "error in the generator": ("raise ValueError('bad batch')", "ValueError: bad batch"),
    "sys.exit": ("sys.exit(3)", None),
}


def run(argv, columns=None, env=None):
    """(return code, output) in a terminal `columns` wide, or through a pipe to a log."""
    env = dict(clean_environment(), **(env or {}))
    if columns:
        return run_in_terminal(argv, columns, check=False, env=env)
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=60)
    return result.returncode, result.stdout.decode()


@pytest.mark.parametrize("stop", sorted(STOPS))
def test_interrupted_run_keeps_the_last_state_above_the_traceback(stop):
    code, output = run([sys.executable, "-c", INTERRUPTED.format(stop=STOPS[stop][0])], columns=60)
    lines = VT(columns=60).feed_all([output]).lines()
    assert lines[0] == "Epoch 1/1"
    assert lines[1].startswith("15/30 "), lines
    if STOPS[stop][1]:
        assert lines[2] == "Traceback (most recent call last):", lines
        assert lines[-1] == STOPS[stop][1]
    else:
        assert code == 3 and len(lines) == 2


@pytest.mark.parametrize("stop", sorted(STOPS))
def test_interrupted_run_writes_its_last_state_to_the_log(stop):
    code, output = run([sys.executable, "-c", INTERRUPTED.format(stop=STOPS[stop][0])])
    log = LogReader().feed_all([output])
    assert not log.has_control()
    assert log.lines()[1].startswith("15/30 50% ETA"), log.lines()
    if STOPS[stop][1]:
        assert log.lines()[-1] == STOPS[stop][1]


BROKEN_PIPE = r"""
import sys, time
from ideconsole.console import Console
from ideconsole.progress import Progress
print("Epoch 1/1", flush=True)
bar = Progress(300, console=Console(interval=0.001))
for step in range(1, 301):
    time.sleep(0.001)
    bar.update(step, {"loss": 0.5})
bar.done({"loss": 0.5})
sys.stderr.write("training finished\n")
"""


def test_ideconsoles_own_drawing_into_a_closed_pipe_never_stops_training():
    process = subprocess.Popen([sys.executable, "-c", BROKEN_PIPE], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=clean_environment())
    assert process.stdout.readline() == b"Epoch 1/1\n"
    process.stdout.close()  # `| head -1`
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, errors
    assert errors == "training finished\n"


def test_a_closed_stdout_pipe_keeps_stderr_where_pipes_have_no_inode(monkeypatch):
    """Windows gives every pipe the same identity (no inode): the reader of stdout going
    away (`train.py | head`) must not send stderr, another pipe, to the null device."""
    real_fstat = os.fstat

    def windows_fstat(number):
        facts = real_fstat(number)
        return os.stat_result((facts.st_mode, 0, 0) + tuple(facts)[3:])

    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    stdout = io.TextIOWrapper(io.FileIO(out_write, "w"), encoding="utf-8")
    stderr = io.TextIOWrapper(io.FileIO(err_write, "w"), encoding="utf-8")
    monkeypatch.setattr(_compat.os, "fstat", windows_fstat)
    console = Console(stdout, stderr=stderr, console="log", capture=False)
    os.close(out_read)  # `| head`
    console.finish("1/1 - loss: 0.5")
    console.foreign("stderr", "a warning\n")
    monkeypatch.undo()
    stderr.close()
    stdout.close()  # the null device now
    with io.FileIO(err_read, "r") as reader:
        assert reader.read() == b"a warning\n"


@pytest.mark.parametrize("value,shown", [
    (float("nan"), "nan"), (float("inf"), "inf"), (-float("inf"), "-inf"), (1e300, "1.0000e+300"),
    (-2.5, "-2.5000"), ("n/a", "n/a"), (None, "None"), ([1, 2, 3], "[1, 2, 3]"), (object(), "object"),
])
def test_odd_metric_values_are_shown_not_fatal(make_setup, value, shown):
    setup = make_setup("vt80")
    bar = Progress(3, console=setup.console)
    for step in (1, 2, 3):
        bar.update(step, {"loss": value})
    bar.done({"loss": value, "val_loss": 0.5})
    lines = setup.screen().lines()
    assert len(lines) in (1, 2) and shown in "".join(lines), lines  # a long line wraps


def test_odd_metric_names_stay_on_one_line(make_setup):
    setup = make_setup("log")
    names = {"loss": 0.1, "line\nbreak": 0.2, "carriage\rreturn": 0.3, "\u635f\u5931": 0.4, "x" * 200: 0.5}
    Progress(2, console=setup.console).done(names)
    lines = setup.screen().lines()
    assert len(lines) == 1 and "\u635f\u5931: 0.4000" in lines[0]


def test_zero_and_unknown_steps(make_setup):
    setup = make_setup("vt80")
    bar = Progress(0, console=setup.console)
    for step in range(1, 8):
        bar.update(step, {"loss": 0.5})
    bar.done({"loss": 0.5})
    assert setup.screen().lines()[0].startswith("7/7 ")
    Progress(None, console=setup.console).done({})


def test_updates_from_many_threads_never_draw_an_older_step(make_setup):
    setup = make_setup("vt80")
    drawn = []
    status = setup.console.status
    setup.console.status = lambda text: (drawn.append(int(text.split("/")[0].split()[-1])), status(text))
    clock = iter(range(10 ** 6)).__next__
    bar = Progress(4000, console=setup.console, clock=lambda: clock() * 0.01)
    steps = list(range(1, 4001))
    chunks = [steps[index::8] for index in range(8)]  # arriving out of order across threads
    for chunk in chunks:
        random.Random(len(chunk)).shuffle(chunk[:4])
    threads = [threading.Thread(target=lambda part=part: [bar.update(step, {"loss": 0.1}) for step in part])
               for part in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert drawn == sorted(drawn) and len(drawn) > 10


def test_stdout_none_as_under_pythonw(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    console = Console()
    bar = Progress(3, console=console)
    bar.update(1, {"loss": 1.0})
    bar.done({"loss": 1.0})
    console.write("ignored\n")


class Callback:
    """Stands in for keras.callbacks.Callback: the hooks need nothing more from Keras."""

    def set_model(self, model):
        self.model = model


class Logger(ProgressCallback, Callback):
    def __init__(self, console):
        self._ideconsole_init(console)


class Exploding:
    """A console on which everything fails."""

    interval, redraws, profile = 0.0, True, Console(Recorder("stdout", []), console="vt").profile

    def __getattr__(self, name):
        raise RuntimeError("console exploded: " + name)

    def width(self):
        raise RuntimeError("no width")


def test_a_failing_console_never_raises_into_training(make_setup):
    """Every call of the console fails: the training runs to its end, and what the script
    prints itself, between epochs and after training, is all there."""
    setup = make_setup("vt80")
    logger = Logger(Exploding())
    logger.set_params({"verbose": 1, "epochs": 2, "steps": 5})
    logger.on_train_begin()
    for epoch in range(2):
        logger.on_epoch_begin(epoch)
        for batch in range(5):
            logger.on_train_batch_end(batch, {"loss": math.pi})
        logger.on_epoch_end(epoch, {"loss": 1.0, "val_loss": 2.0})
        print("checkpoint saved after epoch", epoch + 1)
    logger.on_train_end()
    print("training done")
    assert setup.screen().lines() == ["checkpoint saved after epoch 1", "checkpoint saved after epoch 2",
                                      "training done"]


def test_changing_width_to_zero_mid_run_falls_back(make_setup, monkeypatch):
    setup = make_setup("vt80")
    monkeypatch.setattr(type(setup.console), "width", lambda self: 0)
    bar = Progress(3, console=setup.console)
    bar.update(1, {"loss": 0.5})
    bar.done({"loss": 0.5})
    assert setup.screen().lines()[0].startswith("3/3")


WRITES_INTO_A_CLOSED_PIPE = r"""
import os, sys, time
if sys.argv[1] == "install":
    import ideconsole
    ideconsole.install()
print("Epoch 1/1", flush=True)
time.sleep(0.5)  # the reader has gone by now
for step in range(100):
    if sys.argv[2] == "os.write":
        os.write(1, b"a C-level line\n")
    else:
        print("a print", step, flush=True)
    time.sleep(0.002)
sys.stderr.write("training finished\n")
"""


@pytest.mark.parametrize("how", ["print", "os.write"])
@pytest.mark.parametrize("env", [{}, {"PYCHARM_HOSTED": "1"}, {"IDECONSOLE_CONSOLE": "vt"}],
                         ids=["log", "pycharm", "relay-drawing"])
def test_the_scripts_own_writes_into_a_closed_pipe_fail_as_without_ideconsole(env, how):
    """`python train.py | head -1`: the script's own print (or C code's write) meets the
    closed pipe as it would have without ideconsole: a BrokenPipeError, the same exit status."""
    seen = []
    for way in ("plain", "install"):
        process = subprocess.Popen([sys.executable, "-c", WRITES_INTO_A_CLOSED_PIPE, way, how],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=dict(clean_environment(), PYTHONUNBUFFERED="1", **env))
        assert process.stdout.readline() == b"Epoch 1/1\n"
        process.stdout.close()  # `| head -1`
        errors = process.stderr.read().decode()
        seen.append((process.wait(timeout=60), "BrokenPipeError" in errors, "training finished" in errors))
    assert seen[0] == seen[1] and seen[0][:2] == (1, True), seen


def test_a_bar_left_by_a_caught_interrupt_ends_when_the_next_fit_starts(make_setup):
    setup = make_setup("vt80")
    logger = Logger(setup.console)
    logger.set_params({"verbose": 1, "epochs": 2, "steps": 5})
    logger.on_train_begin()
    logger.on_epoch_begin(0)
    logger.on_train_batch_end(2, {"loss": 0.5})  # ... KeyboardInterrupt, caught by the user
    logger.set_params({"verbose": 1, "epochs": 1, "steps": 4})  # evaluate()
    logger.on_test_begin()
    logger.on_test_batch_end(3, {"loss": 0.25})
    logger.on_test_end({"loss": 0.25})
    lines = setup.screen().lines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("3/5 ")
    assert lines[2].startswith("4/4 ") and "loss: 0.2500" in lines[2] and "Epoch" not in lines[2]
    assert not isinstance(sys.stdout, type(None)) and sys.stdout is setup.stdout


def test_a_forked_worker_gets_its_own_streams_and_lock(make_setup):
    import os
    import select

    setup = make_setup("vt80")
    bar = Progress(10, console=setup.console)
    bar.update(1, {"loss": 0.5})  # a status line is up: the proxies are installed
    read_end, write_end = os.pipe()
    with __import__("ideconsole.session", fromlist=["LOCK"]).LOCK:  # held at fork time
        pid = os.fork()
    if pid == 0:  # the child: must not deadlock, and must not draw the parent's bar
        try:
            before = len(setup.writes)
            sys.stdout.write("x")  # straight to the stream: one write, nothing held back
            os.write(write_end, str(len(setup.writes) - before).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], 20)
    assert ready, "the forked child hung"
    assert os.read(read_end, 100) == b"1"
    os.waitpid(pid, 0)
    bar.done({"loss": 0.5})


UNENCODABLE_PRINTS = r"""
import sys
from ideconsole.progress import Progress
bar = Progress(3)
bar.update(1, {"loss": 0.5})
print("during the bar \u2705 caf\u00e9")
bar.done({"loss": 0.5})
if hasattr(sys.stdout, "reconfigure"):  # Python 3.7+: a stream's errors can be changed
    print("after the bar \u2705")
"""


@pytest.mark.parametrize("columns", [None, 60], ids=["log", "terminal"])
def test_a_print_the_console_cannot_encode_is_escaped_with_or_without_a_bar(columns):
    code, output = run([sys.executable, "-c", UNENCODABLE_PRINTS], columns=columns,
                       env={"PYTHONIOENCODING": "ascii"})
    lines = VT(columns=60).feed_all([output]).lines() if columns else LogReader().feed_all([output]).lines()
    assert code == 0, output
    assert "during the bar \\u2705 caf\\xe9" in lines
    if hasattr(io.TextIOWrapper, "reconfigure"):  # Python 3.7+: a stream's errors can be changed
        assert lines[-1] == "after the bar \\u2705", lines


STDERR_INTO_A_CLOSED_PIPE = r"""
import sys, time
if sys.argv[1] == "install":
    import ideconsole
    ideconsole.install()
print("Epoch 1/1", flush=True)
sys.stdin.readline()  # the reader has gone by now
for step in range(1, 201):
    if step % 50 == 0:
        print("a warning on stderr", step, file=sys.stderr, flush=True)
    time.sleep(0.005)  # a training step
open(sys.argv[2], "w").write("finished")
"""


@pytest.mark.parametrize("env", [{}, {"PYCHARM_HOSTED": "1"}], ids=["log", "pycharm"])
def test_stderr_into_the_same_closed_pipe_fails_as_without_ideconsole(env, tmp_path):
    """`python train.py 2>&1 | head -1`: stderr is the same closed pipe as stdout."""
    seen = []
    for way in ("plain", "install"):
        marker = tmp_path / way
        process = subprocess.Popen([sys.executable, "-c", STDERR_INTO_A_CLOSED_PIPE, way, str(marker)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=dict(clean_environment(), PYTHONUNBUFFERED="1", **env))
        assert process.stdout.readline() == b"Epoch 1/1\n"
        process.stdout.close()  # `| head -1`
        process.stdin.write(b"\n")
        process.stdin.close()
        seen.append((process.wait(timeout=60), marker.exists()))
    assert seen[0] == seen[1] and seen[0] == (1, False), seen


SWALLOWED = r"""
import io, sys
from ideconsole import Console
from ideconsole.progress import Progress
stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
bar = Progress(4, console=Console(stream, console="vt", capture=False))
bar.update(1, {"loss": 0.5})
stream.close()  # the stream ideconsole draws on goes away mid-run
for step in range(2, 5):
    bar.update(step, {"loss": 0.5})
bar.done({"loss": 0.5})
print("training finished")
"""


@pytest.mark.parametrize("debug", ["1", ""])
def test_a_fault_kept_from_training_is_shown_when_asked(debug):
    result = subprocess.run([sys.executable, "-c", SWALLOWED], stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: UP022 (3.6)
                            env=dict(clean_environment(), IDECONSOLE_DEBUG=debug), timeout=60)
    assert result.returncode == 0 and result.stdout.decode() == "training finished\n"
    errors = result.stderr.decode()
    if debug:
        assert "ideconsole: writing to the console failed; training goes on" in errors, errors
        assert "Traceback" in errors and "ValueError: I/O operation on closed file" in errors, errors
    else:
        assert errors == "", errors
