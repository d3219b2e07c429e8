"""Real trainings launched as each IDE launches them, with the environment, streams and
process tree it gives them, replayed through that IDE's console model (tests/consoles.py):
what a person sees in IDLE, Thonny, a notebook cell's `!python`, PyCharm's run window with a
Conda interpreter or in pty mode, Spyder and VS Code's Debug Console.

Runs for the Keras flavours importable here, or the one named by IDECONSOLE_TEST_KERAS.
"""
import json
import os
import pty
import re
import subprocess
import sys

import pytest
from conftest import flavour_params
from consoles import IDLE, DebugConsole, JupyterOutput, PyCharm, QtConsole, Thonny
from test_fit import (
    EPOCHS,
    FOREIGN,
    SCRIPT,
    STEPS,
    assert_one_final_line_per_epoch,
    command,
    environment,
    run_piped,
)

HERE = os.path.dirname(os.path.abspath(__file__))
SHELL = os.path.join(HERE, "shell_script.py")
TQDM = os.path.join(HERE, "tqdm_script.py")
NOTEBOOK = dict(TERM="xterm-color", CLICOLOR="1", FORCE_COLOR="1", CLICOLOR_FORCE="1", PAGER="cat",
                GIT_PAGER="cat", JPY_PARENT_PID="4242", PYTHONUNBUFFERED="1")
PYCHARM_CONDA = dict(PYTHONUNBUFFERED="1", PYCHARM_MATPLOTLIB_INTERACTIVE="true",
                     PYCHARM_MATPLOTLIB_INDEX="0", PYCHARM_DISPLAY_PORT="63342")


@pytest.fixture(params=flavour_params())
def flavour(request):
    return request.param


def in_shell(shell, tmp_path, script, *args, **env):
    """Run `script` in IDLE's or Thonny's shell streams; the shell's (stream, text) writes."""
    frames = str(tmp_path / "frames")
    result = subprocess.run([sys.executable, SHELL, shell, frames, script] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment(**env),
                            timeout=300)
    assert result.returncode == 0, result.stdout.decode("utf-8", "replace")[-3000:]
    with open(frames, encoding="utf-8") as written:
        return [tuple(json.loads(line)) for line in written]


def fit_args(flavour):
    return [flavour, "--epochs", str(EPOCHS), "--steps", str(STEPS), "--chatter"]


def run_in_pty(argv, env, columns=None):
    """Everything a pseudo terminal showed; `columns` None leaves its size unset (0 x 0), as
    PyCharm leaves the one it runs a script in with run.processes.with.pty."""
    master, slave = pty.openpty()
    if columns:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
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


def named(tmp_path, name):
    """A Python interpreter started under `name` (a link to it), as an IDE or a launcher
    shows in a process listing; it runs its arguments as a child, output passed through."""
    link = tmp_path / name
    if not link.exists():
        os.symlink(os.path.realpath(sys.executable), str(link))
    return [str(link), "-c", "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"]


# -- IDLE --------------------------------------------------------------------------------


def test_idle_shows_complete_lines_without_a_control_character(flavour, tmp_path):
    shell = IDLE().feed_all(in_shell("idle", tmp_path, SCRIPT, *fit_args(flavour)))
    assert not shell.control_chars(), shell.control_chars()
    assert_one_final_line_per_epoch(shell.lines(), log=True)
    assert len([line for line in shell.lines() if "val_loss" in line]) == EPOCHS


def test_idle_shows_nested_tqdm_bars_as_their_final_lines(tmp_path):
    shell = IDLE().feed_all(in_shell("idle", tmp_path, TQDM))
    assert not shell.control_chars()
    assert "a line written mid-bar" in shell.lines() and shell.lines()[-1] == "done"
    assert len([line for line in shell.lines() if line.startswith("outer: 100%")]) == 1, shell.lines()


# -- Thonny -------------------------------------------------------------------------------


def test_thonny_overwrites_each_frame_whole_and_keeps_prints_intact(flavour, tmp_path):
    writes = in_shell("thonny", tmp_path, SCRIPT, *fit_args(flavour), THONNY_USER_DIR=str(tmp_path),
                      THONNY_VERSION="4.1.7")
    shell = Thonny().feed_all(writes)
    assert_one_final_line_per_epoch(shell.lines())
    for text in FOREIGN:  # a print over the bar keeps nothing of the bar's tail
        assert all(line.strip() == text or text not in line for line in shell.lines()), shell.lines()
    assert not any("\x1b[K" in text or "\x1b[A" in text for _, text in writes)


def test_thonny_gets_nested_tqdm_bars_as_one_line(tmp_path):
    writes = in_shell("thonny", tmp_path, TQDM, THONNY_VERSION="4.1.7")
    lines = Thonny().feed_all(writes).lines()
    assert lines[-1] == "done" and "a print mid-bar" in lines
    assert [line for line in lines if line.startswith("outer")] == [
        line for line in lines if line.startswith("outer: 100%")], lines


