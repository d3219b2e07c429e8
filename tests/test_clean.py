"""`python -m ideconsole clean`: each control rule, the same lines a VT terminal shows (synthetic
redraws, ideconsole's own strategies, real tqdm and Keras logs), streaming in a live pipe,
and memory that stays flat on a log that is one giant redrawn line."""
import io
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import unicodedata

import pytest
from conftest import flavour_params
from consoles import VT

from ideconsole import clean as clean_module
from ideconsole.cells import char_cells
from ideconsole.clean import clean_lines, clean_stream, main
from ideconsole.strategies import strategy_for

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LOGS = os.path.join(HERE, "logs")
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def clean(*chunks, **kw):
    return "".join(clean_lines(chunks, **kw))


def rows(text):
    """Cleaned output as rows the way the VT model reports them: right-stripped, no trailing
    empty rows."""
    found = [row.rstrip() for row in text.split("\n")]
    while found and not found[-1]:
        found.pop()
    return found


def vt_rows(text):
    return VT(columns=1000).feed_all([text]).lines()


def environment():
    env = dict(os.environ)
    env.update(PYTHONPATH=os.pathsep.join([ROOT, HERE, env.get("PYTHONPATH", "")]),
               TF_CPP_MIN_LOG_LEVEL="3", PYTHONIOENCODING="utf-8")
    return env


def cleaner_command(*args):
    return [sys.executable, "-m", "ideconsole", "clean"] + list(args)


# Each rule


def test_plain_lines_pass_through_unchanged():
    text = "Epoch 1/2\n\n  indented, trailing spaces   \nünïcödé ━━━ 中文\nno newline at the end"
    assert clean(text) == text
    assert list(clean_lines([text])) == ["Epoch 1/2\n", "\n", "  indented, trailing spaces   \n",
                                         "ünïcödé ━━━ 中文\n", "no newline at the end"]


def test_crlf_ends_a_line_like_lf():
    assert clean("a  \r\nb\r\n\r\nc") == "a  \nb\n\nc"
    assert clean("a\r", "\nb\r", "\n") == "a\nb\n"  # "\r\n" cut between two reads


def test_carriage_return_moves_to_column_zero_without_erasing():
    assert clean("abcdef\rXY\n") == "XYcdef\n"
    assert clean("abc\r\r\rxyz\n") == "xyz\n"


def test_backspace_moves_left_and_stops_at_column_zero():
    assert clean("abcd\b\bXY\n") == "abXY\n"
    assert clean("ab\b\b\b\b\bX\n") == "Xb\n"
    assert clean("abc\b\n") == "abc\n"  # moving erases nothing


def test_tab_moves_to_the_next_multiple_of_eight():
    assert clean("a\tb\n") == "a       b\n"
    assert clean("abcdefgh\tX\n") == "abcdefgh        X\n"
    assert clean("\t\tX\rY\n") == "Y               X\n"
    assert clean("abcdefghij\rx\tY\n") == "xbcdefghYj\n"  # moving over text keeps it
    assert clean("a\t\n") == "a\n"


def test_erase_in_line():
    assert clean("abcdef\r\x1b[Kxy\n") == "xy\n"
    assert clean("abcdef\rab\x1b[K\n") == "ab\n"
    assert clean("abcdef\b\b\b\x1b[0K\n") == "abc\n"
    assert clean("abcdef\b\b\b\x1b[1K\n") == "    ef\n"  # start of line to the cursor, inclusive
    assert clean("abcdef\b\b\b\x1b[2KX\n") == "   X\n"  # the whole line; the cursor stays
    assert clean("ab\x1b[5G\x1b[1K\n") == "\n"


def test_cursor_column_moves():
    assert clean("abcdef\x1b[3GX\n") == "abXdef\n"
    assert clean("abcdef\x1b[GX\x1b[0GY\n") == "Ybcdef\n"
    assert clean("ab\x1b[3CX\n") == "ab   X\n"
    assert clean("abcdef\x1b[2DX\x1b[DY\n") == "abcdYf\n"
    assert clean("ab\x1b[9DX\n") == "Xb\n"


