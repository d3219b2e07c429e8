"""tqdm's bars through ideconsole, replayed through the console models: nested bars (two and
three levels, `leave` both ways, `position` given or not), `tqdm.write` mid-bar, total=None
and tqdm's options, alone and next to a Keras-style bar; then whole scripts under a real
terminal, a PyCharm pipe, the Windows 7 console profile and a log file, a tqdm loop inside a
real Keras epoch included."""
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from conftest import flavour_params
from consoles import VT, LegacyConhost, LogReader, PyCharm
from test_pty import clean_environment, run_in_terminal
from test_tmux import PAUSE, Pane

from ideconsole import _compat
from ideconsole import console as console_module
from ideconsole.progress import Progress

try:
    import tqdm as tqdm_package

    from ideconsole.tqdm import tqdm, trange
except ImportError:  # Python 3.6 envs without tqdm
    pytest.skip("tqdm is not installed here (tox installs it)", allow_module_level=True)

CONSOLES = ("vt80", "pycharm", "conhost-437", "log", "gitlab")


@pytest.fixture(autouse=True)
def no_monitor_thread(monkeypatch):
    monkeypatch.setattr(tqdm_package.std.tqdm, "monitor_interval", 0)


@pytest.fixture
def on(make_setup, monkeypatch):
    """A console of the given kind on which stdout and stderr end in one place (a
    terminal, PyCharm's run window, `> log 2>&1`), shared by every bar as in a program."""
    def setup(name, **options):
        result = make_setup(name, **options)
        monkeypatch.setitem(console_module._consoles, id(result.stdout), result.console)
        monkeypatch.setattr(_compat, "same_destination", lambda one, other: True)
        return result
    return setup


def bars(lines, text):
    return [line for line in lines if text in line]


def nested(levels=2, leave_inner=False, positions=False, steps=(3, 4, 5), write_at=None, pause=0.0):
    """Nested loops, as a training script writes them; `write_at` (outer step, inner step)
    says where the innermost loop calls tqdm.write."""
    names = ("outer", "inner") if levels == 2 else ("outer", "middle", "inner")

    def loop(level, path):
        options = dict(desc=names[level], mininterval=0, leave=level == 0 or leave_inner)
        if positions:
            options["position"] = level
        for step in trange(steps[level], **options):
            if level + 1 < levels:
                loop(level + 1, path + (step,))
            else:
                time.sleep(pause)
                if write_at == path + (step,):
                    tqdm.write("a line written mid-bar")
    loop(0, ())


@pytest.mark.parametrize("name", CONSOLES)
@pytest.mark.parametrize("positions", [False, True], ids=["position-free", "position-given"])
def test_nested_bars_leave_only_the_outer_line(on, name, positions):
    setup = on(name)
    nested(positions=positions)
    lines = setup.screen().lines()
    assert bars(lines, "outer") == [line for line in lines if line.startswith("outer: 100%")], lines
    assert len(bars(lines, "outer")) == 1 and not bars(lines, "inner"), lines
    assert "3/3" in bars(lines, "outer")[0]


@pytest.mark.parametrize("name", CONSOLES)
def test_inner_bars_kept_with_leave_show_each_run_once(on, name):
    setup = on(name)
    nested(leave_inner=True)
    lines = setup.screen().lines()
    assert [line.split("|")[0].split("%")[0] for line in lines] == ["inner: 100"] * 3 + ["outer: 100"], lines
    assert all("4/4" in line for line in bars(lines, "inner")), lines


@pytest.mark.parametrize("name", CONSOLES)
@pytest.mark.parametrize("positions", [False, True], ids=["position-free", "position-given"])
def test_three_levels(on, name, positions):
    setup = on(name)
    nested(levels=3, leave_inner=True, positions=positions, steps=(2, 2, 3))
    lines = setup.screen().lines()
    assert len(bars(lines, "inner: 100%")) == 4 and len(bars(lines, "middle: 100%")) == 2, lines
    assert lines[-1].startswith("outer: 100%") and len(bars(lines, "outer")) == 1, lines
    assert not [line for line in lines if "%" in line and "100%" not in line], lines


@pytest.mark.parametrize("name", CONSOLES)
def test_tqdm_write_mid_bar_lands_intact_above(on, name):
    setup = on(name)
    nested(write_at=(1, 2))
    lines = setup.screen().lines()
    assert lines == ["a line written mid-bar", lines[-1]] and lines[-1].startswith("outer: 100%"), lines


