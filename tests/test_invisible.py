"""Everything that works without ideconsole works the same with it: pagers, curses, editors,
prompts, signals, job control, exit status and the shell's prompt after the output, run side
by side with plain Python in real tmux panes (keys sent as a person types them), under
`install()` in the training process and under `python -m ideconsole run`."""
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from test_tmux import Pane

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None,
                                reason="tmux is not installed (Debian: apt-get install tmux)")

HERE = os.path.dirname(os.path.abspath(__file__))
# How a script is started: without ideconsole, installed by the script's first lines (as a
# notebook or a train.py that calls install() does), or by `python -m ideconsole run`.
WAYS = {
    "plain": [sys.executable],
    "install": [sys.executable, os.path.join(HERE, "installed.py")],
    "run": [sys.executable, "-m", "ideconsole", "run"],
}


class Shell:
    """A tmux pane running commands through `sh`, each followed by the marker `[exit N]`, with a
    token in their environment to find what they leave running."""

    def __init__(self, directory, columns=80, rows=24):
        self.name = os.path.basename(str(directory))
        self.pane = Pane(directory, columns, rows)
        self.directory = str(directory)
        self.token = uuid.uuid4().hex

    def start(self, command, interactive=False):
        env = "IDECONSOLE_TEST_TOKEN={} ".format(self.token)
        if interactive:  # a shell with job control, commands typed into it
            self.pane.run(["env", "PS1=$ ", "bash", "--norc", "--noprofile", "-i"])
            self.wait_for("$")
            words = _quoted(command[:-1]) + ["&"] if command[-1] == "&" else _quoted(command)
            self.type(env + " ".join(words), enter=True)
            return
        # The shell outlives a Ctrl-C or Ctrl-\\ of the command (a trap, not an ignored signal:
        # the command gets the default action) and says how it ended, as a prompt would.
        script = "trap : INT QUIT; " + env + " ".join(_quoted(command)) + '; echo "[exit $?]"'
        self.pane.run(["bash", "-c", script])

    def type(self, keys, enter=False):
        self.pane.tmux("send-keys", "-l", keys)
        if enter:
            self.pane.tmux("send-keys", "Enter")

    def key(self, name):
        self.pane.tmux("send-keys", name)

    def screen(self):
        return self.pane.capture()

    def wait_for(self, text, where=None):
        self.pane.wait(lambda: text in "\n".join(where() if where else self.screen()),
                       "{!r} on the screen ({})".format(text, self.name))

    def wait_for_file(self, name):
        path = os.path.join(self.directory, name)
        self.pane.wait(lambda: os.path.exists(path), "the file {} ({})".format(name, self.name))

    def finished(self):
        self.wait_for("[exit ")
        return self.screen()

    def leftovers(self):
        """Processes started by the command that are still running, a moment after it ended."""
        deadline = time.monotonic() + 10
        while True:
            found = []
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open("/proc/{}/environ".format(pid), "rb") as file:
                        if self.token.encode() in file.read():
                            with open("/proc/{}/cmdline".format(pid), "rb") as file:
                                found.append(file.read().replace(b"\0", b" ").decode(errors="replace"))
                except OSError:
                    continue
            if not found or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def close(self):
        self.pane.close()


def _quoted(argv):
    return ["'{}'".format(arg.replace("'", "'\\''")) for arg in argv]


@pytest.fixture
def shell(tmp_path):
    shells = []

    def make(name="pane", columns=80, rows=24):
        directory = tmp_path / name
        directory.mkdir()
        shells.append(Shell(directory, columns, rows))
        return shells[-1]

    yield make
    for made in shells:
        made.close()


