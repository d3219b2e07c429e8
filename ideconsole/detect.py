"""Which console is this, and how can a status line be drawn on it?

`detect()` is a pure function of the stream's facts and the environment. It returns a
small immutable `Profile` that explains each of its choices (`Profile.reasons`), so a
bug report can say why ideconsole drew what it drew. Nothing here touches a real stream:
gathering the facts is `_compat.probe()`'s job.
"""
import codecs
import json
import math
import numbers
import re
import textwrap
from typing import Mapping, NamedTuple, Optional, Tuple

CONSOLES = ("vt", "pycharm", "conhost-legacy", "conhost-vt", "jupyter", "thonny", "idle", "dumb", "ci", "log")
MODES = ("cr", "backspace", "lines")
# What a narrower window does to the status line on screen: "reflow" rewraps it onto more
# rows, cursor at the end; "reflow-backspace" too, and a backspace climbs back over a wrapped
# row (tmux, GNU screen); "truncate" keeps it on one row.
RESIZES = ("reflow", "reflow-backspace", "truncate")

# Seconds between two redraws of the status line. PyCharm repaints every 200 ms, a
# VT terminal takes 20 redraws a second easily, a log gets a heartbeat now and then.
REDRAW_INTERVAL = {
    "vt": 0.05,
    "conhost-vt": 0.05,
    "conhost-legacy": 0.1,
    "pycharm": 0.2,
    "jupyter": 0.1,
    "thonny": 0.2,
    "dumb": 0.2,
}
HEARTBEAT_INTERVAL = 30.0

CI_VARIABLES = ("GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "JENKINS_URL", "BUILDKITE",
                "CIRCLECI", "TRAVIS", "TEAMCITY_VERSION", "BITBUCKET_BUILD_NUMBER", "CI")
CI_WITH_COLOUR = ("GITHUB_ACTIONS", "GITLAB_CI")
WIDE_CODEPAGES = (932, 936, 949, 950)
WIDE_ENCODINGS = ("gbk", "gb2312", "gb18030", "cp936", "shift_jis", "cp932", "euc_jp",
                  "euc_kr", "cp949", "big5", "cp950")


class Facts(NamedTuple):
    """What could be learnt about the stream and the platform (see `_compat.probe`)."""

    isatty: bool = False
    encoding: str = "utf-8"
    width: Optional[int] = None          # the terminal's columns, when it has any
    platform: str = "linux"              # sys.platform
    windows_version: Optional[Tuple[int, int, int]] = None  # (major, minor, build)
    vt_enabled: Optional[bool] = None    # Windows console: could VT processing be turned on?
    codepage: Optional[int] = None       # Windows console output code page
    ipykernel: bool = False              # an ipykernel OutStream (Jupyter, Colab, Spyder)
    regular_file: bool = False           # a file on disk (`> train.log`): a log, whatever the environment
    stream_type: str = ""                # the stream's class, "module.Name" ("idlelib.run.StdOutputFile")
    parents: Optional[Tuple[str, ...]] = None  # command lines of the parent, grandparent...; None: unknown
    passing: Optional[Tuple[bool, ...]] = None  # whether each of them has this very stdout; None: unknown
    debugger: str = ""                   # the file of the pydevd module loaded, if any


class Profile(NamedTuple):
    """How to draw on one console. `reasons` holds (choice, why) pairs."""

    console: str
    mode: str                 # "cr", "backspace" or "lines"
    color: str                # "ansi", "win32" (colorama converts) or "none"
    unicode: bool             # can the console draw the bar's box characters?
    width: Optional[int]      # usable cells for a transient line; None when unbounded
    live_width: bool          # re-read the width on each redraw (window resizes)
    ambiguous_wide: bool      # East Asian ambiguous characters take two cells
    erase: str                # after a CR redraw: "csi" (ESC[K), "pad" (spaces) or "none"
    interval: float           # seconds between redraws (heartbeat interval for lines)
    rank: Optional[int] = None  # this process's rank in a multi-process run, if any
    role: str = "draw"        # "draw"; other ranks: "quiet" or "log" (lines tagged with the rank)
    encoding: str = "utf-8"   # what the console shows: a character it cannot encode becomes "?"
    resize: str = "truncate"  # what a narrower window does to the line on screen (see RESIZES)
    reasons: Tuple[Tuple[str, str], ...] = ()

    def explain(self) -> str:
        return "\n".join(explained_row(key, value, why) for key, value, why in self._explained())

    def _explained(self):
        values = self._asdict()
        return [(key, values[key], why) for key, why in self.reasons]