@pytest.mark.parametrize("name", CONSOLES)
def test_print_and_stderr_mid_bar_land_intact_above(on, name):
    setup = on(name)
    for step in tqdm(range(5), desc="loop", mininterval=0):
        if step == 2:
            print("printed mid-bar")
            sys.stderr.write("stderr mid-bar\n")
    lines = setup.screen().lines()
    assert lines[:2] == ["printed mid-bar", "stderr mid-bar"] and lines[2].startswith("loop: 100%"), lines


def test_vt_terminal_shows_one_row_per_bar_in_position_order(on):
    setup = on("vt80")
    outer = tqdm(total=3, desc="outer", position=0, mininterval=0)
    inner = tqdm(total=40, desc="inner", position=1, leave=False, mininterval=0)
    outer.update(2)
    inner.update(20)
    rows = setup.screen().lines()
    assert len(rows) == 2 and rows[0].startswith("outer:  67%") and rows[1].startswith("inner:  50%"), rows
    assert all(len(row) <= 80 for row in rows)
    inner.close()
    outer.close()
    lines = setup.screen().lines()
    assert len(lines) == 1 and lines[0].startswith("outer:  67%") and "2/3" in lines[0], lines


def test_a_terminal_lower_than_the_bars_shows_those_that_fit_and_counts_the_rest(on, monkeypatch):
    setup = on("vt80")
    monkeypatch.setattr(_compat, "terminal_rows", lambda stream: 6)
    bars_up = [tqdm(total=10, desc="bar %d" % index, position=index, leave=False, mininterval=0)
               for index in range(16)]
    for bar in bars_up:
        bar.update(5)
    screen = VT(columns=80, rows=6).feed_all(setup.writes)
    rows = screen.lines()
    assert [row[:6] for row in rows] == ["bar 0:", "bar 1:", "bar 2:", "bar 3:", "... 12"], rows
    assert all("5/10" in row for row in rows[:4]), rows
    for bar in reversed(bars_up):
        bar.close()
    assert VT(columns=80, rows=6).feed_all(setup.writes).lines() == []


@pytest.mark.parametrize("name", ["pycharm", "conhost-437"])
def test_one_line_consoles_compose_the_nesting(on, name):
    setup = on(name)
    outer = tqdm(total=3, desc="outer", mininterval=0)
    inner = tqdm(total=40, desc="inner", leave=False, mininterval=0)
    outer.update(2)
    inner.update(20)
    rows = setup.screen().lines()
    dot = "\u00b7" if name == "pycharm" else "."
    assert len(rows) == 1 and rows[0].startswith("outer 2/3 {} inner:  50%".format(dot)), rows
    assert "20/40" in rows[0]
    if name == "conhost-437":
        assert len(rows[0]) <= 79 and not setup.screen().garbage()
    inner.close()
    outer.close()


def test_a_bar_next_to_a_keras_bar(on):
    setup = on("vt80")
    epoch = Progress(10, console=setup.console)
    epoch.update(5, {"loss": 0.5})
    with tqdm(total=20, desc="inner", leave=False, mininterval=0) as inner:
        inner.update(10)
        rows = setup.screen().lines()
        assert len(rows) == 2 and rows[0].startswith(" 5/10") and rows[1].startswith("inner:  50%"), rows
    epoch.update(6, {"loss": 0.5})
    epoch.done({"loss": 0.5})
    assert setup.screen().lines()[-1].startswith("10/10"), setup.screen().lines()


def test_pycharm_shows_a_keras_bar_and_a_tqdm_bar_in_one_line(on):
    setup = on("pycharm")
    epoch = Progress(10, console=setup.console)
    epoch.update(5, {"loss": 0.5})
    with tqdm(total=20, desc="inner", leave=True, mininterval=0) as inner:
        inner.update(10)
        assert setup.screen().lines()[-1].startswith("5/10 \u00b7 inner:  50%")
    epoch.done({"loss": 0.5})
    lines = setup.screen().lines()
    assert len(lines) == 2 and lines[0].startswith("inner:  50%") and lines[1].startswith("10/10"), lines


def test_in_a_log_a_bar_ending_inside_a_keras_epoch_leaves_the_epoch_going(on):
    setup = on("log")
    epoch = Progress(10, console=setup.console)
    epoch.update(5, {"loss": 0.5})
    with tqdm(total=3, desc="inner", mininterval=0) as inner:
        inner.update(3)
    print("a line the script leaves unfinished", end="")
    epoch.done({"loss": 0.5})
    lines = setup.screen().lines()
    assert len(lines) == 3 and lines[0].startswith("inner: 100%"), lines
    assert lines[1] == "a line the script leaves unfinished" and lines[2].startswith("10/10"), lines