def script(tmp_path, text, name="script.py"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def side_by_side(shell, path, steps, ways=("plain", "install", "run"), args=()):
    """The screens and leftovers of `path` started each way, `steps(shell)` typing into it."""
    seen = {}
    for way in ways:
        pane = shell(way)
        pane.start(WAYS[way] + [path] + list(args))
        steps(pane)
        seen[way] = (pane.finished(), pane.leftovers())
    return seen


PAGER = """
help(str.join)
print("after help")
"""


def test_a_pager_quits_on_q_and_leaves_nothing_running(shell, tmp_path):
    def steps(pane):
        pane.wait_for("(END)")
        pane.type("q")

    seen = side_by_side(shell, script(tmp_path, PAGER), steps)
    for way, (screen, left) in seen.items():
        assert screen == seen["plain"][0] and screen[-2:] == ["after help", "[exit 0]"], (way, screen)
        assert left == [], (way, left)


def test_ctrl_c_in_a_pager_does_what_it_does_without_ideconsole(shell, tmp_path):
    def steps(pane):
        pane.wait_for("(END)")
        pane.key("C-c")
        time.sleep(0.3)
        pane.type("q")

    seen = side_by_side(shell, script(tmp_path, PAGER), steps)
    for way, (screen, left) in seen.items():
        assert screen == seen["plain"][0], (way, screen)
        assert left == [], (way, left)


GIT_PAGER = """
import os
os.system("git log --stat")
print("after git log")
"""


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("less") is None, reason="needs git and less")
def test_git_log_through_its_pager_and_back(shell, tmp_path):
    repository = tmp_path / "repository"
    repository.mkdir()
    env = dict(os.environ, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@b", GIT_COMMITTER_NAME="a",
               GIT_COMMITTER_EMAIL="a@b", GIT_CONFIG_NOSYSTEM="1", HOME=str(tmp_path))
    subprocess.run(["git", "init", "-q", str(repository)], check=True, env=env)
    for number in range(12):  # more than a screen: the pager stays
        (repository / "file{}.txt".format(number)).write_text("x\n")
        subprocess.run(["git", "-C", str(repository), "add", "."], check=True, env=env)
        subprocess.run(["git", "-C", str(repository), "commit", "-qm", "change {}".format(number)],
                       check=True, env=env)
    path = script(tmp_path, "import os\nos.chdir({!r})\n".format(str(repository)) + GIT_PAGER)

    def steps(pane):
        pane.wait_for("change 11")
        pane.type(" ")  # a page down
        pane.wait_for("change 8")
        pane.type("q")

    seen = side_by_side(shell, path, steps)
    for way, (screen, left) in seen.items():
        assert screen[-2:] == ["after git log", "[exit 0]"], (way, screen)
        assert screen == seen["plain"][0], (way, screen)
        assert left == [], (way, left)


CURSES = """
import curses

def main(window):
    window.addstr(0, 0, "press a key")
    window.refresh()
    open("ready", "w").close()
    return window.getch()

print("got", curses.wrapper(main))
"""


def test_curses_reads_a_key_as_it_is_typed(shell, tmp_path):
    def steps(pane):
        pane.wait_for_file("ready")
        pane.type("x")

    seen = side_by_side(shell, script(tmp_path, CURSES), steps)
    for way, (screen, left) in seen.items():
        assert screen[-2:] == ["got 120", "[exit 0]"] and screen == seen["plain"][0], (way, screen)
        assert left == [], (way, left)


EDITOR_DURING_A_BAR = """
import os, subprocess, sys, time
from ideconsole.progress import Progress
bar = Progress(10)
for step in range(1, 4):
    bar.update(step, {"loss": 0.5})
    time.sleep(0.06)
subprocess.call(["vim", "-u", "NONE", "-N", "-n", "notes.txt"])
print("back from the editor")
for step in range(4, 11):
    bar.update(step, {"loss": 0.5})
    time.sleep(0.02)
bar.done({"loss": 0.5})
"""


