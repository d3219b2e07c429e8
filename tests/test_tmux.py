"""Trainings in a real terminal emulator that reflows: a tmux pane of a given size, resized
while an epoch runs, and tmux's own capture of the whole scrollback. Where these and the
pyte model disagree, tmux is right (see consoles.py)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
from conftest import flavour_params
from test_pty import clean_environment

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None,
                                reason="tmux is not installed (Debian: apt-get install tmux)")

TIMEOUT = 120  # seconds for anything to show up: generous for a loaded 2-core machine
FINAL = re.compile(r"^(\d+)/\1 ")  # a final line: "30/30 ━━━━ ..."
STEP = re.compile(r"(?:^|\s)(\d+)/(\d+) ")  # a step count anywhere in a row

# A training that stops at given steps until the test has done what it does there (resize
# the window) and lets it go on, so the resize lands mid-epoch whatever the machine's load.
PAUSE = r"""
import os, time
def pause(number):
    time.sleep(0.1)  # a redraw is due after a pause: the next update draws
    name = "pause-%d" % number
    open(name, "w").close()
    while not os.path.exists(name + ".done"):
        time.sleep(0.02)
    with open(name + ".done") as file:
        columns = int(file.read() or 0)
    while columns and os.get_terminal_size(1).columns != columns:
        time.sleep(0.02)  # as a terminal that resizes its screen and pty at once
"""
TRAINING = PAUSE + r"""
from ideconsole.progress import Progress
pauses = {pauses!r}   # (epoch, step) -> pause number
prints = {prints!r}   # (epoch, step) at which the training loop prints a line
for number in range({preamble}):
    print("what came before the training %d" % number)
for epoch in (1, 2):
    print("Epoch %d/2" % epoch)
    bar = Progress(30)
    for step in range(1, 31):
        time.sleep(0.01)
        bar.update(step, {{"accuracy": 0.5, "loss": 0.25, "mean_absolute_error": 0.125}})
        if (epoch, step) in prints:
            print("a line from the training loop")
        if (epoch, step) in pauses:
            pause(pauses[epoch, step])
    bar.done({{"accuracy": 0.5, "loss": 0.25, "val_loss": 0.3}})
print("training done")
"""
KERAS_TRAINING = PAUSE + r"""
import sys
flavour = sys.argv[1]
if flavour == "tf_keras":
    import tf_keras as keras
    from ideconsole.tf_keras import ProgbarLogger
else:
    import keras
    from ideconsole.keras import ProgbarLogger
import numpy as np
pauses = {pauses!r}
x = np.random.RandomState(0).rand(30 * 8, 8).astype("float32")
y = (x.sum(axis=1) > 4).astype("float32")
model = keras.models.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(8,)),
                                 keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])

class Steps(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.01)
        if (self.epoch, batch + 1) in pauses:
            pause(pauses[self.epoch, batch + 1])

model.fit(x, y, batch_size=8, epochs=2, validation_data=(x[:32], y[:32]),
          callbacks=[Steps(), ProgbarLogger()])