def test_a_keras_bar_inside_a_tqdm_loop_gets_the_room_left(on):
    setup = on("conhost-437")
    with tqdm(total=3, desc="fold", mininterval=0) as folds:
        folds.update(1)
        epoch = Progress(10, console=setup.console)
        epoch.update(5, {"loss": 0.5})  # (a metric of the batches would stay on the final line)
        row = setup.screen().lines()[-1]
        assert row.startswith("fold 1/3 .  5/10 [") and "loss: 0.5000" in row and len(row) <= 79, row
        epoch.done({"loss": 0.5})
    lines = setup.screen().lines()
    assert len(lines) == 2 and lines[0].startswith("10/10") and lines[1].startswith("fold:  33%"), lines


LIGHTNING_BAR = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_noinv_fmt}{postfix}]"


def lightning_fit(epochs=2, steps=4, checks=2):
    """The calls PyTorch Lightning's TQDMProgressBar makes during Trainer.fit: one main bar
    on stdout reset every epoch, a validation bar at position 1 for each validation run,
    counts set with `bar.n = ...; bar.refresh()`."""
    main = tqdm(desc="Training", position=0, leave=True, dynamic_ncols=True, file=sys.stdout, smoothing=0,
                bar_format=LIGHTNING_BAR)
    for epoch in range(epochs):
        main.reset(steps)
        main.initial = 0
        main.set_description("Epoch {}".format(epoch))
        for step in range(1, steps + 1):
            main.n = step
            main.refresh()
            main.set_postfix({"train_loss": "0.{}".format(9 - step)})
        validation = tqdm(desc="Validation", position=1, leave=False, dynamic_ncols=True, file=sys.stdout,
                          bar_format=LIGHTNING_BAR)
        validation.reset(checks)
        for step in range(1, checks + 1):
            validation.n = step
            validation.refresh()
        validation.close()
        main.set_postfix({"train_loss": "0.5", "val_loss": "0.6"})
    main.close()


@pytest.mark.parametrize("name", CONSOLES)
def test_a_lightning_style_progress_bar_leaves_one_line(on, name):
    setup = on(name)
    lightning_fit()
    final = "".join(setup.screen().lines())  # wider than 80 columns: it wraps, whole
    assert final.startswith("Epoch 1: 100%") and final.count("Epoch") == 1, final
    assert final.endswith("4/4 [00:00<00:00, {}, train_loss=0.5, val_loss=0.6]".format(
        final.split(", ")[1])), final


def test_pycharm_shows_lightning_style_validation_inside_the_epoch(on):
    setup = on("pycharm")
    main = tqdm(desc="Epoch 0", total=4, file=sys.stdout, bar_format=LIGHTNING_BAR)
    main.n = 4
    main.refresh()
    validation = tqdm(desc="Validation", total=2, position=1, leave=False, file=sys.stdout,
                      bar_format=LIGHTNING_BAR)
    validation.n = 1
    validation.refresh()
    lines = setup.screen().lines()
    assert len(lines) == 1 and lines[0].startswith("Epoch 0 4/4 \u00b7 Validation:  50%|"), lines
    validation.close()
    main.close()


@pytest.mark.parametrize("name", ["vt40", "conhost-936"])
def test_narrow_consoles_fit_live_rows_and_keep_final_lines_whole(on, name):
    setup = on(name)
    with tqdm(total=10, desc="fold", mininterval=0) as outer:
        for step in range(10):
            with tqdm(total=3, desc="batches", leave=step == 9, mininterval=0) as inner:
                inner.update(2)
                if step == 5:  # each bar's row (VT) or the one composed line, none wrapped
                    rows = setup.screen().lines()
                    assert len(rows) == (2 if name == "vt40" else 1), rows
                inner.update(1)
                inner.set_postfix(loss="0.125", accuracy="0.875")
            outer.update(1)
    final = "".join(setup.screen().lines())
    assert final.startswith("batches: 100%") and "loss=0.125]" in final and "fold: 100%" in final, final
    assert not getattr(setup.screen(), "garbage", lambda: False)()


@pytest.mark.parametrize("name", CONSOLES)
def test_unknown_total_counts_up(on, name):
    setup = on(name)
    for _ in tqdm(iter(range(7)), desc="stream", mininterval=0):
        pass
    lines = setup.screen().lines()
    assert len(lines) == 1 and lines[0].startswith("stream: 7it ["), lines