REPORT_WIDTH = 79  # `python -m ideconsole` stays inside an 80-column terminal, which never wraps it


def explained_row(key: str, value, why: str) -> str:
    """A row of the report: a choice, its value and why, the why wrapped at words under
    itself (a word is cut only where it is wider than the column: a junk value of COLUMNS)."""
    head = "{:<15} {:<16} ".format(key, str(value))
    return "\n".join(textwrap.wrap(why, REPORT_WIDTH, initial_indent=head, subsequent_indent=" " * 33,
                                   break_on_hyphens=False)) or head.rstrip()


TRUE_WORDS = ("1", "true", "yes", "on", "y", "t")
FALSE_WORDS = ("0", "false", "no", "off", "n", "f")


def parse_bool(value: Optional[str], strict: bool = False) -> Optional[bool]:
    """`1/true/yes/on` -> True, `0/false/no/off` -> False, unset or empty -> None; any other
    word is True, or, `strict`, None (not a boolean: ignored)."""
    if value is None:
        return None
    value = value.strip().lower()
    if not value:
        return None
    if value in FALSE_WORDS:
        return False
    return True if value in TRUE_WORDS or not strict else None


def _positive_int(value: Optional[str]) -> Optional[int]:
    try:
        number = int(value) if value is not None else 0
    except ValueError:
        return None
    return number if number > 0 else None


def _positive_float(value: Optional[str]) -> Optional[float]:
    try:
        number = float(value) if value is not None else 0.0
    except ValueError:
        return None
    return number if number > 0 and math.isfinite(number) else None


def checked_interval(value) -> Optional[float]:
    """An interval given through the API (`Console`, `Progress`): None (the console's own), or
    seconds, a finite number 0 or more; 0 draws every update, as Keras's `Progbar(interval=0)`.
    Anything else raises ValueError naming it, where it is given: later it would lose lines."""
    if value is None:
        return None
    real = isinstance(value, numbers.Real) or (  # a Decimal is a number, but no Real
        isinstance(value, numbers.Number) and not isinstance(value, numbers.Complex))
    if real and not isinstance(value, bool):
        try:
            seconds = float(value)  # a Decimal, a numpy scalar, a huge int (OverflowError)
        except (TypeError, ValueError, OverflowError):
            seconds = float("nan")
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    raise ValueError("interval must be a number of seconds, 0 or more (0: every update), not {!r}".format(
        value))


def _choice(value: Optional[str], allowed: Tuple[str, ...], name: str) -> Optional[str]:
    if value is None or not value.strip():
        return None
    value = value.strip().lower()
    if value not in allowed:
        raise ValueError("{} must be one of {}, not {!r}".format(name, ", ".join(allowed), value))
    return value


def _override(value, env: Mapping[str, str], variable: str, allowed, name: str):
    """A choice made through the API, else through the environment variable: (choice,
    why), or (None, None) when neither makes one."""
    chosen = _choice(value, allowed, name)
    if chosen:
        return chosen, "chosen through the API"
    try:
        chosen = _choice(env.get(variable), allowed, variable)
    except ValueError as error:  # a typo in the environment must not stop training
        return None, "{}: ignored".format(error)
    if chosen:
        return chosen, "{}={}".format(variable, chosen)
    return None, None


# The IDE behind a process, by its command line: PyCharm's (and IntelliJ IDEA's, DataSpell's)
# launcher, or the IDE's JVM started by a script (src: JetBrains/intellij-community).
JETBRAINS_IDE = re.compile(
    r"(?:^|[\\/])(?:pycharm|pycharm64|idea|idea64|dataspell|dataspell64)(?:\.exe|\.sh)?(?:\s|$)"
    r"|com\.intellij\.idea\.Main|(?:PyCharm|DataSpell|IntelliJ IDEA)[^\\/]*\.app[\\/]", re.I)