# -- a command run from a notebook cell ------------------------------------------------------


def test_a_notebook_cells_command_shows_one_final_line_per_epoch(flavour):
    output = run_in_pty(command(flavour, "--chatter"), environment(**NOTEBOOK), columns=80)
    area = JupyterOutput().feed_all([output])
    assert_one_final_line_per_epoch(area.lines())
    assert not any(re.search(r"\[[0-9;]*[A-Za-z]", line) for line in area.lines()), area.lines()
    assert "\x1b[K" not in output and "\x1b[A" not in output and area.saw_color


C_LEVEL_IN_A_CELL = r"""
import os, time
from ideconsole.progress import Progress
bar = Progress(6, interval=0)
for step in range(1, 7):
    bar.update(step, {"loss": 0.5})
    time.sleep(0.02)
    if step == 3:
        os.write(1, b"a C-level line\n")  # TensorFlow's own logging, a child's output
        os.write(2, b"a C-level warning\n")
bar.done({"loss": 0.5})
"""


def test_a_notebook_cells_command_keeps_c_level_lines_off_the_bar():
    output = run_in_pty([sys.executable, "-c", C_LEVEL_IN_A_CELL], environment(**NOTEBOOK), columns=80)
    lines = JupyterOutput().feed_all([output]).lines()
    assert lines[:2] == ["a C-level line", "a C-level warning"] and lines[2].startswith("6/6 "), lines
    assert len(lines) == 3, lines


# -- PyCharm's run window -----------------------------------------------------------------


@pytest.mark.parametrize("tree", [("pycharm64",), ("pycharm64", "conda")], ids=["direct", "conda-run"])
def test_pycharm_with_a_conda_interpreter_shows_its_live_bar(flavour, tmp_path, tree):
    # PyCharm sets no PYCHARM_HOSTED for Conda interpreters: the process tree tells.
    argv = [part for name in tree for part in named(tmp_path, name)] + command(flavour, "--chatter")
    output = run_piped(argv, environment(**PYCHARM_CONDA))
    window = PyCharm().feed_all([output])
    assert_one_final_line_per_epoch(window.lines())
    assert window.saw_color and "\r" in output  # the live bar, not a log


def test_a_pipe_that_inherited_pycharms_environment_is_a_log(flavour, tmp_path):
    argv = named(tmp_path, "python-launcher") + command(flavour, "--chatter")
    output = run_piped(argv, environment(**PYCHARM_CONDA))
    assert "\r" not in output and "\x1b" not in output
    assert_one_final_line_per_epoch(output.splitlines(), log=True)


def test_pycharm_pty_mode_shows_its_bar_in_the_run_window(flavour, tmp_path):
    argv = named(tmp_path, "pycharm64") + command(flavour, "--chatter")  # the IDE as the parent
    output = run_in_pty(argv, environment(PYCHARM_HOSTED="1", PYTHONUNBUFFERED="1"))
    window = PyCharm().feed_all([output])
    assert_one_final_line_per_epoch(window.lines())
    assert "\x1b[K" not in output  # PyCharm's bar, not a terminal's


# -- Spyder and VS Code's Debug Console -------------------------------------------------------


def test_spyder_never_gets_an_erase_that_would_wipe_its_console(flavour):
    env = environment(IDECONSOLE_CONSOLE="jupyter", SPY_UMR_ENABLED="True")
    output = run_piped(command(flavour, "--chatter"), env)
    console = QtConsole().feed_all([output])
    assert not console.wiped
    assert_one_final_line_per_epoch(console.lines())


def test_spyder_gets_nested_tqdm_bars_without_wiping_its_console():
    result = subprocess.run([sys.executable, TQDM], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=environment(IDECONSOLE_CONSOLE="jupyter"), timeout=120)
    console = QtConsole().feed_all([result.stdout.decode("utf-8")])
    assert not console.wiped and console.lines()[-1] == "done"
    assert [line for line in console.lines() if "outer" in line] == [
        line for line in console.lines() if line.startswith("outer: 100%")], console.lines()


def test_jupyter_frames_are_padded_over_what_the_last_one_left(flavour):
    output = run_piped(command(flavour, "--chatter"), environment(IDECONSOLE_CONSOLE="jupyter"))
    area = JupyterOutput().feed_all([output])
    assert_one_final_line_per_epoch(area.lines())
    assert not any(re.search(r"\[[0-9;]*[A-Za-z]", line) for line in area.lines()), area.lines()


def test_vscode_debug_console_gets_complete_lines(flavour):
    output = run_piped(command(flavour, "--chatter"), environment(VSCODE_PID="4242", PYTHONUNBUFFERED="1"))
    console = DebugConsole().feed_all([output])
    assert not any("\r" in line or "\b" in line for line in console.lines())
    assert_one_final_line_per_epoch(console.lines(), log=True)