@pytest.mark.parametrize("name", CONSOLES)
def test_options_keep_their_meaning(on, name):
    setup = on(name)
    with tqdm(total=2048, desc="first", unit="B", unit_scale=True, unit_divisor=1024, mininterval=0) as bar:
        bar.update(1024)
        bar.set_description("download")
        bar.set_postfix(file="weights.h5")
        bar.update(1024)
    with tqdm(range(3), desc="hidden", disable=True) as hidden:
        for _ in hidden:
            pass
    lines = setup.screen().lines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("download: 100%"), lines
    assert "2.00k/2.00k" in lines[0] and "file=weights.h5" in lines[0], lines


@pytest.mark.parametrize("name", ["log", "gitlab"])
def test_a_log_keeps_the_callers_bar_format_without_the_bar(on, name):
    setup = on(name, interval=0.001)
    for _ in tqdm(range(3), desc="custom", bar_format="{desc}: step {n} of {total}", mininterval=0):
        time.sleep(0.002)
    for _ in tqdm(range(4), desc="Epoch 0", bar_format=LIGHTNING_BAR, mininterval=0):
        pass
    lines = setup.screen().lines()
    assert lines[-2] == "custom: step 3 of 3", lines
    assert re.match(r"Epoch 0: 100% 4/4 \[00:00<00:00, [\d.]+it/s\]$", lines[-1]), lines
    assert [line for line in lines[:-2] if line.startswith("custom: step ")] == lines[:-2], lines


@pytest.mark.parametrize("name", ["vt80", "pycharm", "log"])
def test_a_bar_on_stdout_and_one_on_stderr_share_the_status_area(on, name):
    setup = on(name)
    with tqdm(total=2, desc="on stdout", file=sys.stdout, mininterval=0) as first:
        with tqdm(total=2, desc="on stderr", file=sys.stderr, mininterval=0, leave=False) as second:
            first.update(1)
            second.update(2)
        first.update(1)
    lines = setup.screen().lines()
    assert len(lines) == 1 and lines[0].startswith("on stdout: 100%"), lines


@pytest.mark.parametrize("name", ["vt80", "pycharm", "log"])
@pytest.mark.parametrize("file", ["stdout", "stderr"])
def test_bars_updated_while_the_script_silences_stdout_stay_in_the_status_area(on, name, file):
    import contextlib
    import io

    setup = on(name)
    outer = tqdm(total=4, desc="outer", file=getattr(sys, file), mininterval=0)
    inner = tqdm(total=6, desc="inner", file=getattr(sys, file), leave=False, mininterval=0)
    for step in range(6):
        with contextlib.redirect_stdout(io.StringIO()):  # a noisy call, silenced
            print("noise")
            inner.update(1)
            if step == 5:
                inner.close()
        if step == 2:
            outer.update(2)
    outer.close()
    print("after the bars")
    setup.console.close()  # as at exit
    lines = setup.screen().lines()
    assert len(lines) == 2 and lines[0].startswith("outer:  50%") and lines[1] == "after the bars", lines
    assert "\x1b[A" not in setup.raw() and "noise" not in setup.raw(), setup.raw()


def test_a_log_gets_heartbeats_at_the_interval_and_no_control_characters(on):
    setup = on("log", interval=0.001)
    nested(leave_inner=False, write_at=(1, 1), pause=0.002)
    log = setup.screen()
    assert not log.has_control() and log.complete()
    lines = log.lines()
    assert lines.count("a line written mid-bar") == 1
    assert len([line for line in lines if line.startswith("outer: 100%")]) >= 1
    assert bars(lines, "inner") and not bars(lines, "inner: 100%|"), lines


@pytest.mark.parametrize("name", CONSOLES)
def test_a_bar_drawn_by_refresh_with_a_delay_ends_before_what_follows(on, name):
    setup = on(name)
    bar = tqdm(total=4, desc="epoch", delay=60)  # Lightning sets n and calls refresh()
    for step in range(1, 5):
        bar.n = step
        bar.refresh()
    bar.close()
    print("after the bar")
    lines = setup.screen().lines()
    assert len(lines) == 2 and lines[0].startswith("epoch: 100%") and lines[1] == "after the bar", lines


def test_a_bar_on_another_file_draws_as_tqdm_does(on):
    import io

    setup = on("vt80")
    other = io.StringIO()
    for _ in tqdm(range(3), file=other, mininterval=0):
        pass
    assert "\r" in other.getvalue() and "3/3" in other.getvalue()
    assert setup.raw() == ""