@pytest.mark.skipif(shutil.which("vim") is None, reason="needs vim")
@pytest.mark.parametrize("way", ["install", "run"])
def test_a_full_screen_editor_while_a_bar_is_up(shell, tmp_path, way):
    pane = shell(way)
    with open(os.path.join(pane.directory, "notes.txt"), "w") as file:
        file.write("first line\n")
    pane.start(WAYS[way] + [script(tmp_path, EDITOR_DURING_A_BAR)])
    pane.wait_for("first line")
    screen = pane.screen()
    assert not any("/10" in row for row in screen), screen  # the editor has the whole screen
    pane.type("Aand more")
    pane.key("Escape")
    pane.type(":wq")
    pane.key("Enter")
    screen = pane.finished()
    assert screen[-3:-1] == ["back from the editor", screen[-2]] and screen[-2].startswith("10/10 "), screen
    assert not any(row.startswith("~") for row in screen) and "first line" not in screen, screen
    with open(os.path.join(pane.directory, "notes.txt")) as file:
        assert file.read() == "first lineand more\n"
    assert pane.leftovers() == []


@pytest.mark.skipif(shutil.which("vim") is None, reason="needs vim")
@pytest.mark.parametrize("way", ["plain", "install", "run"])
def test_an_editor_resized_while_it_is_open_takes_the_new_size(shell, tmp_path, way):
    pane = shell(way)
    with open(os.path.join(pane.directory, "notes.txt"), "w") as file:
        file.write("first line\n")
    pane.start(WAYS[way] + [script(tmp_path, EDITOR_DURING_A_BAR)])
    pane.wait_for("first line")
    pane.pane.resize(60)
    time.sleep(0.3)  # vim redraws on its SIGWINCH
    pane.type(":echo 'width' &columns")
    pane.key("Enter")
    pane.wait_for("width 60")
    pane.type(":q")
    pane.key("Enter")
    screen = pane.finished()
    assert "back from the editor" in screen and screen[-1] == "[exit 0]", screen


PROMPT_DURING_A_BAR = """
import time
from ideconsole.progress import Progress
bar = Progress(10)
for step in range(1, 4):
    bar.update(step, {"loss": 0.5})
    time.sleep(0.06)
answer = input("Your name? ")
print("hello", answer)
for step in range(4, 11):
    bar.update(step, {"loss": 0.5})
    time.sleep(0.02)
bar.done({"loss": 0.5})
"""


@pytest.mark.parametrize("way", ["install", "run"])
def test_a_prompt_takes_the_answer_and_its_editing(shell, tmp_path, way):
    pane = shell(way)
    pane.start(WAYS[way] + [script(tmp_path, PROMPT_DURING_A_BAR)])
    pane.wait_for("Your name?")
    pane.type("Adx")
    pane.key("BSpace")  # the terminal's own line editing
    pane.type("a")
    pane.key("Enter")
    screen = pane.finished()
    assert screen[:2] == ["Your name? Ada", "hello Ada"] and screen[2].startswith("10/10 "), screen


SLOW_LOOP = """
import sys, time
if "ideconsole" in sys.modules:  # installed, or run by it: its bar
    from ideconsole.progress import Progress
    bar = Progress(2000)
else:  # plain Python: a bar of its own, Keras's way
    class bar:
        update = staticmethod(lambda step, values: print("\\r%d/2000" % step, end="", flush=True))
        done = staticmethod(lambda values: print())
for step in range(1, 2001):
    bar.update(step, {"loss": 0.5})
    time.sleep(0.005)
    if step == 20:
        open("going", "w").close()
bar.done({"loss": 0.5})
print("the loop ended")
"""


# Python 3.8 and later die of the SIGINT a KeyboardInterrupt came from; earlier ones exit with 1
INTERRUPTED = 130 if sys.version_info >= (3, 8) else 1


@pytest.mark.parametrize("way", ["plain", "install", "run"])
@pytest.mark.parametrize("key,status", [("C-c", INTERRUPTED), ("C-\\\\", 131)])
def test_ctrl_c_and_ctrl_backslash_stop_the_script(shell, tmp_path, way, key, status):
    pane = shell(way)
    pane.start(WAYS[way] + [script(tmp_path, SLOW_LOOP)])
    pane.wait_for_file("going")
    pane.key(key.replace("\\\\", "\\"))
    screen = pane.finished()
    assert screen[-1] == "[exit {}]".format(status), screen
    assert "the loop ended" not in screen, screen
    assert pane.leftovers() == []


