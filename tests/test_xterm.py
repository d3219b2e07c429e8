"""Trainings in xterm, a real terminal emulator that truncates rows on resize rather than
rewrapping them, on a virtual X display: resized mid-epoch by the window system, as a
person drags it, and read back through xterm's own "print all pages"."""
import os
import shutil
import subprocess
import sys
import time

import pytest
from test_pty import clean_environment
from test_tmux import SCENARIOS, STEP, TIMEOUT, train

MISSING = [name for name in ("xterm", "Xvfb", "xdotool") if shutil.which(name) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason="{} not installed (Debian: apt-get install xterm xvfb "
                                                      "xdotool)".format(", ".join(MISSING)))
PRINT_ALL_PAGES = "\\033[?11i"  # xterm sends its scrollback and screen to printerCommand


@pytest.fixture(scope="module")
def display():
    """A virtual X display of its own for this module's windows."""
    server = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    number = server.stdout.readline().decode().strip()
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start")
    yield ":" + number
    server.terminate()
    server.wait(timeout=TIMEOUT)


class XTerm:
    """One xterm window running one command; the same interface as test_tmux.Pane."""

    def __init__(self, directory, display, columns, rows=30):
        self.directory = str(directory)
        self.display = display
        self.size = (columns, rows)
        self.printed = os.path.join(self.directory, "printed.txt")
        self.process = None
        self.window = None

    def run(self, argv):
        env = clean_environment()
        env.pop("TERM", None)  # xterm sets its own, and XTERM_VERSION
        env.update(DISPLAY=self.display, LANG="C.UTF-8")
        command = '"$@"; printf "{}"; sleep 1'.format(PRINT_ALL_PAGES)
        resources = ["XTerm*printerCommand: cat > " + self.printed, "XTerm*printAttributes: 0",
                     "XTerm*saveLines: 10000", "XTerm*utf8: 1"]
        self.process = subprocess.Popen(
            ["xterm", "-geometry", "{}x{}".format(*self.size)] + sum((["-xrm", r] for r in resources), [])
            + ["-e", "sh", "-c", command, "sh"] + list(argv),
            cwd=self.directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def xdotool(self, *args):
        return subprocess.run(["xdotool"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, DISPLAY=self.display), timeout=TIMEOUT).stdout.decode()

    def resize(self, columns):
        if self.window is None:
            self.wait(lambda: self.xdotool("search", "--pid", str(self.process.pid)).split(), "the window")
            self.window = self.xdotool("search", "--pid", str(self.process.pid)).split()[0]
        self.xdotool("windowsize", "--usehints", self.window, str(columns), str(self.size[1]))

    def exited(self):
        return self.process.poll() is not None

    def rows(self):
        with open(self.printed, encoding="utf-8") as file:
            return [row.rstrip() for row in file.read().split("\n") if row.strip()]

    def wait(self, ready, what):
        deadline = time.monotonic() + TIMEOUT
        while not ready():
            if time.monotonic() > deadline:
                pytest.fail("waited {}s for {}".format(TIMEOUT, what))
            time.sleep(0.05)

    def close(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)


@pytest.fixture
def xterm(tmp_path, display):
    made = []

    def make(columns, rows=30):
        made.append(XTerm(tmp_path, display, columns, rows))
        return made[-1]

    yield make
    for window in made:
        window.close()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_resizing_mid_epoch_erases_no_line_and_leaves_no_bar(xterm, name):
    """xterm cuts a row to the new width and keeps the cursor on it: moving up to erase a
    rewrapped bar would erase the header. xterm itself cuts every longer row when the window
    narrows (and may show the cut cells again when it widens), so rows are compared by their
    start; every row that holds a step count is a final one."""
    columns, actions, prints, preamble = SCENARIOS[name]
    window = xterm(columns)
    train(window, actions, prints, preamble, in_step=True)
    window.wait(lambda: os.path.exists(window.printed), "xterm's print-out")
    rows = window.rows()
    assert sum(row.startswith("what came before") for row in rows[:preamble]) == preamble, rows
    assert [row for row in rows if row.startswith("Epoch")] == ["Epoch 1/2", "Epoch 2/2"], rows
    assert sum(row.startswith("30/30 ") for row in rows) == 2, rows
    for row in rows:
        for step, total in STEP.findall(row):
            assert step == total, rows
    assert sum(row.startswith("a line from the") for row in rows) == len(prints), rows
    assert rows[-1] == "training done", rows


def test_report_says_xterm_truncates(xterm):
    window = xterm(80)
    window.run([sys.executable, "-m", "ideconsole"])
    window.wait(lambda: os.path.exists(window.printed) and window.exited(), "the report")
    report = "\n".join(window.rows())
    assert "resize          truncate         xterm keeps rows as they are" in report, report


def test_a_status_line_keeps_its_last_character(xterm):
    """A row filled to the last column leaves the cursor waiting there, where ESC[K erases
    the character just written: status lines stop one column short."""
    code = ("from ideconsole.console import Console\nconsole = Console()\n"
            "console.status('x' * 100)\nconsole.finish()\nprint('done')\n")
    window = xterm(40)
    window.run([sys.executable, "-c", code])
    window.wait(lambda: os.path.exists(window.printed) and window.exited(), "the print-out")
    assert window.rows() == ["x" * 36 + "...", "done"]