# What may stand between the IDE and the training process passing its pipe on, where that
# cannot be seen (outside Linux): `conda run` (PyCharm's way to start a Conda interpreter, src:
# CondaPythonExec.kt), and a shell running one command.
CONDA = ("conda", "conda.exe", "conda-script.py", "mamba", "mamba.exe", "micromamba", "micromamba.exe")
SHELLS = ("sh", "bash", "dash", "zsh", "cmd", "cmd.exe")
PYTHONS = re.compile(r"^(?:python[0-9.]*|pythonw?(?:\.exe)?)$", re.I)
# Set by PyCharm for what it runs, Conda interpreters included: its matplotlib and display
# support (src: JetBrains/intellij-community python/helpers, PyCharm's run configurations).
PYCHARM_VARIABLES = ("PYCHARM_MATPLOTLIB_INTERACTIVE", "PYCHARM_MATPLOTLIB_INDEX", "PYCHARM_DISPLAY_PORT")
PYCHARM_HELPERS = ("pycharm_matplotlib_backend", "pycharm_display")
# What an ipykernel gives the commands a notebook cell runs (src: ipython/ipykernel
# zmqshell.py init_environment), and the variables of the hosted notebooks.
NOTEBOOK_VARIABLES = ("JPY_PARENT_PID", "COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE")


def _program(command: str) -> str:
    words = command.split()
    return words[0].replace("\\", "/").rsplit("/", 1)[-1] if words else ""


def _launcher(command: str, rest: Tuple[str, ...]) -> Optional[str]:
    """What a launcher that passes its stdout on is called, judged from its command line."""
    words = [word.replace("\\", "/").rsplit("/", 1)[-1] for word in command.split()[:3]]
    if any(word.lower() in CONDA for word in words[:1] + [word for word in words[1:3] if word != "-m"][:1]):
        return "conda run"
    if words and words[0].lower() in SHELLS and ("-c" in command.split() or "/c" in command.lower().split()):
        return words[0]
    if words and PYTHONS.match(words[0]) and rest and _program(rest[0]).lower() in CONDA:
        return "conda run"  # Windows: conda.exe starts python.exe conda-script.py
    return None


def _ide_parent(parents: Tuple[str, ...], passing: Optional[Tuple[bool, ...]] = None) -> Optional[str]:
    """How the IDE is found among the parents, through processes that pass this stdout on
    (seen where `passing` is known, judged from their names elsewhere); None when the nearest
    other program (a shell in a terminal, a script that pipes its child's output) comes first."""
    through = []
    for index, command in enumerate(parents):
        if JETBRAINS_IDE.search(command):
            name = _program(command) or command
            if "com.intellij.idea.Main" in command:
                name = "its JVM (com.intellij.idea.Main)"
            place = ("parent", "grandparent")[len(through)] if len(through) < 2 else "ancestor"
            return "the {} process is PyCharm, {}{}".format(
                place, name, " (through {})".format(", ".join(through)) if through else "")
        if passing is not None and index < len(passing):
            if not passing[index]:
                return None
            name = _program(command)
            through.append("conda run" if _launcher(command, parents[index + 1:]) == "conda run" else name)
            continue
        launcher = _launcher(command, parents[index + 1:])
        if not launcher:
            return None
        through.append(launcher)
    return None


def _pycharm(facts: Facts, env: Mapping[str, str]) -> Optional[str]:
    """Why this process's output goes to PyCharm, or None. Without PYCHARM_HOSTED (Conda
    interpreters: src: CondaEnvSdkFlavor) the process tree says it; where it cannot be
    read, what PyCharm sets does. PYCHARM_HOSTED is trusted as PyCharm's word (remote
    interpreters have no IDE in their tree)."""
    if env.get("PYCHARM_HOSTED"):
        return "PYCHARM_HOSTED is set"
    if facts.parents is not None:
        return _ide_parent(facts.parents, facts.passing)
    marks = [name for name in PYCHARM_VARIABLES if env.get(name)]
    path = env.get("PYTHONPATH", "")
    marks += [helper + " on PYTHONPATH" for helper in PYCHARM_HELPERS if helper in path]
    debugger = facts.debugger.replace("\\", "/")
    if "/helpers/pydev/" in debugger or "pycharm" in debugger.lower():
        marks.append("PyCharm's debugger")
    if marks:
        return "{} (the process tree is unknown)".format(", ".join(marks))
    return None


