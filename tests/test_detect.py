"""Detection: one row per console, with the facts injected; no real Windows or PyCharm."""
import re

import pytest

from ideconsole.detect import Facts, detect, parse_bool, process_rank

TTY = Facts(isatty=True, width=100)
PIPE = Facts(isatty=False)
WIN7 = Facts(isatty=True, width=80, platform="win32", windows_version=(6, 1, 7601),
             vt_enabled=False, codepage=437, encoding="utf-8")
WIN10 = WIN7._replace(windows_version=(10, 0, 19045), vt_enabled=True)

IDLE = "idlelib.run.StdOutputFile"
THONNY = "thonny.plugins.cpython_backend.cp_back.FakeOutputStream"
CONDA_PYCHARM = {"PYCHARM_MATPLOTLIB_INTERACTIVE": "true", "PYCHARM_MATPLOTLIB_INDEX": "0",
                 "PYCHARM_DISPLAY_PORT": "63342", "PYTHONUNBUFFERED": "1"}
NOTEBOOK_COMMAND = {"TERM": "xterm-color", "CLICOLOR": "1", "FORCE_COLOR": "1", "PAGER": "cat",
                    "JPY_PARENT_PID": "4242"}

# facts, environment -> console, mode, colour, unicode, width
TABLE = [
    ("vt terminal", TTY, {"TERM": "xterm-256color"}, "vt", "cr", "ansi", True, 99),
    ("vs code terminal", TTY, {"TERM_PROGRAM": "vscode"}, "vt", "cr", "ansi", True, 99),
    ("tmux", TTY, {"TMUX": "/tmp/tmux-0/default,1,0"}, "vt", "cr", "ansi", True, 99),
    ("windows terminal", WIN10._replace(vt_enabled=False), {"WT_SESSION": "x"}, "vt", "cr", "ansi", True, 79),
    ("pycharm run window", PIPE, {"PYCHARM_HOSTED": "1"}, "pycharm", "cr", "ansi", True, None),
    ("pycharm terminal emulation", TTY, {"PYCHARM_HOSTED": "1", "TERM": "xterm-256color"},
     "vt", "cr", "ansi", True, 99),
    ("pycharm terminal tab", TTY, {"TERMINAL_EMULATOR": "JetBrains-JediTerm"}, "vt", "cr", "ansi", True, 99),
    ("windows 7 cmd", WIN7, {}, "conhost-legacy", "backspace", "win32", False, 79),
    ("windows 10 cmd, vt refused", WIN10._replace(vt_enabled=False), {},
     "conhost-legacy", "backspace", "win32", False, 79),
    ("windows 10 cmd, vt enabled", WIN10, {}, "conhost-vt", "cr", "ansi", True, 79),
    ("jupyter", Facts(ipykernel=True), {"TERM": "xterm-color", "FORCE_COLOR": "1"},
     "jupyter", "cr", "ansi", True, None),
    ("emacs shell", TTY, {"INSIDE_EMACS": "29.1,comint", "TERM": "dumb", "COLUMNS": "70"},
     "dumb", "cr", "ansi", True, 69),
    ("dumb terminal", TTY, {"TERM": "dumb"}, "dumb", "cr", "none", True, 99),
    ("github actions", PIPE, {"CI": "true", "GITHUB_ACTIONS": "true"}, "ci", "lines", "ansi", True, None),
    ("gitlab ci", PIPE, {"CI": "true", "GITLAB_CI": "true"}, "ci", "lines", "ansi", True, None),
    ("generic ci", PIPE, {"CI": "1"}, "ci", "lines", "none", True, None),
    ("ci=false is not ci", PIPE, {"CI": "false"}, "log", "lines", "none", True, None),
    ("log file", PIPE, {}, "log", "lines", "none", True, None),
    ("pycharm, conda: parent is the IDE", PIPE._replace(parents=("/opt/pycharm/bin/pycharm64", "init")),
     CONDA_PYCHARM, "pycharm", "cr", "ansi", True, None),
    ("pycharm, conda run between", PIPE._replace(parents=(
        "/opt/conda/bin/python /opt/conda/bin/conda run -p /envs/tf --no-capture-output python train.py",
        "C:\\Program Files\\JetBrains\\PyCharm\\bin\\pycharm64.exe")), CONDA_PYCHARM,
     "pycharm", "cr", "ansi", True, None),
    ("pycharm, its JVM as parent", PIPE._replace(parents=(
        "/opt/pycharm/jbr/bin/java -Xmx2g -classpath lib/app.jar com.intellij.idea.Main",)), {},
     "pycharm", "cr", "ansi", True, None),
    ("pycharm on macOS", PIPE._replace(parents=("/Applications/PyCharm CE.app/Contents/MacOS/pycharm",)), {},
     "pycharm", "cr", "ansi", True, None),
    ("a pipe that inherited pycharm's variables", PIPE._replace(parents=("python train.py", "pycharm64")),
     CONDA_PYCHARM, "log", "lines", "none", True, None),
    ("pycharm's variables, tree unknown", PIPE, CONDA_PYCHARM, "pycharm", "cr", "ansi", True, None),
    ("pycharm's helpers on PYTHONPATH, tree unknown", PIPE,
     {"PYTHONPATH": "/opt/pycharm/helpers/pycharm_display"}, "pycharm", "cr", "ansi", True, None),
    ("pycharm's debugger, tree unknown",
     PIPE._replace(debugger="/opt/pycharm/plugins/python/helpers/pydev/pydevd.py"),
     {}, "pycharm", "cr", "ansi", True, None),
    ("vs code's debugger is not pycharm", PIPE._replace(
        debugger="/home/u/.vscode/extensions/ms-python.debugpy/bundled/libs/debugpy/_vendored/pydevd/pydevd.py"),
     {"VSCODE_PID": "1"}, "log", "lines", "none", True, None),
    ("pycharm pty mode", Facts(isatty=True, width=None), {"PYCHARM_HOSTED": "1", "TERM": "xterm-256color"},
     "pycharm", "cr", "ansi", True, None),
    ("pycharm pty mode, conda", Facts(isatty=True, width=None, parents=("pycharm64",)), CONDA_PYCHARM,
     "pycharm", "cr", "ansi", True, None),
    ("pycharm terminal emulation, conda", TTY._replace(parents=("pycharm64",)), {"TERM": "xterm-256color"},
     "vt", "cr", "ansi", True, 99),
    ("a file that inherited pycharm's variables", PIPE._replace(regular_file=True, parents=("pycharm64",)),
     CONDA_PYCHARM, "log", "lines", "none", True, None),
    ("idle", Facts(isatty=True, stream_type=IDLE), {"FORCE_COLOR": "1"},
     "idle", "lines", "none", True, None),
    ("idle on python 3.6", Facts(isatty=True, stream_type="idlelib.run.PseudoOutputFile"), {},
     "idle", "lines", "none", True, None),
    ("thonny", Facts(isatty=True, stream_type=THONNY), {},
     "thonny", "cr", "ansi", True, None),
    ("thonny outside tty mode", Facts(stream_type=THONNY), {},
     "thonny", "cr", "ansi", True, None),
    ("thonny by its variables", Facts(isatty=True, stream_type="cp_back.FakeOutputStream"),
     {"THONNY_USER_DIR": "/home/u/.config/Thonny"}, "thonny", "cr", "ansi", True, None),
    ("thonny's system shell is a terminal", TTY._replace(stream_type="_io.TextIOWrapper"),
     {"THONNY_USER_DIR": "/home/u/.config/Thonny"}, "vt", "cr", "ansi", True, 99),
    ("a notebook cell's command", Facts(isatty=True, width=80), NOTEBOOK_COMMAND,
     "jupyter", "cr", "ansi", True, None),
    ("colab's cell command", Facts(isatty=True, width=80), {"TERM": "xterm-color", "COLAB_RELEASE_TAG": "x"},
     "jupyter", "cr", "ansi", True, None),
    ("spyder", Facts(ipykernel=True), {"SPY_UMR_ENABLED": "True", "TERM": "xterm-color"},
     "jupyter", "cr", "ansi", True, None),
    ("vs code debug console", PIPE, {"VSCODE_PID": "1", "PYTHONUNBUFFERED": "1"},
     "log", "lines", "none", True, None),
    ("cp1252 log file", PIPE._replace(encoding="cp1252"), {}, "log", "lines", "none", False, None),
]