def test_colours_and_other_escape_sequences_show_nothing():
    text = ("\x1b[1m1/5\x1b[0m \x1b[32m━━\x1b[0m\x1b[37m━━━\x1b[0m \x1b[38;5;208mA\x1b[m"
            "\x1b]0;a title\x07\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x1bPq#0\x1b\\\x1b(B\x1b7\x1b8\x1b="
            "\x1b[?25l\x1b[?25h\x1b[A\x1b[2J\x1b[H\x1b[s\x1b[u\x9b31m!\n")
    assert clean(text) == "1/5 ━━━━━ Alink31m!\n"  # 8-bit CSI: one C1 control, dropped


def test_other_control_characters_show_nothing():
    assert clean("a\x00b\x07c\x0bd\x0ce\x7ff\x1cg\x85h\n") == "abcdefgh\n"
    assert clean("lone\x1b\x1b[1m escape\x1b\n") == "lone escape\n"
    assert clean("broken \x1b[12\x01m\n") == "broken [12m\n"


def test_redrawn_lines_lose_trailing_spaces():
    assert clean("abc   \x1b[0m\n") == "abc\n"
    assert clean("abc   \r\n") == "abc   \n"  # "\r\n" is a line end: a plain line
    assert clean("x\rabc   \n") == "abc\n"


def test_last_line_without_newline():
    assert clean("done") == "done"
    assert clean("a\nsoon\r") == "a\nsoon"
    assert clean("a\n\r\x1b[K") == "a\n"
    assert clean("a\nx\r   ") == "a\n"
    assert clean("a\n\x1b[31") == "a\n"  # an unfinished sequence shows nothing
    assert clean("") == ""


def test_wide_characters_take_two_columns():
    assert clean("中文\rab\n") == "ab文\n"
    assert clean("中文字\r\x1b[2CX\n") == "中X 字\n"  # half of 文 overwritten: blanked, like xterm
    assert clean("中文\rX\n") == "X 文\n"
    assert clean("ab中\b\bXY\n") == "abXY\n"
    assert clean("中文\b\x1b[K\n") == "中\n"


def test_every_wide_character_is_in_the_quick_superset():
    for code in range(0x1100, 0x40000):
        char = chr(code)
        if unicodedata.category(char) == "Cn":
            continue  # unassigned: unicodedata's width for them varies between Pythons
        wide = char_cells(char) == 2  # the rule of ideconsole's own lines
        assert bool(clean_module._wide().match(char)) == wide, hex(code)
        if wide:
            assert clean_module._MAYBE_WIDE.match(char), hex(code)
    for char in "━█▏░▒▓─│┃╸╺=>.#":
        assert not clean_module._MAYBE_WIDE.match(char)


def test_every_character_of_no_cell_is_in_the_quick_superset():
    clean_module._zero()
    for code in range(0xa0, 0x110000):
        char = chr(code)
        if unicodedata.category(char) == "Cn":
            continue
        zero = char_cells(char) == 0  # the rule of ideconsole's own lines
        assert bool(clean_module._ZERO.match(char)) == zero, hex(code)
        if zero:
            assert clean_module._MAYBE_ZERO.match(char), hex(code)
    for char in "━█▏░▒▓─│┃╸╺=>.#·":
        assert not clean_module._MAYBE_ZERO.match(char)


def test_the_rare_characters_include_every_one_that_needs_care():
    """A redrawn line is scanned once for anything but what bars are made of; every control
    character to drop, wide character and character of no cell is among what it finds."""
    needing_care = (clean_module._OTHER, clean_module._MAYBE_WIDE, clean_module._MAYBE_ZERO)
    for code in range(0x110000):
        char = chr(code)
        if not clean_module._RARE.match(char):
            assert not any(pattern.match(char) for pattern in needing_care), hex(code)