def _notebook_command(env: Mapping[str, str]) -> Optional[str]:
    if env.get("TERM") != "xterm-color":
        return None
    for name in NOTEBOOK_VARIABLES:  # (PAGER=cat too, but some terminals' users set it)
        if env.get(name):
            return "TERM=xterm-color and {} are what a notebook's kernel gives a command".format(name)
    return None


OTHER_TERMINALS = ("XTERM_VERSION", "TMUX", "STY", "VTE_VERSION", "TERM_PROGRAM", "KITTY_WINDOW_ID",
                   "WT_SESSION", "ALACRITTY_WINDOW_ID", "KONSOLE_VERSION", "WEZTERM_PANE")


def _jediterm(facts: Facts, env: Mapping[str, str]) -> bool:
    """A terminal PyCharm's variables lead to is JediTerm, unless another terminal says it is
    the one (PyCharm's variables inherited into xterm or tmux, where the tree cannot tell)."""
    if env.get("TERMINAL_EMULATOR") == "JetBrains-JediTerm":
        return True
    return facts.passing is not None or not any(env.get(name) for name in OTHER_TERMINALS)


def _thonny(facts: Facts, env: Mapping[str, str]) -> bool:
    """Thonny's backend replaces sys.stdout by a stream of its own (src: thonny/thonny
    cp_back.py FakeOutputStream); its system shell, a real terminal, keeps Python's."""
    if facts.stream_type.startswith("thonny."):
        return True
    # its class by name where Thonny's backend runs as a script; a stream that merely wraps
    # Python's (a Tee, colorama) in Thonny's system shell is a terminal's
    thonnys = facts.stream_type.endswith(".FakeOutputStream")
    return thonnys and bool(env.get("THONNY_USER_DIR") or env.get("THONNY_VERSION"))


def _console(facts: Facts, env: Mapping[str, str], terminal: bool):
    if facts.stream_type.startswith("idlelib."):
        return "idle", ("IDLE's shell ({}): it shows \\r, \\b and escape codes as they are: complete lines "
                        "only".format(facts.stream_type.rsplit(".", 1)[-1]))
    if _thonny(facts, env):
        return "thonny", ("Thonny's shell ({}): \\r overwrites without clearing, ESC[K and cursor "
                          "moves are dropped".format(facts.stream_type.rsplit(".", 1)[-1] or "THONNY_* set"))
    if facts.ipykernel and not facts.isatty:
        if any(name.startswith("SPY_") for name in env):
            return "jupyter", ("an ipykernel stream in Spyder's console (SPY_* is set), where ESC[J "
                               "would wipe the whole console")
        return "jupyter", "an ipykernel stream (Jupyter, Colab or Spyder)"
    where = "a file" if facts.regular_file else "a pipe"
    if facts.regular_file and not terminal:  # PYCHARM_HOSTED is inherited by `> log` children too
        return "log", "stdout is a file"
    pycharm = _pycharm(facts, env)
    if pycharm and not terminal:
        return "pycharm", pycharm + " and stdout is a pipe: PyCharm's run window"
    if pycharm and facts.isatty and not facts.width and facts.platform != "win32":
        # run.processes.with.pty: a pseudo terminal that no window ever sized (pty4j sets a
        # size only when asked), read by the run window; JediTerm sizes its own.
        return "pycharm", pycharm + (" and stdout is a pseudo terminal without a size: PyCharm's run window "
                                     "(run.processes.with.pty)")
    if not terminal:
        for name in CI_VARIABLES:
            if parse_bool(env.get(name)):
                return "ci", "{} is set and stdout is {}".format(name, where)
        return "log", "stdout is " + where
    notebook = _notebook_command(env)
    if notebook:
        return "jupyter", notebook + ": its output area, not a terminal, shows the pseudo terminal's bytes"
    if env.get("INSIDE_EMACS") or env.get("TERM") == "dumb":
        return "dumb", "INSIDE_EMACS is set" if env.get("INSIDE_EMACS") else "TERM=dumb"
    if facts.platform == "win32":
        if env.get("WT_SESSION"):
            return "vt", "WT_SESSION is set: Windows Terminal"
        if env.get("ANSICON") or env.get("ConEmuANSI", "").upper() == "ON":
            return "vt", "an ANSI-capable console host (ANSICON or ConEmu)"
        if env.get("TERM"):
            return "vt", "TERM={} on Windows (mintty, MSYS or Cygwin)".format(env["TERM"])
        if facts.vt_enabled:
            return "conhost-vt", "Windows console with virtual-terminal processing enabled"
        version = facts.windows_version
        why = "Windows console without virtual-terminal processing"
        if version and version[:2] <= (6, 3):
            why = "Windows {}.{} console: no virtual-terminal processing".format(*version[:2])
        return "conhost-legacy", why
    if env.get("TERMINAL_EMULATOR") == "JetBrains-JediTerm":
        return "vt", "JetBrains' terminal (TERMINAL_EMULATOR=JetBrains-JediTerm)"
    if pycharm and _jediterm(facts, env):
        return "vt", pycharm + (" and stdout is a sized pseudo terminal: PyCharm's terminal emulation "
                                "(JediTerm)")
    if env.get("TERM_PROGRAM") == "vscode":
        return "vt", "VS Code's terminal"
    if env.get("TMUX"):
        return "vt", "a terminal inside tmux"
    return "vt", "a terminal"