@pytest.mark.parametrize("name,facts,env,console,mode,color,unicode,width", TABLE,
                         ids=[row[0] for row in TABLE])
def test_detection_table(name, facts, env, console, mode, color, unicode, width):
    profile = detect(facts, env)
    assert (profile.console, profile.mode, profile.color, profile.unicode, profile.width) == (
        console, mode, color, unicode, width)


def test_every_choice_is_explained():
    profile = detect(WIN7, {})
    explained = dict(profile.reasons)
    assert set(explained) >= {"console", "mode", "color", "unicode", "width"}
    assert "6.1" in explained["console"]
    assert "minus 1" in explained["width"]
    assert "conhost-legacy" in profile.explain()


def test_legacy_console_forced_off_windows_writes_no_escape_codes():
    profile = detect(TTY, {"IDECONSOLE_CONSOLE": "conhost-legacy", "FORCE_COLOR": "1"})
    assert profile.console == "conhost-legacy"
    assert profile.color == "none"
    assert profile.mode == "backspace"


@pytest.mark.parametrize("env,color", [
    ({"NO_COLOR": "1"}, "none"),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, "none"),
    ({"FORCE_COLOR": "0"}, "none"),
    ({"FORCE_COLOR": "off"}, "none"),
    ({"CLICOLOR_FORCE": "false"}, "none"),
])
def test_colour_conventions_on_a_terminal(env, color):
    assert detect(TTY, env).color == color