def test_install_patches_tqdm_when_it_is_first_imported_and_imports_it_not():
    code = ("import sys, ideconsole\nideconsole.install()\nprint('tqdm' in sys.modules)\n"
            "from tqdm.auto import tqdm\nfrom ideconsole.tqdm_bars import TqdmMethods\n"
            "print(tqdm.display is TqdmMethods.display)\n")
    result = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, env=clean_environment(),
                            timeout=60)
    assert result.stdout.decode().split() == ["False", "True"]


def test_install_patches_tqdm_and_uninstall_restores_it(on):
    import ideconsole

    setup = on("pycharm")
    stock_display = vars(tqdm_package.std.tqdm)["display"]
    ideconsole.install()
    try:
        for _ in tqdm_package.trange(2, desc="outer", mininterval=0):
            for _ in tqdm_package.tqdm(range(3), desc="inner", leave=False, mininterval=0):
                pass
    finally:
        ideconsole.uninstall()
    assert vars(tqdm_package.std.tqdm)["display"] is stock_display
    assert not hasattr(tqdm_package.std.tqdm, "_stock_display")
    lines = setup.screen().lines()
    assert len(lines) == 1 and lines[0].startswith("outer: 100%"), lines


@pytest.mark.parametrize("name", ["vt80", "pycharm", "log"])
def test_install_mid_bar_takes_over_the_line_tqdm_drew(on, name):
    import ideconsole

    setup = on(name)
    bar = tqdm_package.tqdm(total=4, desc="drawn by tqdm", mininterval=0)
    bar.update(2)
    ideconsole.install()
    try:
        bar.close()
        print("after the bar")
    finally:
        ideconsole.uninstall()
    lines = setup.screen().lines()
    assert lines[-1] == "after the bar" and lines[-2].startswith("drawn by tqdm:  50%"), lines
    assert len(lines) == (3 if name == "log" else 2), lines  # a log keeps the line tqdm wrote, ended


@pytest.mark.parametrize("name", ["vt80", "pycharm"])
def test_uninstall_mid_bar_hands_the_bar_back_to_tqdm(on, name):
    import ideconsole

    setup = on(name)
    ideconsole.install()
    try:
        bar = tqdm_package.tqdm(total=4, desc="handed back", mininterval=0)
        bar.update(1)
    finally:
        ideconsole.uninstall()
    print("after uninstall")
    bar.update(3)
    bar.close()
    setup.console.close()  # as at exit
    lines = setup.screen().lines()
    assert len(lines) == 2 and lines[0] == "after uninstall", lines
    # nothing of the old row left around the line tqdm drew
    assert re.match(r"handed back: 100%\|\u2588+\| 4/4 \[[^\]]+\]$", lines[1]), lines


@pytest.mark.parametrize("name", ["vt80", "pycharm"])
def test_install_again_mid_bar_takes_the_bar_back(on, name):
    import ideconsole

    setup = on(name)
    ideconsole.install()
    try:
        bar = tqdm_package.tqdm(total=4, desc="back and forth", mininterval=0)
        bar.update(1)
        ideconsole.uninstall()
        bar.update(1)  # tqdm draws it
        ideconsole.install()
        bar.close()
        print("after the bar")
    finally:
        ideconsole.uninstall()
    lines = setup.screen().lines()
    assert len(lines) == 2 and lines[1] == "after the bar", lines
    assert re.match(r"back and forth:  50%\|\u2588+ +\| 2/4 \[[^\]]+\]$", lines[0]), lines


# -- end to end: a script's real output on each console -------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "tqdm_script.py")
MESSAGES = ["a line written mid-bar", "a print mid-bar", "WARNING a warning mid-bar"]


def script(*args, install=False):
    if install:
        return [sys.executable, "-m", "ideconsole", "run", SCRIPT, "--tqdm", "plain"] + list(args)
    return [sys.executable, SCRIPT] + list(args)


def environment(**extra):
    env = clean_environment()
    env.update(extra)
    return env


def run_piped(argv, env):
    """stdout and stderr in one pipe, in write order, as PyCharm's one document gets them."""
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=120)
    output = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, output[-3000:]
    return output


def run_into_log(argv, tmp_path, env=None):
    """`python script.py > train.log 2>&1`: the file's text."""
    path = tmp_path / "train.log"
    with open(str(path), "wb") as log:
        code = subprocess.call(argv, stdout=log, stderr=log, env=env or environment(), timeout=300)
    text = path.read_bytes().decode("utf-8")
    assert code == 0, text[-3000:]
    return text