def _color(console: str, facts: Facts, env: Mapping[str, str]):
    native = "win32" if facts.platform == "win32" else "none"
    if console == "idle":
        return "none", "IDLE's shell shows escape codes as text, whatever is forced"
    if env.get("NO_COLOR"):
        return "none", "NO_COLOR is set"
    forced = None
    for name in ("FORCE_COLOR", "CLICOLOR_FORCE"):
        value = parse_bool(env.get(name))
        if value is not None:
            forced = (value, "{}={}".format(name, env[name]))
            break
    if forced and not forced[0]:
        return "none", forced[1]
    if console == "conhost-legacy":
        if native == "win32":
            return "win32", "legacy console: colorama turns colours into console calls"
        return "none", "legacy console profile off Windows: no escape code may be written"
    if forced:
        return "ansi", forced[1]
    if console in ("vt", "conhost-vt", "pycharm", "jupyter", "thonny"):
        return "ansi", "{} shows SGR colours".format(console)
    if console == "dumb" and env.get("INSIDE_EMACS"):
        return "ansi", "Emacs renders SGR colours"
    if console == "ci":
        for name in CI_WITH_COLOUR:
            if env.get(name):
                return "ansi", "{}'s log viewer renders colours".format(name)
    return "none", "{} does not render colours".format(console)


def usable_width(console: str, columns: int) -> int:
    """Cells a transient line may take on a console that wraps: one short of the last
    column. conhost moves to the next row as soon as the last column is written, and a VT
    terminal parks the cursor on it, where ESC[K erases the character just written."""
    return max(columns - 1, 1)


# Terminals that rewrap the line holding the cursor when the window narrows, and keep the
# cursor at its end: (environment variable, value prefix or None for any value, name).
REFLOWING = (
    ("TERM_PROGRAM", "iTerm.app", "iTerm2"),
    ("TERM_PROGRAM", "Apple_Terminal", "macOS Terminal"),
    ("TERM_PROGRAM", "WezTerm", "WezTerm"),
    ("TERM_PROGRAM", "ghostty", "Ghostty"),
    ("KITTY_WINDOW_ID", None, "kitty"),
    ("WT_SESSION", None, "Windows Terminal"),
    ("ALACRITTY_WINDOW_ID", None, "Alacritty"),
    ("TERM", "xterm-kitty", "kitty"),
    ("TERM", "alacritty", "Alacritty"),
    ("TERM", "foot", "foot"),
    ("TERM", "wezterm", "WezTerm"),
    ("TERM", "xterm-ghostty", "Ghostty"),
)
# Terminals that leave the cursor's line on one row: moving up would erase someone else's.
TRUNCATING = (
    ("XTERM_VERSION", None, "xterm keeps rows as they are"),
    ("TERM", "linux", "the Linux console cuts rows"),
    ("TERM_PROGRAM", "vscode", "VS Code's terminal (xterm.js) leaves the cursor's line alone"),
    ("TERM_PROGRAM", "Hyper", "Hyper (xterm.js) leaves the cursor's line alone"),
    ("TERM_PROGRAM", "Tabby", "Tabby (xterm.js) leaves the cursor's line alone"),
)


