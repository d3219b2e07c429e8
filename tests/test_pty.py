"""The adapter end to end in a real pseudo terminal: the bytes a program writes to a
terminal of a given width, replayed through a VT emulator of that width."""
import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios

import pytest
from consoles import VT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESIZING_DEMO = r"""
import fcntl, struct, sys, termios, time
from ideconsole.progress import Progress
for epoch, columns in ((1, {first}), (2, {second})):
    if epoch == 2:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
        print("RESIZED")
    print("Epoch %d/2" % epoch)
    bar = Progress(30)
    for step in range(1, 31):
        time.sleep(0.004)
        bar.update(step, {{"accuracy": 0.5, "loss": 0.25, "mean_absolute_error": 0.125}})
        if step == 15:
            print("a line from the training loop")
    bar.done({{"accuracy": 0.5, "loss": 0.25, "val_loss": 0.3}})
"""


def clean_environment():
    env = {key: value for key, value in os.environ.items()
           if key not in ("COLUMNS", "PYCHARM_HOSTED", "NO_COLOR", "FORCE_COLOR", "TERM", "CI",
                          "GITHUB_ACTIONS", "GITLAB_CI", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
           and not key.startswith("IDECONSOLE_")}
    env.update(PYTHONPATH=ROOT, TERM="xterm-256color", PYTHONIOENCODING="utf-8")
    return env


def run_in_terminal(argv, columns, check=True, env=None, rows=50, cwd=None):
    """What a terminal `columns` wide (`rows` high) received; with check=False, (return code,
    that)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
                               env=env or clean_environment(), close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    output = b"".join(chunks).decode("utf-8")
    code = process.wait(timeout=60)
    if not check:
        return code, output
    assert code == 0, output
    return output


@pytest.mark.parametrize("columns", [80, 40])
def test_demo_in_a_real_terminal_leaves_one_line_per_epoch(columns):
    output = run_in_terminal([sys.executable, "-m", "ideconsole", "demo", "--epochs", "2", "--steps", "30",
                              "--delay", "0.005"], columns)
    lines = VT(columns=columns).feed_all([output]).lines()
    assert lines[0] == "Epoch 1/2"
    epoch_two = lines.index("Epoch 2/2")
    for block in (lines[1:epoch_two], lines[epoch_two + 1:]):
        final = "".join(block)
        assert final.startswith("40/40 ") or final.startswith("30/30 "), block
        assert "val_loss:" in final.replace("val_loss: ", "val_loss:")
        assert final.count("/30") + final.count("/40") == 1, block
    assert "\u2501" in output and "\x1b[32m" in output  # the Keras 3 look on a VT terminal


@pytest.mark.parametrize("first,second", [(100, 50), (50, 100)])
def test_width_is_read_again_when_the_window_is_resized(first, second):
    script = RESIZING_DEMO.format(first=first, second=second)
    output = run_in_terminal([sys.executable, "-c", script], first)
    before, after = output.split("RESIZED")
    screen = VT(columns=first)
    screen.feed(before)
    screen.resize(second)
    screen.feed(after)
    lines = screen.lines()
    assert lines.count("a line from the training loop") == 2
    progress = [line for line in lines if "/30" in line]
    assert len(progress) <= 4 and sum("30/30" in line for line in progress) == 2, lines
    assert not any(line.startswith(("15/30", "29/30", " 1/30")) for line in lines), lines


MANY_BARS = r"""
import os, sys
from ideconsole.console import Console
console = Console(sys.stdout)
print("before the bars")
for number in range(10):
    console.status("bar %d of 10" % number, row=number, depth=number)
sys.stdout.flush()
os._exit(0)  # the status area as it is, not ended
"""


@pytest.mark.parametrize("rows", [6, 3])
def test_more_bars_than_the_terminal_has_rows_are_counted_on_its_last(rows):
    """Ten bars up at once (Console.status, a row each) in a terminal of 6 rows (3 rows):
    five (two) rows at most, the last counting the bars not shown; nothing scrolled away."""
    output = run_in_terminal([sys.executable, "-c", MANY_BARS], 80, rows=rows,
                             env=dict(clean_environment(), IDECONSOLE_CAPTURE="0"))
    shown = VT(columns=80, rows=rows).feed_all([output]).lines()
    kept = rows - 2  # the last row of the terminal stays free, one shows the count
    assert shown == ["before the bars"] + ["bar %d of 10" % n for n in range(kept)] + [
        "... {} more".format(10 - kept)], shown


def test_report_names_the_console_and_why():
    result = subprocess.run([sys.executable, "-m", "ideconsole"], stdout=subprocess.PIPE,
                            env=dict(clean_environment(), PYCHARM_HOSTED="1"), timeout=60)
    report = result.stdout.decode()
    assert result.returncode == 0
    assert "console         pycharm" in report and "PYCHARM_HOSTED" in report
    assert "mode            cr" in report


def test_report_names_a_bad_override():
    result = subprocess.run([sys.executable, "-m", "ideconsole"], stdout=subprocess.PIPE,
                            env=dict(clean_environment(), IDECONSOLE_CONSOLE="cmd.exe"), timeout=60)
    report = result.stdout.decode()
    assert "IDECONSOLE_CONSOLE must be one of" in report and "ignored" in report
    assert "console         log" in report


@pytest.mark.parametrize("redirected", [False, True], ids=["terminal", "redirected"])
def test_the_report_reads_in_an_80_column_terminal(redirected, tmp_path):
    """Every line shorter than the terminal, which would otherwise wrap it mid-word; a reason
    longer than its column goes on under itself (capture row included, and the rows about
    the terminal behind stderr when stdout is redirected)."""
    env = dict(clean_environment(), IDECONSOLE_CONSOLE="cmd.exe", IDECONSOLE_INTERVAL="fast", RANK="2",
               IDECONSOLE_OTHER_RANKS="loud")
    report = tmp_path / "report.txt"
    argv = [sys.executable, "-m", "ideconsole"]
    if redirected:
        argv = ["sh", "-c", 'exec "$@" > "{}"'.format(report), "sh"] + argv
    shown = run_in_terminal(argv, 80, env=env)
    text = report.read_text() if redirected else shown.replace("\r\n", "\n")
    lines = text.rstrip("\n").split("\n")
    assert VT(columns=80).feed_all([shown]).lines() == ([] if redirected else lines)  # nothing wrapped
    assert max(map(len, lines)) < 80, lines
    continued = [line for line in lines if line.startswith(" ")]
    assert continued and all(re.match(" {33}\\S", line) for line in continued), lines
    assert any(line.startswith("capture ") for line in lines), lines
    if redirected:
        assert "stderr is a terminal; a script run there would get:" in lines, lines


def after_the_reader_goes_away(argv, lines, env=None):
    """`argv | head -LINES`: the command's exit status and what it wrote to stderr, once its
    reader has read LINES lines (0: none, gone before the command starts) and closed the pipe."""
    read, write = os.pipe()
    if not lines:
        os.close(read)
    process = subprocess.Popen(argv, stdout=write, stderr=subprocess.PIPE, env=env or clean_environment())
    os.close(write)
    if lines:
        with os.fdopen(read, "rb") as reader:
            for _ in range(lines):
                reader.readline()
    errors = process.stderr.read().decode("utf-8", "replace")
    return process.wait(timeout=60), errors


# Each reader goes away before the command writes again: the report writes at once, so its
# reader is gone before it starts; the demo's next line is a second away, the log is 6 MB.
@pytest.mark.parametrize("command,lines", [([], 0), (["report"], 0),
                                          (["demo", "--steps", "4", "--delay", "0.25"], 1),
                                          (["clean", "LOG"], 2), (["clean"], 2)],
                         ids=["bare", "report", "demo-head-1", "clean-head-2", "clean-stdin"])
def test_into_a_pipe_whose_reader_went_away_it_ends_quietly_as_cat_does(command, lines, tmp_path):
    """`python -m ideconsole | head -1`, `... clean big.log | head -2`, `... demo | head -1`:
    no traceback, no word, and the status cat has there (killed by SIGPIPE: 141 in the shell)."""
    log = tmp_path / "big.log"
    log.write_bytes(b"".join(b"step %d\r\x1b[1mline %d of a long log\x1b[0m\n" % (n, n)
                             for n in range(200000)))
    argv = [sys.executable, "-m", "ideconsole"] + [str(log) if arg == "LOG" else arg for arg in command]
    if command == ["clean"]:
        argv = ["sh", "-c", 'exec "$@" < "{}"'.format(log), "sh"] + argv
    cat = after_the_reader_goes_away(["cat", str(log)], lines)
    assert cat == (-signal.SIGPIPE, "")
    assert after_the_reader_goes_away(argv, lines) == cat


def test_importing_ideconsole_imports_no_tensorflow_or_keras():
    code = ("import sys, ideconsole, ideconsole.callback, ideconsole.patch\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'tf_keras', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, env=clean_environment(),
                            timeout=60)
    assert result.stdout.decode().strip() == "[]"


STRAY_WRITERS = r"""
import multiprocessing, os, sys, time
from ideconsole.progress import Progress

def worker(epoch):
    print("worker process says hello %d" % epoch, flush=True)

if __name__ == "__main__":
    for epoch in (1, 2):
        print("Epoch %d/2" % epoch)
        bar = Progress(30)
        for step in range(1, 31):
            time.sleep(0.004)
            bar.update(step, {"loss": 0.25})
            if step == 10:
                os.write(1, b"raw descriptor write %d\n" % epoch)
                os.write(2, b"C-level warning %d\n" % epoch)
            if step == 15:
                os.system("echo child shell %d" % epoch)
            if step == 20:
                process = multiprocessing.get_context("fork").Process(target=worker, args=(epoch,))
                process.start()
                process.join()
            if step == 25:
                print("terminal seen by print's stream:", sys.stdout.isatty())
        bar.done({"loss": 0.25, "val_loss": 0.3})
        print("between epochs %d" % epoch)
    os.write(1, b"after training\n")
"""


@pytest.mark.parametrize("columns", [80, 40])
def test_bytes_written_past_sys_stdout_land_on_their_own_lines(columns):
    output = run_in_terminal([sys.executable, "-c", STRAY_WRITERS], columns)
    lines = VT(columns=columns).feed_all([output]).lines()
    for epoch in (1, 2):
        for text in ("raw descriptor write", "C-level warning", "child shell", "worker process says hello"):
            assert "{} {}".format(text, epoch) in lines, lines
    assert lines[-1] == "after training"
    progress = [line for line in lines if "/30" in line]
    assert len(progress) == 2 and all(line.startswith("30/30") for line in progress), lines
    assert lines.count("terminal seen by print's stream: True") == 2
    second = lines.index("Epoch 2/2")
    assert lines[second - 1] == "between epochs 1" and lines[-2] == "between epochs 2", lines



def test_report_to_a_file_also_describes_the_terminal_behind_stderr(tmp_path):
    report = tmp_path / "report.txt"
    command = "{} -m ideconsole > {}".format(sys.executable, report)
    run_in_terminal(["sh", "-c", command], 80)
    text = report.read_text()
    assert "stdout: a file" in text and re.search(r"^console +log +stdout is a file", text, re.M)
    assert "stderr is a terminal" in text and "console         vt" in text
    # the same rows for both: a log's capture cleans other writers' redraws, a terminal's too
    captures = [line.split()[1] for line in text.splitlines() if line.startswith("capture ")]
    assert captures == ["relay", "relay"], text


@pytest.mark.parametrize("value,shown", [("bogus", "relay"), ("yes", "relay"), ("off", "off")])
def test_report_says_what_it_made_of_the_capture_switch(value, shown):
    result = subprocess.run([sys.executable, "-m", "ideconsole"], stdout=subprocess.PIPE, timeout=60,
                            env=dict(clean_environment(), IDECONSOLE_CAPTURE=value))
    rows = " ".join(line.strip() for line in result.stdout.decode().split("capture ", 1)[1].splitlines())
    assert rows.split()[0] == shown, rows
    assert ("'bogus' is not a boolean word" in rows) == (value == "bogus"), rows


def test_pycharm_hosted_writing_into_a_file_gives_a_log(tmp_path):
    log = tmp_path / "train.log"
    code = ("from ideconsole.progress import Progress\nprint('Epoch 1/1')\nbar = Progress(5)\n"
            "for step in range(1, 6):\n    bar.update(step, {'loss': 0.5})\nbar.done({'loss': 0.5})\n")
    with open(str(log), "w") as out:
        subprocess.run([sys.executable, "-c", code], stdout=out, timeout=60,
                       env=dict(clean_environment(), PYCHARM_HOSTED="1"))
    text = log.read_text()
    assert "\r" not in text and "\x1b" not in text
    assert text.splitlines()[1].startswith("5/5 ") and len(text.splitlines()) == 2


@pytest.mark.parametrize("argv,status,message", [
    (["run", "--help"], 0, "usage: python -m ideconsole run"),
    (["run"], 2, "usage: python -m ideconsole run"),
    (["run", "missing.py"], 2, "python -m ideconsole run: error: can't open file"),
    (["run", "-m"], 2, "python -m ideconsole run: error: -m needs a module name"),
    (["run", "-m", "no_such_module_here"], 1, "python -m ideconsole run: error: no module named"),
    (["run", os.path.dirname(os.path.abspath(__file__))], 1,
     "python -m ideconsole run: error: can't find '__main__' module in"),
    (["demo", "--delay", "-1"], 2, "python -m ideconsole demo: error: argument --delay"),
    (["demo", "--delay", "nan"], 2, "python -m ideconsole demo: error: argument --delay"),
    (["demo", "--epochs", "0"], 2, "python -m ideconsole demo: error: argument --epochs"),
    (["demo", "--steps", "-3"], 2, "python -m ideconsole demo: error: argument --steps"),
])
def test_run_explains_a_mistake_in_one_line(argv, status, message):
    result = subprocess.run([sys.executable, "-m", "ideconsole"] + argv, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=clean_environment(), timeout=60)
    output = result.stdout.decode()
    assert result.returncode == status and message in output, output
    assert "Traceback" not in output


def test_run_gives_the_script_what_python_gives_it(tmp_path):
    """`__file__`, `sys.argv` as typed, its folder first on sys.path, `__name__`: what
    `python train.py --epochs 2` gives, side by side; `os.path.dirname(__file__)` still finds
    the script's own files after a chdir."""
    (tmp_path / "train.py").write_text(
        "import os, sys\nos.chdir('/')\nprint(__name__, __file__, sys.argv, sys.path[0], "
        "os.path.exists(os.path.join(os.path.dirname(__file__), 'train.py')))\n")
    outputs = [subprocess.run([sys.executable] + prefix + ["train.py", "--epochs", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(tmp_path),
                              env=clean_environment(), timeout=60).stdout.decode()
               for prefix in ([], ["-m", "ideconsole", "run"])]
    # Python 3.9 and later give the script an absolute __file__, earlier ones one as typed
    absolute = sys.version_info >= (3, 9)
    assert outputs[0].endswith("{}\n".format(absolute)) and outputs[1] == outputs[0], outputs


@pytest.mark.parametrize("where", ["pipe", "terminal"])
@pytest.mark.parametrize("body,status", [
    ("raise ValueError('bad value')", 1),
    ("import sys\nsys.exit(3)", 3),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", -9),
    ("import os\nos._exit(7)", 7),
])
def test_run_ends_as_python_does(tmp_path, where, body, status):
    """The same traceback (the script's frames only, none of ideconsole's) and the same exit
    status, a death by signal included, side by side with `python train.py`."""
    (tmp_path / "train.py").write_text(body + "\n")
    seen = []
    for prefix in ([], ["-m", "ideconsole", "run"]):
        argv = [sys.executable] + prefix + ["train.py"]
        if where == "terminal":
            code, output = run_in_terminal(argv, 80, check=False, cwd=str(tmp_path))
        else:
            result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(tmp_path),
                                    env=clean_environment(), timeout=60)
            code, output = result.returncode, result.stdout.decode()
        seen.append((code, output))
    assert seen[0][0] in (status, 128 - status) and seen[1] == seen[0], seen


FORKS = """\
import os, threading
print("before the fork", flush=True)
pid = os.fork()
if pid == 0:
    print("the child", flush=True)
    os._exit(0)
os.waitpid(pid, 0)
if os.environ.get("WITH_A_THREAD"):
    thread = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True)
    thread.start()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
print("the parent goes on")
"""


@pytest.mark.skipif(sys.version_info < (3, 12),
                    reason="Python before 3.12 gives no warning about a fork with threads")
@pytest.mark.parametrize("warnings", ["default", "error::DeprecationWarning"])
@pytest.mark.parametrize("thread", [False, True])
@pytest.mark.parametrize("where", ["pipe", "terminal"])
def test_a_fork_is_warned_about_as_without_ideconsole(tmp_path, where, thread, warnings):
    """Python 3.12+ warns when a process with threads forks: ideconsole's own threads never
    bring the warning (or, with -W error, the exception) where plain Python gives none, and a
    thread of the script's still does. Side by side; the pid in the warning aside."""
    (tmp_path / "forks.py").write_text(FORKS)
    env = dict(clean_environment(), WITH_A_THREAD="1" if thread else "")
    seen = []
    for prefix in ([], [os.path.join(ROOT, "tests", "installed.py")], ["-m", "ideconsole", "run"]):
        argv = [sys.executable, "-W", warnings] + prefix + ["forks.py"]
        if where == "terminal":
            code, output = run_in_terminal(argv, 80, check=False, cwd=str(tmp_path), env=env)
            output = output.replace("\r\n", "\n")
        else:
            result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(tmp_path),
                                    env=env, timeout=60)
            code, output = result.returncode, result.stdout.decode()
        output = re.sub(r"pid=\d+", "pid=N", output.replace(str(tmp_path) + os.sep, ""))
        seen.append((code, [line for line in output.splitlines() if "runpy" not in line]))
    # (made an error, the warning is not raised from os.fork(): Python drops it)
    assert ("multi-threaded" in "\n".join(seen[0][1])) == (thread and warnings == "default"), seen
    assert seen[1] == seen[0] and seen[2] == seen[0], seen


SAME_LINE_FORKS = """\
import os, threading
event = threading.Event()
for round in range(2):
    if round == 1:  # a thread of the script's own: this fork is warned about
        threading.Thread(target=event.wait, daemon=True).start()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    print("fork", round, "done", flush=True)
event.set()
"""


@pytest.mark.skipif(sys.version_info < (3, 12),
                    reason="Python before 3.12 gives no warning about a fork with threads")
def test_a_warning_left_out_for_one_fork_is_given_for_the_next_from_the_same_line(tmp_path):
    """Python shows a warning once per line: one left out for ideconsole's threads must not
    count as shown when the next fork of that line has a thread of the script's."""
    (tmp_path / "forks.py").write_text(SAME_LINE_FORKS)
    seen = []
    for prefix in ([], [os.path.join(ROOT, "tests", "installed.py")]):
        argv = [sys.executable, "-W", "default"] + prefix + ["forks.py"]
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(tmp_path),
                                env=clean_environment(), timeout=60)
        seen.append(re.sub(r"pid=\d+", "pid=N", result.stdout.decode().replace(str(tmp_path) + os.sep, "")))
    assert seen[0].count("multi-threaded") == 1 and seen[1] == seen[0], seen