@pytest.mark.parametrize("text", [
    "e\u0301tude\rE\n",  # the mark is in the first cell, overwritten with it
    "Cafe\u0301 50%\rCafe\u0301 100%\n",
    "abc\b\b\u0301\n",  # after a move: drawn in the cell before the cursor
    "x\rab\u0301c\u0302\u0303d\b\bZ\n",
    "\u4e2d\u0301\u6587\rab\n",  # in a wide character's cell
    "na\u0303o\x1b[2GX\x1b[K\n",
    "loss: 0.5 \u2501\u2501\u0332\u2501\r\x1b[5CY\n",
    "\u00ad-soft\rX\n",  # the soft hyphen shows, as a hyphen: a cell of its own
])
def test_characters_of_no_cell_are_placed_as_a_terminal_places_them(text):
    """One rule with ideconsole's own lines (cells.char_cells): a combining mark is drawn in the
    cell before it, as xterm and pyte draw it (pyte composes the two: compared composed)."""
    shown = VT(columns=80).feed_all([text]).lines()
    assert [unicodedata.normalize("NFC", line) for line in clean(text).split("\n")[:-1]] == shown


def test_a_line_longer_than_the_cap_wraps():
    text = "x" * 2500 + "\nok\n" + "\ry" * 3 + "z" * 1500 + "\r\b1\n"
    expected = ["x" * 1000, "x" * 1000, "x" * 500, "ok", "y" + "z" * 999, "1" + "z" * 500, ""]
    assert clean(text, max_line=1000).split("\n") == expected
    for cut in range(0, len(text), 97):
        assert clean(text[:cut], text[cut:], max_line=1000).split("\n") == expected
    rng = random.Random(1)
    junk = "".join(rng.choice(["ab", "\r", "\b", "\t", " ", "━", "\x1b[9C"]) for _ in range(50000))
    assert max(map(len, clean(junk, max_line=1000).split("\n"))) <= 1000


def test_clean_lines_yields_one_line_each():
    lines = list(clean_lines(["a\nb", "\nc\r", "d\n\n", "e"]))
    assert lines == ["a\n", "b\n", "d\n", "\n", "e"]


def test_clean_stream_decodes_utf8_across_reads_and_replaces_bad_bytes():
    class OneByte(io.RawIOBase):
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self.data.read(1)
            buffer[:len(chunk)] = chunk
            return len(chunk)

    data = "café ━━ 中\r\x1b[1mdone\x1b[0m\n".encode() + b"bad \xff\xfe byte\n"
    out = io.StringIO()
    clean_stream(OneByte(data), out)
    assert out.getvalue() == "done ━━ 中\nbad \ufffd\ufffd byte\n"
    out = io.StringIO()
    clean_stream(io.BytesIO(data), out)
    assert out.getvalue() == "done ━━ 中\nbad \ufffd\ufffd byte\n"


SAMPLES = [
    "plain\nlines\r\nonly\n",
    "Epoch 1/2\n\b\b\r\x1b[1m1/5\x1b[0m ━━\x1b[37m━━━\x1b[0m 1s\b\b\b\b\b\b\b\b\b\b\b\b\b"
    "\r\x1b[1m5/5\x1b[0m ━━━━━ 2s - loss: 0.1\nEpoch 2/2\n",
    "a\tb\x1b[3G\x1b[1K\x1b]0;t\x07x\x1b]0;t\x1b\\y\x1b(B\x1b[2Cz\x1b[Dw\x1b[2K\r\nlast",
    "中文\r\x1b[2C字\b\bab\x1b[K\nx\x00\x07y\r\r\r\n\x1b",
]


@pytest.mark.parametrize("text", SAMPLES + ["LOG:keras3.log", "LOG:tf_keras.log"])
def test_any_split_into_reads_gives_the_same_lines(text):
    if text.startswith("LOG:"):
        with open(os.path.join(LOGS, text[4:]), encoding="utf-8") as log:
            text = log.read()
    whole = clean(text)
    for cut in range(len(text) + 1):
        assert clean(text[:cut], text[cut:]) == whole, cut
    rng = random.Random(len(text))
    for _ in range(20):
        chunks, pos = [], 0
        while pos < len(text):
            size = rng.randint(1, 9)
            chunks.append(text[pos:pos + size])
            pos += size
        assert clean(*chunks) == whole


# The same as a VT terminal