def _marked(env: Mapping[str, str], marks):
    for name, prefix, what in marks:
        value = env.get(name)
        if value and (prefix is None or value.startswith(prefix)):
            return "{} ({}={})".format(what, name, value if prefix else "...")
    return None


def _resize(console: str, env: Mapping[str, str], jediterm: bool = False):
    """What a narrower window does to the status line on screen. Guessing "reflow" wrongly
    would erase a line above the bar; guessing "truncate" wrongly leaves a fragment of an
    old bar: so only terminals known to reflow get "reflow"."""
    if console == "conhost-vt":
        return "reflow", "the Windows console rewraps its buffer on resize"
    if console != "vt":
        return "truncate", "{} redraws without moving up: nothing to redo after a resize".format(console)
    # tmux and screen tell the program about a resize later than they rewrap (tmux: up to
    # 250 ms), so a width read now can be out of date; their backspace is not.
    backs = "; backspace climbs back over wrapped rows"
    if env.get("TMUX"):
        return "reflow-backspace", "tmux rewraps lines on resize (TMUX is set)" + backs
    if env.get("STY"):
        return "reflow-backspace", "GNU screen rewraps lines on resize (STY is set)" + backs
    if jediterm or env.get("TERMINAL_EMULATOR") == "JetBrains-JediTerm":
        # src: JetBrains/jediterm ChangeWidthOperation (rewrap), JediTerminal.backspace()
        return "reflow-backspace", "JetBrains' terminal (JediTerm) rewraps lines on resize" + backs
    term = env.get("TERM", "")
    if term.startswith(("tmux", "screen")):
        return "reflow-backspace", "TERM={}: tmux or GNU screen, both rewrap lines on resize{}".format(
            term, backs)
    truncating = _marked(env, TRUNCATING)
    if truncating:
        return "truncate", truncating
    reflowing = _marked(env, REFLOWING)
    vte = _positive_int(env.get("VTE_VERSION"))
    if not reflowing and vte and vte >= 4000:  # 0.40 added rewrapping
        reflowing = "VTE {} (GNOME Terminal, Tilix, Terminator...)".format(vte)
    if reflowing:
        return "reflow", reflowing + " rewraps lines on resize"
    return "truncate", ("unknown terminal: never erase above the bar (a terminal that rewraps may keep a "
                        "piece of a bar after narrowing; IDECONSOLE_RESIZE=reflow if yours does)")


CJK_LANGUAGES = ("zh", "ja", "ko")


def _locale(env: Mapping[str, str]) -> str:
    """The character-type locale, as the C library picks it."""
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        if env.get(name):
            return env[name]
    return ""


def _can_encode(encoding: str, text: str) -> bool:
    try:
        codecs.encode(text, encoding)
    except (LookupError, UnicodeError):
        return False
    return True


_RANK = re.compile(r"-?[0-9]+\Z")  # ASCII digits only: int() takes no "²"
RANK_VARIABLES = ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "HOROVOD_RANK",
                  "SLURM_PROCID", "JAX_PROCESS_ID", "LOCAL_RANK")
ROLES = ("draw", "quiet", "log")


def process_rank(env: Mapping[str, str]) -> Tuple[Optional[int], str]:
    """This process's rank in a multi-process run (0 draws progress), and where it came
    from: TF_CONFIG (MultiWorkerMirroredStrategy) or a launcher's rank variable."""
    config = env.get("TF_CONFIG")
    ignored = []
    if config:
        try:
            parsed = json.loads(config)
            task, cluster = parsed.get("task", {}), parsed.get("cluster", {})
            kind, index = task.get("type"), int(task.get("index", 0))
            chief = bool(cluster.get("chief") or cluster.get("master")) if kind == "worker" else False
        except (ValueError, AttributeError, TypeError, OverflowError):
            kind, index, chief = None, 0, False
            ignored.append("TF_CONFIG is not valid JSON with a task and a cluster: ignored")
        if kind in ("chief", "master"):
            return 0, "TF_CONFIG: {} {}".format(kind, index)
        if kind == "worker":
            return index + chief, "TF_CONFIG: worker {}".format(index)
        if kind:
            return -1, "TF_CONFIG: {} {} (never the chief)".format(kind, index)
    for name in RANK_VARIABLES:
        value = env.get(name, "").strip()
        if _RANK.match(value):
            return int(value), "{}={}".format(name, value)
        if value:
            ignored.append("{}={!r} is not a rank: ignored".format(name, value))
    return None, "; ".join(["no rank variable: a single process"] + ignored)