@pytest.mark.parametrize("way", ["plain", "install", "run"])
def test_ctrl_z_stops_the_script_and_fg_goes_on(shell, tmp_path, way):
    pane = shell(way)
    pane.start(WAYS[way] + [script(tmp_path, SLOW_LOOP)], interactive=True)
    pane.wait_for_file("going")
    pane.key("C-z")
    pane.wait_for("Stopped")
    pane.type("fg", enter=True)
    pane.wait_for("the loop ended")
    pane.type('echo "[ended" "$?]"', enter=True)
    pane.wait_for("[ended 0]")
    assert pane.leftovers() == []


LAST_WORDS = """
import os, signal, sys
from ideconsole.progress import Progress
bar = Progress(3)
bar.update(1, {"loss": 0.5})
print("last words", sys.argv[1])
sys.stdout.flush()
how = sys.argv[2]
if how == "_exit":
    os._exit(5)
elif how == "exec":
    os.execv("/bin/echo", ["echo", "exec'd", sys.argv[1]])
else:
    os.kill(os.getpid(), getattr(signal, how))
"""
RUNS = 8


@pytest.mark.parametrize("way,how", [("run", how) for how in ("_exit", "exec", "SIGKILL", "SIGTERM")]
                         + [("install", how) for how in ("_exit", "exec")])
def test_the_shells_prompt_comes_after_the_last_words(shell, tmp_path, way, how):
    """However the script ends, its last lines come before what the shell does next; repeated,
    since a race shows only now and then."""
    path = script(tmp_path, LAST_WORDS)
    pane = shell(way, rows=60)
    command = "; ".join("{} {} {} {}; echo \"[marker {}]\"".format(" ".join(_quoted(WAYS[way])), path, number,
                                                                  how, number) for number in range(RUNS))
    pane.pane.run(["sh", "-c", command])
    pane.wait_for("[marker {}]".format(RUNS - 1))
    screen = pane.screen()
    for number in range(RUNS):
        last = "exec'd {}".format(number) if how == "exec" else "last words {}".format(number)
        assert screen.index(last) < screen.index("[marker {}]".format(number)), screen


HELD = """
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import os, time\\n"
                  "while not os.path.exists('let go'): time.sleep(0.02)\\n"
                  "open('gone', 'w').close()"])  # holds stdout and stderr, as a resource tracker does
print("the script ends")
"""


@pytest.mark.parametrize("way", ["plain", "install", "run"])
def test_the_script_ends_while_another_process_holds_its_output(shell, tmp_path, way):
    pane = shell(way)
    pane.start(WAYS[way] + [script(tmp_path, HELD)])
    screen = pane.finished()
    assert screen[-2:] == ["the script ends", "[exit 0]"], screen
    assert not os.path.exists(os.path.join(pane.directory, "gone"))  # it did not wait for the holder
    open(os.path.join(pane.directory, "let go"), "w").close()


PASSWORD = """
import getpass, sys, time
if "ideconsole" in sys.modules:
    from ideconsole.progress import Progress
    bar = Progress(10)
    for step in range(1, 4):
        bar.update(step, {"loss": 0.5})
        time.sleep(0.06)
word = getpass.getpass("Password: ")
print("got", len(word), "characters")
"""


@pytest.mark.parametrize("way", ["plain", "install", "run"])
def test_a_password_prompt_takes_the_password_unechoed(shell, tmp_path, way):
    pane = shell(way)
    pane.start(WAYS[way] + [script(tmp_path, PASSWORD)])
    pane.wait_for("Password:")
    pane.type("hunter2", enter=True)
    screen = pane.finished()
    assert "got 7 characters" in screen and not any("hunter2" in row for row in screen), screen
    assert pane.leftovers() == []


STOP_ON_ENTER = """
import select, sys, time
for step in range(400):
    time.sleep(0.02)  # a training step, busy
    if select.select([sys.stdin], [], [], 0)[0]:  # "press Enter to stop", polled
        print("stopping on request:", repr(sys.stdin.readline()))
        break
    if step == 5:
        open("going", "w").close()
else:
    print("ran to the end")
"""