def expected(levels, inner_leave):
    """The bars a person should finally see, outermost last: those kept with leave=True."""
    if levels == 2:
        return ["inner: 100%"] * 3 * inner_leave + ["outer: 100%"]
    return (["inner: 100%"] * 3 + ["middle: 100%"]) * 2 * inner_leave + ["outer: 100%"]


def check(lines, levels, inner_leave):
    """The messages once each, intact; only the kept bars' final lines; then "done"."""
    assert lines[-1] == "done", lines
    for message in MESSAGES:
        assert lines.count(message) == 1, lines
    bars_shown = [line for line in lines[:-1] if line not in MESSAGES]
    progress = [re.match(r"(\w+): +(\d+%)", line) for line in bars_shown]
    assert [match and " ".join(match.groups()) for match in progress] == \
        [bar.replace(": ", " ") for bar in expected(levels, inner_leave)], lines


CASES = [(2, False, False), (2, True, True), (3, True, False), (3, False, True)]
CASE_IDS = ["2-levels", "2-levels-inner-kept-install", "3-levels-inner-kept", "3-levels-install"]


@pytest.mark.parametrize("levels,inner_leave,install", CASES, ids=CASE_IDS)
def test_real_terminal_shows_nested_bars_and_keeps_what_leave_keeps(levels, inner_leave, install):
    args = ["--levels", str(levels)] + (["--inner-leave"] if inner_leave else [])
    output = run_in_terminal(script(*args, install=install), 80)
    check(VT(columns=80).feed_all([output]).lines(), levels, inner_leave)
    assert "\x1b[1A" in output  # the rows were redrawn in place, below the committed lines


@pytest.mark.parametrize("levels,inner_leave,install", CASES, ids=CASE_IDS)
def test_pycharm_run_window_shows_no_stale_progress_rows(levels, inner_leave, install):
    args = ["--levels", str(levels)] + (["--inner-leave"] if inner_leave else [])
    output = run_piped(script(*args, install=install), environment(PYCHARM_HOSTED="1"))
    check(PyCharm().feed_all([output]).lines(), levels, inner_leave)
    assert " \u00b7 inner" in output  # the nesting, composed into one line while it ran


@pytest.mark.parametrize("levels,inner_leave,install", CASES[:2], ids=CASE_IDS[:2])
def test_windows7_console_shows_nested_bars_without_garbage(levels, inner_leave, install):
    args = ["--levels", str(levels)] + (["--inner-leave"] if inner_leave else [])
    env = environment(IDECONSOLE_CONSOLE="conhost-legacy", COLUMNS="80")
    screen = LegacyConhost(80).feed_all([run_piped(script(*args, install=install), env)])
    check(screen.lines(), levels, inner_leave)
    assert not screen.garbage()


@pytest.mark.parametrize("levels,inner_leave,install", CASES, ids=CASE_IDS)
def test_log_file_has_complete_lines_and_one_final_line_per_kept_bar(levels, inner_leave, install, tmp_path):
    args = ["--levels", str(levels)] + (["--inner-leave"] if inner_leave else [])
    log = LogReader().feed_all([run_into_log(script(*args, install=install), tmp_path)])
    assert not log.has_control() and log.complete(), log.control_chars()
    check(log.lines(), levels, inner_leave)


LEFT_OPEN = """
import ideconsole
ideconsole.install()
from tqdm import tqdm
outer, inner = tqdm(total=10, desc="outer"), tqdm(total=5, desc="inner", leave=False)
outer.update(3)
inner.update(2)
print("the script ends with both bars open")
"""


def test_bars_left_open_at_exit_stay_with_their_latest_count():
    output = run_in_terminal([sys.executable, "-c", LEFT_OPEN], 80)
    lines = VT(columns=80).feed_all([output]).lines()
    assert lines[0] == "the script ends with both bars open", lines
    assert len(lines) == 3, lines
    assert lines[1].startswith("outer:  30%") and lines[2].startswith("inner:  40%"), lines


RAISES_WITH_BARS_UP = """
import ideconsole
ideconsole.install()
from tqdm import tqdm
outer, inner = tqdm(total=10, desc="outer"), tqdm(total=1000, desc="inner", leave=False)
outer.update(3)
for _ in range(400):
    inner.update(1)
raise RuntimeError("stopped")
"""


def test_a_traceback_with_manual_bars_up_comes_below_their_latest_state():
    code, output = run_in_terminal([sys.executable, "-c", RAISES_WITH_BARS_UP], 80, check=False)
    lines = VT(columns=80).feed_all([output]).lines()
    assert code == 1 and lines[-1] == "RuntimeError: stopped", lines
    assert lines[0].startswith("outer:  30%") and lines[1].startswith("inner:  40%"), lines
    assert lines[2] == "Traceback (most recent call last):", lines