def keras3_redraws(steps, seed=0, final=True):
    """What stock Keras 3's Progbar writes for one epoch (its own padding rule)."""
    rng, out, previous = random.Random(seed), [], 0
    for step in range(1, steps + 1):
        done = int(20 * step / steps)
        bar = "\x1b[1m%*d/%d\x1b[0m " % (len(str(steps)), step, steps)
        if done:
            bar += "\x1b[32m" + "━" * done + "\x1b[0m"
        bar += "\x1b[37m" + "━" * (20 - done) + "\x1b[0m"
        info = " \x1b[1m%ds\x1b[0m %dms/step" % (rng.choice([0, 9, 12, 300]), rng.randint(1, 999))
        for name in rng.sample(["accuracy", "loss", "mae"], rng.randint(1, 3)):
            info += " - %s: %.4f" % (name, rng.random())
        width = len(bar) + len(info) - (8 + 9 * (1 if done else 0) + 9 + 8)
        message = "\b" * previous + "\r" + bar + info
        if previous > width:
            message += " " * (previous - width)
        out.append(message)
        previous = width
    return "".join(out) + ("\n" if final else "")


def tf_keras_redraws(steps, seed=0):
    rng, out, previous = random.Random(seed), [], 0
    for step in range(1, steps + 1):
        done = int(30 * step / steps)
        line = "%d/%d [%s%s] - ETA: %ds - loss: %.4f" % (
            step, steps, "=" * done, "." * (30 - done), rng.choice([0, 5, 120]), rng.random())
        out.append("\b" * previous + "\r" + line + " " * max(0, previous - len(line)))
        previous = len(line)
    return "".join(out) + "\n"