print("training done")
"""


class Pane:
    """One pane of a private tmux server (its own socket, no user configuration)."""

    def __init__(self, directory, columns, rows=30, resize=None):
        self.directory = str(directory)
        self.resize_as = resize
        self.socket = os.path.join(self.directory, "tmux.socket")
        if len(self.socket) > 100:  # a socket's path must fit in 108 bytes
            self.socket = os.path.join(tempfile.mkdtemp(prefix="tmux-", dir="/tmp"), "socket")
        self.config = os.path.join(self.directory, "tmux.conf")
        with open(self.config, "w") as file:  # read when the server starts, before the pane
            file.write("set -g remain-on-exit on\nset -g history-limit 50000\nset -g status off\n")
        self.size = (columns, rows)

    def tmux(self, *args):
        result = subprocess.run(["tmux", "-u", "-S", self.socket, "-f", self.config] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env,
                                cwd=self.directory, timeout=TIMEOUT)
        assert result.returncode == 0, result.stdout.decode()
        return result.stdout.decode("utf-8")

    @property
    def env(self):
        env = clean_environment()
        for name in ("TMUX", "TMUX_PANE", "STY", "TERM_PROGRAM", "VTE_VERSION", "KITTY_WINDOW_ID",
                     "WT_SESSION", "XTERM_VERSION", "LC_ALL", "LC_CTYPE"):
            env.pop(name, None)
        env.update(LANG="C.UTF-8")
        if self.resize_as:
            env.update(IDECONSOLE_RESIZE=self.resize_as)
        return env

    def run(self, argv):
        command = " ".join("'{}'".format(arg.replace("'", "'\\''")) for arg in argv)
        self.tmux("new-session", "-d", "-x", str(self.size[0]), "-y", str(self.size[1]), command)

    def resize(self, columns):
        self.tmux("resize-window", "-x", str(columns))
        self.wait(lambda: self.tmux("display-message", "-p", "#{pane_width}").strip() == str(columns),
                  "the pane to be {} columns wide".format(columns))

    def capture(self, joined=False):
        """Every row of the scrollback and the screen; joined: lines that wrapped as one."""
        rows = self.tmux("capture-pane", "-p", "-S", "-", "-E", "-", *(["-J"] if joined else []))
        rows = [row.rstrip() for row in rows.split("\n") if not row.startswith("Pane is dead")]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def exited(self):
        return self.tmux("display-message", "-p", "#{pane_dead}").strip() == "1"

    def wait(self, ready, what):
        deadline = time.monotonic() + TIMEOUT
        while not ready():
            if time.monotonic() > deadline:
                pytest.fail("waited {}s for {}; the pane shows:\n{}".format(
                    TIMEOUT, what, "\n".join(self.capture())))
            time.sleep(0.05)

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=TIMEOUT)
        if not self.socket.startswith(self.directory):
            shutil.rmtree(os.path.dirname(self.socket), ignore_errors=True)


@pytest.fixture
def pane(tmp_path):
    panes = []

    def make(columns, rows=30, resize=None):
        panes.append(Pane(tmp_path, columns, rows, resize))
        return panes[-1]

    yield make
    for made in panes:
        made.close()


def train(pane, steps_actions, prints=(), preamble=0, in_step=False, keras=None):
    """Run TRAINING (or KERAS_TRAINING with that flavour) in the pane; at each (epoch, step)
    of steps_actions, do its actions: a width to resize to, or several in a row (no redraw
    between them). tmux tells the program about a resize up to 250 ms after it rewrapped;
    in_step: wait until it has."""
    pauses = {where: number for number, where in enumerate(sorted(steps_actions))}
    if keras:
        pane.run([sys.executable, "-c", KERAS_TRAINING.format(pauses=pauses), keras])
    else:
        script = TRAINING.format(pauses=pauses, prints=set(prints), preamble=preamble)
        pane.run([sys.executable, "-c", script])
    for where, number in sorted(pauses.items(), key=lambda item: item[1]):
        marker = os.path.join(pane.directory, "pause-%d" % number)
        pane.wait(lambda marker=marker: os.path.exists(marker),
                  "the training to reach epoch {} step {}".format(*where))
        for columns in steps_actions[where]:
            pane.resize(columns)
        with open(marker + ".done", "w") as file:
            file.write(str(columns) if in_step else "")
    pane.wait(pane.exited, "the training to end")


def assert_one_clean_line_per_epoch(pane, epochs=2, printed=0, last="training done", preamble=0):
    """What a person scrolling back sees: the headers, what the loop printed and one final
    line per epoch, nothing left of a bar, with and without joining wrapped rows."""
    joined = pane.capture(joined=True)
    if preamble is None:  # whatever came before the first header (TensorFlow's start-up)
        first = "Epoch 1/{}".format(epochs)
        joined = joined[joined.index(first):] if first in joined else joined
    else:
        before = ["what came before the training %d" % number for number in range(preamble)]
        assert joined[:preamble] == before, joined
        joined = joined[preamble:]
    expected_headers = ["Epoch {}/{}".format(epoch, epochs) for epoch in range(1, epochs + 1)]
    assert [line for line in joined if line.startswith("Epoch ")] == expected_headers, joined
    finals = [line for line in joined if FINAL.match(line)]
    assert len(finals) == epochs and all("val_loss" in line for line in finals), joined
    assert joined.count("a line from the training loop") == printed, joined
    others = [line for line in joined if line not in expected_headers + finals
              and line not in ("a line from the training loop", last)
              and not line.startswith("WARNING:tensorflow:")]  # tf_keras: "callback is slow"
    assert others == [], joined
    assert joined[-1] == last if last else FINAL.match(joined[-1]), joined
    # Unjoined, a final line wider than the pane takes several rows; any other row with a
    # step count is what is left of a bar.
    for row in pane.capture():
        for step, total in STEP.findall(row):
            assert step == total, pane.capture()


# name -> (columns at the start, {(epoch, step): widths to resize to}, prints at (epoch, step),
# lines above the first header)
SCENARIOS = {
    "shrink": (80, {(1, 10): [50]}, (), 0),
    "grow": (50, {(1, 10): [80]}, (), 0),
    "shrink then grow, a print between": (80, {(1, 10): [45], (1, 20): [80], (2, 5): [30]}, [(1, 15)], 0),
    "shrink and grow back between two redraws": (80, {(1, 10): [40, 80]}, (), 0),
    "shrink right after a print": (80, {(1, 12): [45]}, [(1, 12)], 0),
    # A line rewrapped onto more rows than there are above the bar pushes its first rows into
    # the scrollback, out of any program's reach: a few lines above, as in a used terminal.
    "a third of the width": (80, {(1, 10): [25], (2, 3): [60]}, [(1, 12), (2, 20)], 4),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_resizing_mid_epoch_leaves_no_stale_rows(pane, name):
    columns, actions, prints, preamble = SCENARIOS[name]
    terminal = pane(columns)
    train(terminal, actions, prints, preamble)
    assert_one_clean_line_per_epoch(terminal, printed=len(prints), preamble=preamble)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_cursor_up_redraws_on_a_terminal_that_reflows(pane, name):
    """What VTE, kitty, iTerm2 and Windows Terminal get (IDECONSOLE_RESIZE=reflow): rows
    erased from the width, tmux standing in for them, the new width known in step."""
    columns, actions, prints, preamble = SCENARIOS[name]
    terminal = pane(columns, resize="reflow")
    train(terminal, actions, prints, preamble, in_step=True)
    assert_one_clean_line_per_epoch(terminal, printed=len(prints), preamble=preamble)


@pytest.mark.parametrize("flavour", flavour_params(("keras3", "tf_keras")))
def test_a_keras_fit_narrowed_and_widened_mid_epoch(pane, flavour):
    terminal = pane(80)
    train(terminal, {(1, 10): [45], (1, 20): [80], (2, 15): [50]}, keras=flavour)
    assert_one_clean_line_per_epoch(terminal, preamble=None)


def test_demo_resized_while_it_draws(pane):
    """`python -m ideconsole demo` as a person runs it, narrowed while a bar is up."""
    terminal = pane(80)
    terminal.run([sys.executable, "-m", "ideconsole", "demo", "--epochs", "2", "--steps", "400",
                  "--delay", "0.01"])
    terminal.wait(lambda: any(STEP.search(row) and "400/400" not in row for row in terminal.capture()),
                  "a bar")
    terminal.resize(50)
    terminal.wait(terminal.exited, "the demo to end")
    assert_one_clean_line_per_epoch(terminal, last=None)


def test_report_says_tmux_reflows(pane):
    terminal = pane(80)
    terminal.run([sys.executable, "-m", "ideconsole"])
    terminal.wait(terminal.exited, "the report")
    report = "\n".join(terminal.capture(joined=True))
    assert re.search(r"^resize +reflow-backspace +tmux rewraps", report, re.M), report
    assert re.search(r"^width +79 ", report, re.M), report