@pytest.mark.parametrize("way", ["plain", "install", "run"])
def test_a_key_polled_for_between_steps_reaches_the_script(shell, tmp_path, way):
    pane = shell(way)
    pane.start(WAYS[way] + [script(tmp_path, STOP_ON_ENTER)])
    pane.wait_for_file("going")
    pane.type("q", enter=True)
    screen = pane.finished()
    assert "stopping on request: 'q\\n'" in screen and screen[-1] == "[exit 0]", screen


BUSY_THEN_END = """
import time
time.sleep(1.5)  # busy: keys typed now are not for the script
print("the script ends without reading its input")
"""


@pytest.mark.parametrize("way", ["plain", "install", "run"])
def test_keys_typed_ahead_that_the_script_never_reads_go_to_the_shell(shell, tmp_path, way):
    pane = shell(way)
    pane.start(WAYS[way] + [script(tmp_path, BUSY_THEN_END)], interactive=True)
    pane.type('echo "typed" "ahead"', enter=True)
    pane.wait_for("typed ahead")


BACKGROUND_THEN_INPUT = """
import sys, time
time.sleep(1)
print("answer", repr(input("name? ")))
"""


@pytest.mark.parametrize("way", ["plain", "install", "run"])
def test_a_script_started_in_the_background_takes_input_once_brought_back(shell, tmp_path, way):
    pane = shell(way)
    pane.start(WAYS[way] + [script(tmp_path, BACKGROUND_THEN_INPUT)] + ["&"], interactive=True)
    pane.type("fg", enter=True)
    pane.wait_for("name?")
    pane.type("Bob", enter=True)
    pane.wait_for("answer 'Bob'")


POLLING_CURSES = """
import curses, time

def main(window):
    window.nodelay(True)
    window.addstr(0, 0, "type, then q")
    window.refresh()
    open("ready", "w").close()
    typed = ""
    while not typed.endswith("q"):
        time.sleep(0.2)  # a frame of work between looks at the keyboard
        key = window.getch()
        while key != -1:
            typed += chr(key)
            key = window.getch()
    return typed

print("typed", curses.wrapper(main))
"""


@pytest.mark.parametrize("way", ["plain", "install", "run"])
def test_a_curses_app_that_polls_between_frames_gets_every_key(shell, tmp_path, way):
    pane = shell(way)
    pane.start(WAYS[way] + [script(tmp_path, POLLING_CURSES)])
    pane.wait_for_file("ready")
    pane.type("hello")
    time.sleep(0.5)
    pane.type("q")
    screen = pane.finished()
    assert "typed helloq" in screen, screen


SIZE_HANDLER = """
import os, signal, sys, time
from ideconsole.progress import Progress
seen, depth, nested = [], [0], [0]
def on_resize(number, frame):
    depth[0] += 1
    nested[0] += depth[0] > 1
    seen.append(os.get_terminal_size().columns)
    time.sleep(0.02)  # a handler that takes a moment (a redraw)
    depth[0] -= 1
signal.signal(signal.SIGWINCH, on_resize)
bar = Progress(1000)
step = 0
while not os.path.exists("resized"):
    step += 1
    bar.update(step, {"loss": 0.5})
    time.sleep(0.01)
time.sleep(0.3)
bar.done({"loss": 0.5})
print("the handler last saw", seen[-1] if seen else None, "columns, nested", nested[0], "times")
"""


@pytest.mark.parametrize("way", ["plain", "install", "run"])
def test_a_scripts_own_resize_handler_sees_the_new_size_and_never_nests(shell, tmp_path, way):
    pane = shell(way)
    pane.start(WAYS[way] + [script(tmp_path, SIZE_HANDLER)])
    time.sleep(1.0)
    pane.pane.resize(60)
    time.sleep(0.3)
    pane.pane.resize(70)
    time.sleep(0.5)
    open(os.path.join(pane.directory, "resized"), "w").close()
    screen = pane.finished()
    assert "the handler last saw 70 columns, nested 0 times" in "\n".join(screen), screen