def tqdm_like(steps):
    return "".join("\r%3d%%|%s%s| %d/%d" % (100 * i // steps, "█" * (10 * i // steps),
                                          " " * (10 - 10 * i // steps), i, steps)
                   for i in range(steps + 1)) + "\n"


def strategy_redraws(mode, erase="csi", seed=0):
    """ideconsole's own redraw strategies drawing lines of varying length, then the last."""
    rng, strategy, shown, out = random.Random(seed), strategy_for(mode, erase), 0, []
    for step in range(30):
        text = "%d/30 %s" % (step, "=" * rng.randint(0, 40))
        written, shown = strategy.draw(shown, text, len(text))
        out.append(written)
    out.append(strategy.commit(shown, "30/30 done", 10))
    return "".join(out)


FUZZ_TOKENS = ["abc", "XYZ12", " ", "━━", "█", "\r", "\b", "\b\b\b", "\t", "\n", "\r\n",
               "\x1b[K", "\x1b[0K", "\x1b[1K", "\x1b[2K", "\x1b[1m", "\x1b[0m", "\x1b[32;1m",
               "\x1b[3G", "\x1b[G", "\x1b[2C", "\x1b[C", "\x1b[D", "\x1b[4D", "\x1b]0;title\x07",
               "\x07", "\x00", "\x1b[?25l", "\x1b(B"]


def fuzz(seed):
    rng = random.Random(seed)
    out = []
    for _ in range(rng.randint(1, 6)):
        out.extend(rng.choice(FUZZ_TOKENS) for _ in range(rng.randint(0, 30)))
        if rng.random() < 0.3:  # a burst of redraws of one line
            width = rng.randint(0, 20)
            for _ in range(rng.randint(2, 6)):
                out.append("\b" * width + "\r")
                width = rng.randint(0, 20)
                out.append("".join(rng.choice("=>.- 0123") for _ in range(width)))
                out.append(rng.choice(["", "", "\x1b[K"]))  # ideconsole's own redraws erase
        out.append(rng.choice(["\n", "\r\n", ""]))
    return "".join(out)


SYNTHETIC = {
    "keras3": "Epoch 1/2\n" + keras3_redraws(40) + "Epoch 2/2\n" + keras3_redraws(40, seed=1),
    "keras3-cut-off": "Epoch 1/2\n" + keras3_redraws(17, final=False),
    "tf_keras": "Epoch 1/3\n" + tf_keras_redraws(25) + "Epoch 2/3\n" + tf_keras_redraws(3, 1),
    "tqdm": tqdm_like(37) + "after\n",
    "ideconsole-cr": strategy_redraws("cr"),
    "ideconsole-cr-pad": strategy_redraws("cr", "pad"),
    "ideconsole-backspace": strategy_redraws("backspace"),
    "ideconsole-lines": strategy_redraws("lines"),
    "wide": "中文字\rabcdef\nab\r中\n中文\r\x1b[2C字\n中\t文\r\x1b[3G\x1b[K\n",
}


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_same_lines_as_a_terminal(name):
    text = SYNTHETIC[name]
    assert rows(clean(text)) == vt_rows(text)
    assert not CONTROL.search(clean(text))


def test_same_lines_as_a_terminal_on_random_logs():
    for seed in range(150):  # thousands pass; pyte makes each one slow
        text = fuzz(seed)
        assert rows(clean(text)) == vt_rows(text), (seed, text)


def test_keras3_redraws_collapse_to_the_last_line():
    lines = clean(SYNTHETIC["keras3"]).split("\n")
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("40/40 ━━━━━━━━━━━━━━━━━━━━ ")
    assert lines[2] == "Epoch 2/2" and lines[3].startswith("40/40 ") and lines[4:] == [""]


# Real logs


def assert_keras_log(cleaned, epochs=2, steps=5):
    assert not CONTROL.search(cleaned), repr(cleaned)
    lines = cleaned.split("\n")
    headers = [lines.index("Epoch %d/%d" % (epoch, epochs)) for epoch in range(1, epochs + 1)]
    for epoch in range(1, epochs + 1):
        assert lines.count("Epoch %d/%d" % (epoch, epochs)) == 1, cleaned
    finals = [number for number, line in enumerate(lines) if "val_loss" in line]
    assert len(finals) == epochs, cleaned
    for header, final, following in zip(headers, finals, headers[1:] + [len(lines)]):
        assert header < final < following, cleaned
        assert re.match(r"\s*%d/%d .*loss: \d\.\d{4}.* - val_loss: \d\.\d{4}" % (steps, steps),
                        lines[final]), lines[final]


@pytest.mark.parametrize("name", ["keras3.log", "tf_keras.log", "keras2.log"])
def test_stored_keras_logs(name):
    """Stock Keras output captured from tests/fit_script.py (--logger none --epochs 2
    --steps 5): Keras 3 and tf_keras redraw in a pipe, Keras 2.2 writes a line per update."""
    with open(os.path.join(LOGS, name), "rb") as log:
        raw = log.read()
    out = io.StringIO()
    clean_stream(io.BytesIO(raw), out)
    assert_keras_log(out.getvalue())
    assert rows(out.getvalue()) == vt_rows(raw.decode("utf-8"))


def test_real_tqdm():
    tqdm = pytest.importorskip("tqdm", reason="tqdm is not installed here")
    for kwargs in ({}, {"ascii": True}, {"ncols": 60, "desc": "train"}):
        stream = io.StringIO()
        for _ in tqdm.tqdm(range(120), file=stream, mininterval=0, **kwargs):
            pass
        raw = stream.getvalue()
        assert raw.count("\r") > 100
        lines = clean(raw).split("\n")
        assert len(lines) == 2 and lines[1] == "", lines
        assert "100%" in lines[0] and "120/120" in lines[0], lines
        assert rows(clean(raw)) == vt_rows(raw)


@pytest.mark.parametrize("flavour", flavour_params())
def test_real_keras_fit_through_a_pipe(flavour):
    """Stock Keras (no ideconsole logger) writing into a pipe, cleaned by the command."""
    fit = subprocess.Popen([sys.executable, os.path.join(HERE, "fit_script.py"), flavour, "--logger", "none",
                            "--epochs", "2", "--steps", "5"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=environment())
    raw, errors = fit.communicate(timeout=300)
    assert fit.returncode == 0, errors.decode("utf-8", "replace")[-3000:]
    if flavour != "keras2":  # Keras 2.2 writes a line per update into a pipe
        assert b"\b" in raw and b"\r" in raw, raw
    cleaner = subprocess.Popen(cleaner_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               env=environment())
    cleaned, _ = cleaner.communicate(raw, timeout=60)
    assert cleaner.returncode == 0
    assert_keras_log(cleaned.decode("utf-8"))
    assert rows(cleaned.decode("utf-8")) == vt_rows(raw.decode("utf-8"))


# Streaming


def read_lines_in_background(stream):
    lines = queue.Queue()

    def pump():
        for line in iter(stream.readline, b""):
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_lines_arrive_while_the_writer_is_still_running():
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "sys.stdout.write('Epoch 1/2\\n\\r1/5 ====')\n"
        "sys.stdout.flush()\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE)
    cleaner = subprocess.Popen(cleaner_command(), stdin=writer.stdout, stdout=subprocess.PIPE,
                               env=environment())
    writer.stdout.close()
    try:
        lines = read_lines_in_background(cleaner.stdout)
        assert lines.get(timeout=30) == b"Epoch 1/2\n"
        assert writer.poll() is None
    finally:
        writer.kill()
        writer.wait()
    assert lines.get(timeout=30) == b"1/5 ===="  # the last state, at the end of the input
    assert lines.get(timeout=30) is None
    assert cleaner.wait(timeout=30) == 0


MEASURED_CHILD = """
import resource, sys
from ideconsole import clean
clean._wide()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
code = clean.main([])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stderr.write("%d %d" % (before, after))
sys.exit(code)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="resource.getrusage is Unix only")
def test_a_giant_redrawn_line_takes_little_memory():
    """200 MB of Keras 3 redraws with no newline (one epoch of a very long run): peak memory
    of the cleaner grows by a few blocks, not by the size of the line."""
    block = keras3_redraws(4000, final=False).encode()  # about 1.3 MB
    count = 200 * 1000 * 1000 // len(block) + 1
    last = keras3_redraws(3, seed=2)
    expected = clean("Epoch 1/1\n", block.decode("utf-8"), last)
    child = subprocess.Popen([sys.executable, "-c", MEASURED_CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment())

    def feed():
        child.stdin.write(b"Epoch 1/1\n")
        for _ in range(count):
            child.stdin.write(block)
        child.stdin.write(last.encode())
        child.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    out = child.stdout.read()
    errors = child.stderr.read().decode("utf-8", "replace")
    assert child.wait(timeout=60) == 0, errors
    feeder.join(timeout=60)
    assert out.decode("utf-8") == expected
    before, after = (int(number) for number in errors.split()[-2:])
    unit = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    assert (after - before) * unit < 40 * 1024 * 1024, (before, after)


# The command


def test_main_cleans_a_file(tmp_path, capsysbinary):
    log = tmp_path / "train.log"
    log.write_bytes("Epoch 1/1\n\r1/2 ━\r2/2 ━━ done\n".encode())
    assert main([str(log)]) == 0
    assert capsysbinary.readouterr().out == "Epoch 1/1\n2/2 ━━ done\n".encode()


def test_main_reports_a_missing_file_in_one_line(tmp_path, capsys):
    missing = str(tmp_path / "nope.log")
    assert main([missing]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and missing in captured.err
    assert "No such file" in captured.err or "cannot" in captured.err


def test_main_help_and_usage_errors(capsys):
    assert main(["-h"]) == 0
    assert "FILE" in capsys.readouterr().out
    assert main(["a", "b"]) == 2


def test_command_reads_stdin_and_dash():
    for args in ([], ["-"]):
        child = subprocess.Popen(cleaner_command(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=environment())
        out, errors = child.communicate(b"x\r\x1b[1my\x1b[0m\n", timeout=60)
        assert (child.returncode, out, errors) == (0, b"y\n", b"")


def test_command_is_quiet_when_the_reader_goes_away():
    """`producer | python -m ideconsole clean | head -1`: no traceback, and the status `cat`
    has there (killed by SIGPIPE)."""
    child = subprocess.Popen(cleaner_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=environment(), bufsize=0)

    def feed():  # unbuffered: nothing left to flush into the closed pipe when it is collected
        try:
            for number in range(200000):
                child.stdin.write(b"line %d of a long log\n" % number)
            child.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    threading.Thread(target=feed, daemon=True).start()
    assert child.stdout.readline() == b"line 0 of a long log\n"
    child.stdout.close()
    assert child.wait(timeout=60) == -signal.SIGPIPE
    assert child.stderr.read() == b""