@pytest.mark.parametrize("env,color", [
    ({"FORCE_COLOR": "1"}, "ansi"),
    ({"CLICOLOR_FORCE": "yes"}, "ansi"),
    ({"FORCE_COLOR": ""}, "none"),
    ({}, "none"),
])
def test_colour_conventions_in_a_file(env, color):
    assert detect(PIPE, env).color == color


def test_tty_compatible_and_interactive():
    assert detect(PIPE, {"TTY_COMPATIBLE": "1"}).console == "vt"
    assert detect(TTY, {"TTY_COMPATIBLE": "0"}).console == "log"
    assert detect(TTY, {"TTY_INTERACTIVE": "0"}).mode == "lines"
    assert detect(TTY, {"TTY_INTERACTIVE": "1"}).mode == "cr"


def test_columns_overrides_the_terminal_and_stops_live_width():
    live = detect(TTY, {})
    fixed = detect(TTY, {"COLUMNS": "42"})
    assert (live.width, live.live_width) == (99, True)  # one short of the last column
    assert (fixed.width, fixed.live_width) == (41, False)
    assert detect(TTY, {"COLUMNS": "junk"}).width == 99


def test_overrides_by_environment_and_api():
    assert detect(PIPE, {"IDECONSOLE_CONSOLE": "pycharm"}).console == "pycharm"
    assert detect(TTY, {"IDECONSOLE_MODE": "lines"}).mode == "lines"
    assert detect(TTY, {"IDECONSOLE_MODE": "lines"}, mode="backspace").mode == "backspace"
    assert detect(TTY, {}, console="jupyter").console == "jupyter"
    assert detect(PIPE, {"IDECONSOLE_INTERVAL": "5"}).interval == 5.0
    assert detect(PIPE, {}, interval=2).interval == 2.0
    assert detect(PIPE, {"IDECONSOLE_INTERVAL": "-1"}).interval == 30.0


def test_interval_0_through_the_api_is_every_update_and_through_the_environment_ignored():
    log = detect(PIPE, {}, interval=0)
    assert log.interval == 0 and "every update" in dict(log.reasons)["interval"]
    assert detect(TTY, {}, interval=0).interval == 0
    typo = detect(PIPE, {"IDECONSOLE_INTERVAL": "0"})  # a typo in the environment never stops training
    assert typo.interval == 30.0
    assert "IDECONSOLE_INTERVAL='0' is not a positive number: ignored" in dict(typo.reasons)["interval"]