def detect(facts: Facts, env: Mapping[str, str], console: Optional[str] = None,
           mode: Optional[str] = None, interval: Optional[float] = None,
           other_ranks: Optional[str] = None) -> Profile:
    """Choose a profile. `console`/`mode`/`interval`/`other_ranks` override the
    environment's IDECONSOLE_CONSOLE, IDECONSOLE_MODE, IDECONSOLE_INTERVAL and
    IDECONSOLE_OTHER_RANKS; IDECONSOLE_RESIZE (one of RESIZES) says what the terminal does
    on a resize. A bad argument raises ValueError naming the allowed values; a bad
    environment value is ignored, and the profile's reasons say so."""
    interval = checked_interval(interval)
    reasons = []
    terminal = parse_bool(env.get("TTY_COMPATIBLE"))
    terminal_why = "TTY_COMPATIBLE={}".format(env.get("TTY_COMPATIBLE"))
    if terminal is None:
        terminal, terminal_why = facts.isatty, "isatty() is {}".format(facts.isatty)

    chosen, ignored = _override(console, env, "IDECONSOLE_CONSOLE", CONSOLES, "console")
    why = ignored
    if not chosen:
        chosen, why = _console(facts, env, terminal)
        why = "{} ({}{})".format(why, terminal_why, "; " + ignored if ignored else "")
    reasons.append(("console", why))

    default_mode = {"conhost-legacy": "backspace", "ci": "lines", "log": "lines",
                    "idle": "lines"}.get(chosen, "cr")
    mode_why = "{} redraws {}".format(chosen, {"cr": "with carriage returns",
                                                "backspace": "reliably with backspaces",
                                                "lines": "nothing: one line per update"}[default_mode])
    if chosen in ("vt", "conhost-vt", "dumb") and parse_bool(env.get("TTY_INTERACTIVE")) is False:
        default_mode, mode_why = "lines", "TTY_INTERACTIVE={}".format(env["TTY_INTERACTIVE"])
    forced_mode, forced_why = _override(mode, env, "IDECONSOLE_MODE", MODES, "mode")
    if forced_mode:
        default_mode, mode_why = forced_mode, forced_why
    elif forced_why:
        mode_why += "; " + forced_why
    rank, rank_why = process_rank(env)
    role = "draw"
    chosen_role, role_why = _override(other_ranks, env, "IDECONSOLE_OTHER_RANKS", ROLES, "other_ranks")
    if not chosen_role and role_why:
        rank_why += "; " + role_why
    if rank not in (None, 0):
        role = chosen_role or "quiet"
        rank_why += "; not rank 0: {}".format(
            {"quiet": "no progress output (IDECONSOLE_OTHER_RANKS=log|draw to change)",
             "log": "plain lines tagged with the rank", "draw": "draws anyway"}[role])
        if role == "log":
            default_mode, mode_why = "lines", "a rank other than 0 writing log lines"
    reasons.append(("mode", mode_why))
    reasons.append(("rank", rank_why))

    color, color_why = _color(chosen, facts, env)
    reasons.append(("color", color_why))

    locale = _locale(env)
    if chosen == "conhost-legacy":
        unicode, unicode_why = False, "the legacy console's raster font cannot draw box characters"
    elif chosen == "vt" and re.split("[_.@]", locale)[0] in CJK_LANGUAGES:  # "ko_KR", not "kok_IN"
        unicode, unicode_why = False, ("{}: East Asian terminals draw the bar's box characters one or two "
                                       "cells wide, as set; ASCII has one width everywhere".format(locale))
    elif _can_encode(facts.encoding, "\u2501\u2588\u2026"):
        unicode, unicode_why = True, "{} encodes box characters".format(facts.encoding)
    else:
        unicode, unicode_why = False, "{} cannot encode box characters".format(facts.encoding)
    reasons.append(("unicode", unicode_why))

    columns = _positive_int(env.get("COLUMNS"))
    bad_columns = "" if columns or not env.get("COLUMNS", "").strip() else (
        "COLUMNS={!r} is not a positive number: ignored; ".format(env["COLUMNS"]))
    live_width = False
    if chosen in ("pycharm", "jupyter", "thonny", "idle", "ci", "log"):
        width, width_why = columns, ("COLUMNS={}".format(columns) if columns
                                     else "{} does not wrap lines: unbounded".format(chosen))
    elif columns:
        width, width_why = columns, "COLUMNS={}".format(columns)
    elif facts.width:
        width, width_why, live_width = facts.width, "the terminal reports it", True
    else:
        width, width_why = 80, "unknown: assumed 80"
    if width and chosen in ("vt", "conhost-vt", "conhost-legacy", "dumb"):
        width = usable_width(chosen, width)
        width_why += "; minus 1: {}".format(
            "conhost wraps as soon as the last column is written" if chosen.startswith("conhost") else
            "the cursor waits on the last column, where ESC[K would erase the character written there")
    reasons.append(("width", bad_columns + width_why))

    resize, resize_why = _override(None, env, "IDECONSOLE_RESIZE", RESIZES, "resize")
    if resize is None:
        resize, why = _resize(chosen, env, chosen == "vt" and _pycharm(facts, env) is not None
                              and _jediterm(facts, env))
        resize_why = why + ("; " + resize_why if resize_why else "")
    reasons.append(("resize", resize_why))

    encoding = facts.encoding.lower().replace("-", "_")
    ambiguous_wide = facts.codepage in WIDE_CODEPAGES or encoding in WIDE_ENCODINGS
    source = "code page {}".format(facts.codepage) if facts.codepage else "encoding {}".format(encoding)
    reasons.append(("ambiguous_wide", "{}: East Asian ambiguous characters take {}".format(
        source, "two cells" if ambiguous_wide else "one cell")))

    erase = {"vt": "csi", "conhost-vt": "csi", "pycharm": "none"}.get(chosen, "pad")
    if (chosen == "dumb" and env.get("INSIDE_EMACS")) or default_mode == "lines":
        erase = "none"
    reasons.append(("erase", "nothing to erase: every update is a line of its own" if default_mode == "lines"
                    else {"csi": "ESC[K clears the rest of the line",
                          "none": "a carriage return replaces the whole line",
                          "pad": "spaces overwrite the rest of the line"}[erase]))

    variable = env.get("IDECONSOLE_INTERVAL", "").strip()
    from_env = _positive_float(variable) if variable else None
    if variable and not from_env:
        ignored_interval = "; IDECONSOLE_INTERVAL={!r} is not a positive number: ignored".format(variable)
    elif variable and default_mode != "lines":
        ignored_interval = "; IDECONSOLE_INTERVAL sets the heartbeat of logs only"
    else:
        ignored_interval = ""
    what = "heartbeat" if default_mode == "lines" else "redraw interval"
    if interval is not None:
        seconds = interval
        interval_why = "{}, from the API{}".format(what, ": every update" if interval == 0 else "")
    elif default_mode == "lines":
        seconds = from_env or HEARTBEAT_INTERVAL
        interval_why = "heartbeat, from IDECONSOLE_INTERVAL" if from_env else "heartbeat"
        interval_why += ignored_interval
    else:
        seconds = REDRAW_INTERVAL.get(chosen, 0.1)
        interval_why = "redraw rate {} can show".format(chosen) + ignored_interval
    reasons.append(("interval", interval_why))

    shown_encoding = facts.encoding
    if chosen == "conhost-legacy" and facts.codepage:  # it draws its code page, whatever Python encodes
        shown_encoding = "cp{}".format(facts.codepage)
    return Profile(console=chosen, mode=default_mode, color=color, unicode=unicode,
                   width=width, live_width=live_width, ambiguous_wide=ambiguous_wide,
                   erase=erase, interval=seconds, rank=rank, role=role, encoding=shown_encoding,
                   resize=resize,
                   reasons=tuple(reasons))