WORKERS = """
import multiprocessing, sys
from ideconsole.tqdm import tqdm
from ideconsole.tqdm_bars import console_for

def work(method):
    for _ in tqdm(range(3), desc="worker", position=1, leave=False):
        pass
    return console_for(sys.stderr) is None

if __name__ == "__main__":
    print("parent draws:", console_for(sys.stderr) is not None)
    for method in ("fork", "spawn"):
        with multiprocessing.get_context(method).Pool(1) as pool:
            print(method, "worker left to tqdm:", pool.apply(work, (method,)))
"""


def test_worker_processes_leave_their_bars_to_tqdm(tmp_path):
    script_file = tmp_path / "workers.py"  # a file: spawned workers import their function from it
    script_file.write_text(WORKERS)
    output = run_piped([sys.executable, str(script_file)], environment())
    for answer in ("parent draws: True", "fork worker left to tqdm: True", "spawn worker left to tqdm: True"):
        assert answer in output, output


SILENCED_LIBRARY = """
import contextlib, io
import ideconsole
ideconsole.install()
from tqdm import tqdm

def noisy_library_call():
    for _ in tqdm(range(5), desc="library", leave=False, mininterval=0):
        print("noise")

for _ in tqdm(range(3), desc="outer", mininterval=0):
    with contextlib.redirect_stdout(io.StringIO()):
        noisy_library_call()
print("end")
"""


def test_a_bar_on_stderr_inside_silenced_stdout_nests_under_the_outer_bar():
    argv = [sys.executable, "-c", SILENCED_LIBRARY]
    output = run_piped(argv, environment(PYCHARM_HOSTED="1"))
    assert "outer 1/3 \u00b7 library:  40%" in output and "noise" not in output, output
    lines = PyCharm().feed_all([output]).lines()
    assert len(lines) == 2 and lines[0].startswith("outer: 100%") and lines[1] == "end", lines
    output = run_in_terminal(argv, 80)
    assert re.search(r"outer: +33%[^\n]*\r\nlibrary: +40%", output), output  # two rows, one each
    assert VT(columns=80).feed_all([output]).lines()[-1] == "end"


FORKED_CHILD = """
import os, sys
import ideconsole
ideconsole.install()
from tqdm import tqdm
bar = tqdm(total=4, desc="parent", mininterval=0)
bar.update(1)
child = os.fork()
if child == 0:
    sys.exit(0)  # the child's copy of the bar is collected as it exits
os.waitpid(child, 0)
bar.update(3)
bar.close()
print("end")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_leaves_its_parents_bar_to_the_parent():
    # tqdm's monitor thread makes Python 3.12+ warn about fork(): not what is looked at here
    output = run_in_terminal([sys.executable, "-W", "ignore::DeprecationWarning", "-c", FORKED_CHILD], 80)
    lines = VT(columns=80).feed_all([output]).lines()
    assert len(lines) == 2 and lines[0].startswith("parent: 100%") and lines[1] == "end", lines


NO_STDOUT = """
import sys
sys.stdout = None
import ideconsole
ideconsole.install()
from tqdm import tqdm
for _ in tqdm(range(3), desc="counted", mininterval=0):
    pass
sys.stderr.write("the end\\n")
"""


def test_bars_on_stderr_show_when_the_script_has_no_stdout():
    output = run_piped([sys.executable, "-c", NO_STDOUT], environment(PYCHARM_HOSTED="1"))
    lines = PyCharm().feed_all([output]).lines()
    assert len(lines) == 2 and lines[0].startswith("counted: 100%") and lines[1] == "the end", lines


def test_log_file_gets_heartbeats_of_each_bar(tmp_path):
    log = LogReader().feed_all([run_into_log(script("--levels", "2", "--pause", "0.02"), tmp_path,
                                             environment(IDECONSOLE_INTERVAL="0.05"))])
    assert not log.has_control() and log.complete()
    lines = log.lines()
    assert [line for line in lines if line.startswith("inner:")], lines  # heartbeats of a leave=False bar
    assert len([line for line in lines if line.startswith("outer: 100%")]) == 1, lines


# -- a tqdm loop inside a real Keras epoch ----------------------------------------------------

@pytest.fixture(params=flavour_params(("keras3", "tf_keras")))
def flavour(request):
    return request.param


def after_first_epoch(lines):
    """From "Epoch 1/2" on: TensorFlow's own start-up chatter comes before it; without
    tf_keras's warning that a callback is slow, which a loaded machine can draw from it."""
    return [line for line in lines[lines.index("Epoch 1/2"):]
            if not line.startswith("WARNING Callback method `on_train_batch_end` is slow")]