@pytest.mark.parametrize("interval", [-1, float("nan"), float("inf"), "10", b"1", False])
def test_a_bad_interval_through_the_api_raises_naming_it(interval):
    with pytest.raises(ValueError, match=r"^interval must be .* not " + re.escape(repr(interval)) + "$"):
        detect(PIPE, {}, interval=interval)


def test_bad_override_through_the_api_raises_and_through_the_environment_falls_back():
    with pytest.raises(ValueError, match="backspace"):
        detect(TTY, {}, mode="sideways")
    profile = detect(TTY, {"IDECONSOLE_CONSOLE": "pycharn", "IDECONSOLE_MODE": "dots"})
    assert (profile.console, profile.mode) == ("vt", "cr")
    reasons = dict(profile.reasons)
    assert "pycharm" in reasons["console"] and "ignored" in reasons["console"]
    assert "dots" in reasons["mode"] and "ignored" in reasons["mode"]


def test_code_page_936_makes_ambiguous_characters_wide():
    assert detect(WIN7._replace(codepage=936), {}).ambiguous_wide
    assert detect(PIPE._replace(encoding="gbk"), {}).ambiguous_wide
    assert not detect(WIN7, {}).ambiguous_wide


@pytest.mark.parametrize("text,value", [
    ("1", True), ("true", True), ("YES", True), ("on", True),
    ("0", False), ("false", False), ("No", False), ("off", False),
    ("", None), (None, None), ("  ", None),
])
def test_parse_bool(text, value):
    assert parse_bool(text) is value


@pytest.mark.parametrize("env,rank", [
    ({}, None),
    ({"RANK": "0"}, 0), ({"RANK": "3", "LOCAL_RANK": "1"}, 3), ({"LOCAL_RANK": "2"}, 2),
    ({"OMPI_COMM_WORLD_RANK": "1"}, 1), ({"SLURM_PROCID": "0"}, 0), ({"HOROVOD_RANK": "5"}, 5),
    ({"JAX_PROCESS_ID": "1"}, 1), ({"PMI_RANK": "4"}, 4),
    ({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}'}, 0),
    ({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}'}, 1),
    ({"TF_CONFIG": '{"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, '
                   '"task": {"type": "worker", "index": 0}}'}, 1),
    ({"TF_CONFIG": '{"cluster": {"chief": ["c:0"]}, "task": {"type": "chief", "index": 0}}'}, 0),
    ({"TF_CONFIG": '{"cluster": {"ps": ["p:0"]}, "task": {"type": "ps", "index": 0}}'}, -1),
    ({"TF_CONFIG": "not json", "RANK": "1"}, 1),  # a broken TF_CONFIG is ignored, RANK still counts
])
def test_rank_of_each_launcher(env, rank):
    assert process_rank(env)[0] == rank


def test_only_rank_0_draws_by_default():
    assert detect(TTY, {"RANK": "0"}).role == "draw"
    assert detect(TTY, {"RANK": "1"}).role == "quiet"
    logging = detect(TTY, {"RANK": "1", "IDECONSOLE_OTHER_RANKS": "log"})
    assert (logging.role, logging.mode) == ("log", "lines")
    assert detect(TTY, {"RANK": "1"}, other_ranks="draw").role == "draw"
    assert "RANK=1" in dict(detect(TTY, {"RANK": "1"}).reasons)["rank"]
    with pytest.raises(ValueError, match="quiet"):
        detect(TTY, {"RANK": "1"}, other_ranks="loud")
    assert detect(TTY, {"RANK": "1", "IDECONSOLE_OTHER_RANKS": "loud"}).role == "quiet"


def test_a_regular_file_is_a_log_even_under_pycharm():
    profile = detect(PIPE._replace(regular_file=True), {"PYCHARM_HOSTED": "1"})
    assert (profile.console, profile.mode, profile.color) == ("log", "lines", "none")
    assert "stdout is a file" in dict(profile.reasons)["console"]
    assert "a pipe" in dict(detect(PIPE, {}).reasons)["console"]


def test_bad_environment_values_are_named_as_ignored():
    explained = dict(detect(PIPE, {"IDECONSOLE_INTERVAL": "fast", "COLUMNS": "wide",
                                   "IDECONSOLE_OTHER_RANKS": "loud"}).reasons)
    assert "IDECONSOLE_INTERVAL='fast' is not a positive number: ignored" in explained["interval"]
    assert "COLUMNS='wide' is not a positive number: ignored" in explained["width"]
    assert "IDECONSOLE_OTHER_RANKS must be one of" in explained["rank"] and "ignored" in explained["rank"]


def test_report_reasons_say_what_applies():
    log = detect(PIPE, {})
    assert log.erase == "none" and "nothing to erase" in dict(log.reasons)["erase"]
    assert "code page" not in log.explain() and "encoding utf_8" in log.explain()
    assert "isatty) (isatty" not in detect(TTY, {}).explain()


# environment -> what a narrower window does to the line on screen
RESIZE_TABLE = [
    ("tmux", {"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "screen"}, "reflow-backspace"),
    ("tmux inside a GNOME Terminal", {"TMUX": "x", "VTE_VERSION": "7200", "XTERM_VERSION": "x"},
     "reflow-backspace"),
    ("GNU screen", {"STY": "1234.pts-0.host"}, "reflow-backspace"),
    ("tmux over ssh", {"TERM": "tmux-256color"}, "reflow-backspace"),
    ("GNOME Terminal", {"VTE_VERSION": "7200", "TERM": "xterm-256color"}, "reflow"),
    ("old VTE", {"VTE_VERSION": "3803"}, "truncate"),
    ("kitty", {"KITTY_WINDOW_ID": "1", "TERM": "xterm-kitty"}, "reflow"),
    ("PyCharm's Terminal tab", {"TERMINAL_EMULATOR": "JetBrains-JediTerm", "TERM": "xterm-256color"},
     "reflow-backspace"),
    ("PyCharm's terminal emulation", {"PYCHARM_HOSTED": "1", "TERM": "xterm-256color"}, "reflow-backspace"),
    ("kitty over ssh", {"TERM": "xterm-kitty"}, "reflow"),
    ("iTerm2", {"TERM_PROGRAM": "iTerm.app"}, "reflow"),
    ("Windows Terminal in WSL", {"WT_SESSION": "x"}, "reflow"),
    ("xterm", {"XTERM_VERSION": "XTerm(379)", "TERM": "xterm"}, "truncate"),
    ("xterm started from a GNOME Terminal", {"XTERM_VERSION": "XTerm(379)", "VTE_VERSION": "7200"},
     "truncate"),
    ("Linux console", {"TERM": "linux"}, "truncate"),
    ("VS Code", {"TERM_PROGRAM": "vscode", "VTE_VERSION": "7200"}, "truncate"),
    ("unknown terminal", {"TERM": "xterm-256color"}, "truncate"),
    ("override", {"TERM": "xterm-256color", "IDECONSOLE_RESIZE": "reflow"}, "reflow"),
    ("bad override", {"XTERM_VERSION": "x", "IDECONSOLE_RESIZE": "wrap"}, "truncate"),
]


@pytest.mark.parametrize("name,env,resize", RESIZE_TABLE, ids=[row[0] for row in RESIZE_TABLE])
def test_resize_behaviour_per_terminal(name, env, resize):
    profile = detect(TTY, env)
    assert profile.resize == resize
    assert dict(profile.reasons)["resize"]


def test_consoles_that_never_move_up_truncate():
    assert detect(PIPE, {"PYCHARM_HOSTED": "1", "TMUX": "x"}).resize == "truncate"
    assert detect(WIN7, {}).resize == "truncate"
    assert detect(WIN10, {}).resize == "reflow"


@pytest.mark.parametrize("locale", ["zh_CN.UTF-8", "ja_JP.UTF-8", "ko_KR.UTF-8"])
def test_east_asian_locales_draw_an_ascii_bar_on_terminals(locale):
    """There the terminal may draw the box characters two cells wide, or one: ASCII has one
    width everywhere."""
    assert not detect(TTY, {"LANG": locale}).unicode
    assert not detect(TTY, {"LANG": "en_US.UTF-8", "LC_ALL": locale}).unicode
    assert detect(TTY, {"LANG": locale, "LC_ALL": "en_US.UTF-8"}).unicode
    assert detect(PIPE, {"LANG": locale, "PYCHARM_HOSTED": "1"}).unicode  # no cells there


WORDY = {"IDECONSOLE_INTERVAL": "fast", "COLUMNS": "wide", "IDECONSOLE_OTHER_RANKS": "loud", "RANK": "3",
         "IDECONSOLE_CONSOLE": "pycharn", "IDECONSOLE_MODE": "dots", "IDECONSOLE_RESIZE": "sideways",
         "LANG": "zh_CN.UTF-8", "TERM_PROGRAM": "vscode"}


@pytest.mark.parametrize("facts", [TTY, PIPE, WIN7, WIN10], ids=["tty", "pipe", "win7", "win10"])
@pytest.mark.parametrize("env", [{}, WORDY, {"TMUX": "/tmp/tmux", "TTY_INTERACTIVE": "0"},
                                 {"VTE_VERSION": "7600", "TF_CONFIG": '{"task": {"type": "ps"}}'}],
                         ids=["plain", "wordy", "tmux", "vte"])
def test_the_report_fits_80_columns_with_each_reason_wrapped_at_words_under_itself(facts, env):
    profile = detect(facts, env)
    lines = profile.explain().split("\n")
    assert max(len(line) for line in lines) < 80, lines
    rows = []
    for line in lines:
        if line.startswith(" "):
            assert line.startswith(" " * 33) and line[33] != " ", line  # under the first line's reason
            rows[-1].append(line)
        else:
            rows.append([line])
    assert len(rows) == len(profile.reasons)
    for (key, why), row in zip(profile.reasons, rows):
        head = "{:<15} {:<16} ".format(key, str(getattr(profile, key)))
        assert row[0].startswith(head), row
        shown = " ".join([row[0][len(head):]] + row[1:])
        assert shown.split() == why.split(), row  # every word whole, none cut in two


# -- thresholds: the values on each side of them --------------------------------------------------


@pytest.mark.parametrize("version,resize", [("3999", "truncate"), ("4000", "reflow"), ("7600", "reflow"),
                                            ("0", "truncate"), ("-4000", "truncate"), ("0.40", "truncate")])
def test_vte_rewraps_lines_from_its_version_0_40_on(version, resize):
    """VTE_VERSION is the version as a number, 4000 for 0.40.0, which began rewrapping."""
    assert detect(TTY, {"VTE_VERSION": version}).resize == resize


@pytest.mark.parametrize("columns,width", [("0", 99), ("-80", 99), ("1", 1), ("2", 1), ("3", 2), ("80", 79)])
def test_columns_leave_the_last_column_free_and_at_least_one(columns, width):
    """The terminal reports 100 columns; a COLUMNS of 0 or less is ignored."""
    assert detect(TTY, {"COLUMNS": columns}).width == width


@pytest.mark.parametrize("rank,role", [("0", "draw"), (" 0 ", "draw"), ("1", "quiet"), ("-1", "quiet"),
                                       ("", "draw"), ("zero", "draw")])
def test_only_rank_0_draws(rank, role):
    assert detect(TTY, {"RANK": rank}).role == role


@pytest.mark.parametrize("version,why", [
    ((6, 1, 7601), "Windows 6.1 console: no virtual-terminal processing"),
    ((6, 3, 9600), "Windows 6.3 console: no virtual-terminal processing"),
    ((10, 0, 10240), "Windows console without virtual-terminal processing")])
def test_a_windows_console_without_vt_names_a_version_that_never_has_it(version, why):
    """Windows 8.1 (6.3) and older cannot have it; Windows 10 can, where the console is not in
    legacy mode."""
    profile = detect(WIN7._replace(windows_version=version), {})
    assert profile.console == "conhost-legacy" and dict(profile.reasons)["console"].startswith(why)


@pytest.mark.parametrize("locale,unicode", [("ko_KR.UTF-8", False), ("ko", False), ("ja_JP.eucJP", False),
                                            ("zh_TW.UTF-8@stroke", False), ("kok_IN.UTF-8", True),
                                            ("zu_ZA.UTF-8", True), ("C.UTF-8", True)])
def test_the_ascii_bar_is_for_east_asian_languages_only(locale, unicode):
    """Korean (ko) is East Asian, Konkani (kok) is not, though its name starts the same."""
    assert detect(TTY, {"LANG": locale}).unicode == unicode


@pytest.mark.parametrize("codepage,wide", [(437, False), (65001, False), (932, True), (936, True),
                                           (949, True), (950, True)])
def test_ambiguous_characters_are_wide_on_east_asian_code_pages(codepage, wide):
    assert detect(WIN7._replace(codepage=codepage), {}).ambiguous_wide == wide


def test_the_report_says_how_pycharm_was_found():
    tree = ("python -m conda run -n tf python train.py", "pycharm64")
    conda = dict(detect(PIPE._replace(parents=tree), {}).reasons)
    assert "the grandparent process is PyCharm, pycharm64 (through conda run)" in conda["console"]
    inherited = dict(detect(PIPE._replace(parents=("python train.py", "pycharm64")), CONDA_PYCHARM).reasons)
    assert inherited["console"].startswith("stdout is a pipe")
    pty_mode = dict(detect(Facts(isatty=True), {"PYCHARM_HOSTED": "1"}).reasons)
    assert "run.processes.with.pty" in pty_mode["console"]


def test_idle_never_gets_colour_and_thonny_honours_no_color():
    assert detect(Facts(isatty=True, stream_type=IDLE), {"CLICOLOR_FORCE": "1"}).color == "none"

    thonny = Facts(isatty=True, stream_type=THONNY)
    assert detect(thonny, {"NO_COLOR": "1"}).color == "none"
    assert detect(thonny, {}).erase == "pad"


@pytest.mark.parametrize("env", [
    {"RANK": "--5"}, {"RANK": "\u00b2"}, {"SLURM_PROCID": "1.5"},
    {"TF_CONFIG": '{"task": {"type": "worker", "index": 1}, "cluster": []}'},
    {"TF_CONFIG": '{"task": {"type": "worker", "index": 1e400}}'},
    {"TF_CONFIG": '["not", "a", "task"]'},
])
def test_a_rank_variable_that_is_no_rank_is_ignored_and_named(env):
    profile = detect(Facts(isatty=True), env)
    assert profile.rank is None and profile.role == "draw"
    why = dict(profile.reasons)["rank"]
    assert "ignored" in why and next(iter(env)) in why, why


@pytest.mark.parametrize("facts,env,console", [
    # `python train.py | tee train.log` in PyCharm's Terminal tab: the shell's stdout is the
    # terminal, not this pipe
    (PIPE._replace(parents=("bash --rcfile jediterm-bash.in -i", "java com.intellij.idea.Main"),
                   passing=(False, False)), {"TERMINAL_EMULATOR": "JetBrains-JediTerm"}, "log"),
    # a remote interpreter: sshd passes the output on to the IDE, PYCHARM_HOSTED is trusted
    (PIPE._replace(parents=("sshd: user@notty", "sshd"), passing=(False, False)), {"PYCHARM_HOSTED": "1"},
     "pycharm"),
    # conda run passing PyCharm's pipe on, seen from Linux
    (PIPE._replace(parents=("/opt/conda/bin/python /opt/conda/bin/conda run -n tf python train.py",
                            "/opt/pycharm/bin/pycharm64"), passing=(True, False)), {}, "pycharm"),
    # a launcher named conda in its arguments only is no conda run
    (PIPE._replace(parents=("python launch.py --env conda", "pycharm64")), {}, "log"),
    # TERM=xterm-color and PAGER=cat alone: a terminal some users set up so
    (TTY, {"TERM": "xterm-color", "PAGER": "cat"}, "vt"),
    # a Tee around stdout in Thonny's system shell
    (TTY._replace(stream_type="__main__.Tee"), {"THONNY_USER_DIR": "/home/a/.thonny"}, "vt"),
])
def test_pycharm_and_others_are_not_seen_where_they_are_not(facts, env, console):
    assert detect(facts, env).console == console, dict(detect(facts, env).reasons)["console"]


def test_pycharms_variables_inherited_into_xterm_are_no_jediterm():
    profile = detect(TTY, {"PYCHARM_HOSTED": "1", "XTERM_VERSION": "XTerm(379)"})
    assert profile.resize == "truncate" and "JediTerm" not in dict(profile.reasons)["console"]