def check_fit(lines, inner_leave):
    """Per epoch: its header, the tqdm bar's final line if kept, the epoch's final line."""
    def shape(line):
        match = re.match(r"(inner: +\d+%)|(?:Epoch \d/2 )?(\d+/12) |(Epoch \d/2)$|(done)$", line)
        return match and next(group for group in match.groups() if group)
    inner = ["inner: 100%"] if inner_leave else []
    assert [shape(line) for line in lines] == (["Epoch 1/2"] + inner + ["12/12"] + ["Epoch 2/2"] + inner
                                               + ["12/12", "done"]), lines


@pytest.mark.parametrize("inner_leave", [False, True], ids=["inner-dropped", "inner-kept"])
def test_tqdm_inside_a_keras_epoch_in_a_real_terminal(flavour, inner_leave):
    argv = script("--keras", flavour, *(["--inner-leave"] if inner_leave else []), install=True)
    output = run_in_terminal(argv, 80, env=environment(TF_CPP_MIN_LOG_LEVEL="3"))
    check_fit(after_first_epoch(VT(columns=80).feed_all([output]).lines()), inner_leave)
    assert "\x1b[1A" in output  # the Keras bar and the tqdm bar were up together, in two rows


@pytest.mark.parametrize("inner_leave", [False, True], ids=["inner-dropped", "inner-kept"])
def test_tqdm_inside_a_keras_epoch_in_pycharm_and_a_log(flavour, inner_leave, tmp_path):
    argv = script("--keras", flavour, *(["--inner-leave"] if inner_leave else []), install=True)
    env = environment(TF_CPP_MIN_LOG_LEVEL="3")
    output = run_piped(argv, dict(env, PYCHARM_HOSTED="1"))
    check_fit(after_first_epoch(PyCharm().feed_all([output]).lines()), inner_leave)
    assert re.search(r"\d+/12 \u00b7 inner: ", output), output[-2000:]  # one line for both bars
    log = LogReader().feed_all([run_into_log(argv, tmp_path, env)])
    assert not log.has_control() and log.complete()
    check_fit(after_first_epoch(log.lines()), inner_leave)


# -- a real terminal that rewraps rows on resize ----------------------------------------------

NESTED_WITH_PAUSES = PAUSE + r"""
from ideconsole.tqdm import trange
pauses = {pauses!r}   # (outer step, inner step) -> pause number
for number in range(8):  # rows a rewrap pushes above the window's top are out of reach
    print("what came before %d" % number)
for outer in trange(2, desc="outer", mininterval=0):
    for inner in trange(30, desc="inner", leave=False, mininterval=0):
        time.sleep(0.01)
        if (outer, inner) in pauses:
            pause(pauses[outer, inner])
print("training done")
"""


@pytest.mark.skipif(shutil.which("tmux") is None,
                    reason="tmux is not installed (Debian: apt-get install tmux)")
@pytest.mark.parametrize("resize", [None, "reflow"], ids=["tmux-backspace", "reflow"])
@pytest.mark.parametrize("widths", [{(0, 10): 40}, {(0, 10): 40, (1, 10): 80}],
                         ids=["narrowed", "narrowed-then-widened"])
def test_nested_bars_resized_in_tmux_leave_no_rows_behind(tmp_path, resize, widths):
    pane = Pane(tmp_path, 80, resize=resize)
    try:
        pauses = {where: number for number, where in enumerate(sorted(widths))}
        pane.run([sys.executable, "-c", NESTED_WITH_PAUSES.format(pauses=pauses)])
        for where, number in sorted(pauses.items(), key=lambda item: item[1]):
            marker = os.path.join(pane.directory, "pause-%d" % number)
            pane.wait(lambda marker=marker: os.path.exists(marker), "the loop to reach {}".format(where))
            pane.resize(widths[where])
            with open(marker + ".done", "w") as file:
                file.write(str(widths[where]))  # go on once the program sees the new width
        pane.wait(pane.exited, "the loop to end")
        lines = pane.capture(joined=True)
        assert lines[:8] == ["what came before %d" % number for number in range(8)], lines
        assert len(lines) == 10 and lines[8].startswith("outer: 100%") and lines[9] == "training done", lines
    finally:
        pane.close()
