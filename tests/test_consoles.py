"""The console models follow docs/consoles.md: these tests protect the models."""

import pytest
from consoles import (
    IDLE,
    MODELS,
    VT,
    DebugConsole,
    GitLabLog,
    JupyterOutput,
    LegacyConhost,
    LogReader,
    PyCharm,
    QtConsole,
    Thonny,
    fix_carriage_return,
    render,
    screen,
)


def redraw(width, times):
    """Chunks of a progress line of `width` characters redrawn with a leading "\\r"."""
    return ["\r" + str(i % 10) * width for i in range(times)]


# VT terminal


def test_vt_too_long_line_leaves_stale_rows():
    # 45 characters on 40 columns: "\r" reaches only the last row, each redraw leaves one.
    vt = render(VT(40), redraw(45, 3))
    assert vt.lines() == ["0" * 40, "1" * 40, "2" * 40, "2" * 5]


def test_vt_short_line_redraws_in_place():
    vt = render(VT(40), redraw(30, 3))
    assert vt.lines() == ["2" * 30]


def test_vt_line_of_exactly_the_width_redraws_in_place():
    # VT terminals delay the wrap: the cursor waits in the last column.
    vt = render(VT(40), redraw(40, 3))
    assert vt.lines() == ["2" * 40]
    assert vt.cursor == (0, 40)


def test_vt_carriage_return_overwrites_without_erasing():
    assert render(VT(40), ["abcdef\rxy"]).lines() == ["xycdef"]


def test_vt_erase_to_end_of_line():
    assert render(VT(40), ["abcdef\rxy\x1b[K"]).lines() == ["xy"]
    assert render(VT(40), ["abcdef\x1b[2K\rxy"]).lines() == ["xy"]


def test_vt_newline_is_cr_lf_and_streams_share_the_screen():
    vt = render(VT(40), ["ab", ("stderr", "warn\n"), "cd"])
    assert vt.lines() == ["abwarn", "cd"]
    assert vt.cursor == (1, 2)


def test_vt_backspace_does_not_climb_to_previous_row():
    assert render(VT(40), ["ab\nc\b\bX"]).lines() == ["ab", "X"]
    assert render(VT(10), ["a" * 12 + "\b\b\b\bX"]).lines() == ["a" * 10, "Xa"]


def test_vt_keeps_rows_scrolled_off_the_top():
    vt = render(VT(20, rows=3), ["line %d\n" % i for i in range(10)])
    assert vt.lines() == ["line %d" % i for i in range(10)]
    assert vt.cursor == (10, 0)


def test_vt_wide_characters_take_two_cells():
    vt = render(VT(4), ["中文中"])
    assert vt.lines() == ["中文", "中"]


# PyCharm run window


@pytest.mark.parametrize("chunks, shown", [
    (["abc\rxy"], ["xy"]),
    (["abcdef\rxy"], ["xy"]),  # the whole line is erased, not overwritten
    (["abc\b\bz"], ["az"]),
    (["ab\n\b\bc"], ["ab", "c"]),  # "\b" never crosses a line start
    (["a\r\nb\r\n"], ["a", "b"]),
    (["\x1b[Kfoo"], ["foo"]),
    (["\x1b[?25lfoo\x1b[1A\x1b[?25h"], ["foo"]),
    (["\x1b[3", "2mok"], ["ok"]),  # a sequence split across writes
    (["x" * 300], ["x" * 300]),  # no wrapping
])
def test_pycharm_rendering(chunks, shown):
    assert render(PyCharm(), chunks).lines() == shown


def test_pycharm_keeps_colour_but_strips_it_from_lines():
    pc = render(PyCharm(), ["\x1b[32mok\x1b[0m\n"])
    assert pc.lines() == ["ok"]
    assert pc.saw_color


def test_pycharm_other_csi_is_not_colour():
    pc = render(PyCharm(), ["\x1b[K\x1b[2Kfoo"])
    assert not pc.saw_color


def test_pycharm_lone_escape_is_shown_as_text():
    assert render(PyCharm(), ["\x1b7bar"]).lines() == ["\x1b7bar"]
    assert render(PyCharm(), ["foo\x1b", "(B"]).lines() == ["foo\x1b(B"]


def test_pycharm_stderr_lands_on_the_half_drawn_progress_line():
    pc = render(PyCharm(), ["progress", ("stderr", "warn\n")])
    assert pc.lines() == ["progresswarn"]


def test_pycharm_carriage_return_on_one_stream_erases_the_other():
    pc = render(PyCharm(), [("stderr", "warning"), "\r50%"])
    assert pc.lines() == ["50%"]


def test_pycharm_trailing_carriage_return_blanks_the_line():
    pc = render(PyCharm(), ["done\n", "epoch 1", "\r"])
    assert pc.lines() == ["done"]
    pc.feed("\repoch 2")
    assert pc.lines() == ["done", "epoch 2"]


# Legacy Windows console


def test_conhost_draws_escape_sequences_as_garbage():
    con = render(LegacyConhost(40), ["\x1b[32mok"])
    assert con.lines() == ["←[32mok"]
    assert con.garbage()


def test_conhost_plain_ascii_is_not_garbage():
    con = render(LegacyConhost(40), ["50% done\n"])
    assert con.lines() == ["50% done"]
    assert not con.garbage()


def test_conhost_line_of_exactly_the_width_leaves_stale_row():
    # Immediate wrap: the cursor is on the next row before "\r" arrives.
    con = render(LegacyConhost(40), ["a" * 40, "\rbbb"])
    assert con.lines() == ["a" * 40, "bbb"]
    assert render(LegacyConhost(40), redraw(39, 3)).lines() == ["2" * 39]


def test_conhost_newline_after_a_full_row_leaves_an_empty_row():
    assert render(LegacyConhost(10), ["a" * 10 + "\nb"]).lines() == ["a" * 10, "", "b"]


def test_conhost_carriage_return_overwrites_without_erasing():
    assert render(LegacyConhost(40), ["abcdef\rxy"]).lines() == ["xycdef"]


def test_conhost_backspace_is_not_destructive_and_stops_at_column_0():
    con = render(LegacyConhost(40), ["abc\b\b"])
    assert con.lines() == ["abc"]
    assert con.cursor == (0, 1)
    assert render(LegacyConhost(40), ["ab\n\b\bX"]).lines() == ["ab", "X"]
    assert render(LegacyConhost(10), ["a" * 10 + "\bX"]).lines() == ["a" * 10, "X"]


def test_conhost_tab_goes_to_next_multiple_of_8():
    con = render(LegacyConhost(40), ["a\tb"])
    assert con.lines() == ["a       b"]
    assert con.cursor == (0, 9)


def test_conhost_cp936_box_drawing_is_double_width():
    con = render(LegacyConhost(5, codepage=936), ["━━━"])
    # Two fit on the first row (4 cells); the third does not fit the last cell.
    assert con.lines() == ["━━", "━"]
    assert con.cursor == (1, 2)
    assert not con.garbage()


def test_conhost_cp936_overwriting_half_a_wide_char_blanks_it():
    assert render(LegacyConhost(10, codepage=936), ["中文\rx"]).lines() == ["x 文"]


def test_conhost_cp437_cannot_draw_box_drawing_or_cjk():
    con = render(LegacyConhost(40), ["━━ 中"])
    assert con.lines() == ["?? ?"]
    assert con.garbage()


def test_conhost_cp437_draws_its_own_characters():
    con = render(LegacyConhost(40), ["é █"])
    assert con.lines() == ["é █"]
    assert not con.garbage()


# Redirected log file


def test_log_keeps_control_characters():
    log = render(LogReader(), ["a\b\rb\n"])
    assert log.lines() == ["a\b\rb"]
    assert log.has_control()
    assert log.control_chars() == ["\b", "\r"]
    assert log.complete()


def test_log_plain_lines():
    log = render(LogReader(), ["epoch 1\tloss 0.5\n", ("stderr", "warn\n")])
    assert log.lines() == ["epoch 1\tloss 0.5", "warn"]
    assert not log.has_control()
    assert log.complete()


def test_log_colour_codes_are_control_characters():
    assert render(LogReader(), ["\x1b[32mok\n"]).control_chars() == ["\x1b"]


def test_log_unfinished_last_line_is_incomplete():
    log = render(LogReader(), ["done\n", "50%"])
    assert log.lines() == ["done", "50%"]
    assert not log.complete()


def test_log_of_stdout_only_leaves_stderr_out():
    log = render(LogReader(streams=("stdout",)), ["a\n", ("stderr", "b\n")])
    assert log.text() == "a\n"


# GitLab job log


@pytest.mark.parametrize("chunks, shown", [
    (["a\rb\n"], ["b"]),
    (["a\r\nb"], ["a", "b"]),
    (["10%\r", "50%\r", "100%\n"], ["100%"]),
    (["\x1b[Kfoo\n"], ["foo"]),
    (["a\bb\n"], ["a\bb"]),  # "\b" is shown as text
])
def test_gitlab_rendering(chunks, shown):
    assert render(GitLabLog(), chunks).lines() == shown


def test_gitlab_keeps_colour_but_strips_it_from_lines():
    log = render(GitLabLog(), ["\x1b[32mok\x1b[0m\n"])
    assert log.lines() == ["ok"]
    assert log.saw_color
    assert not render(GitLabLog(), ["\x1b[Kok\n"]).saw_color


# Factory and shared interface


@pytest.mark.parametrize("name, cls", [
    ("vt", VT), ("pycharm", PyCharm), ("conhost-437", LegacyConhost),
    ("conhost-936", LegacyConhost), ("log", LogReader), ("gitlab", GitLabLog),
])
def test_screen_factory(name, cls):
    model = screen(name, columns=30)
    assert isinstance(model, cls)
    if cls in (VT, LegacyConhost):
        assert model.columns == 30


def test_screen_factory_rejects_unknown_names():
    with pytest.raises(ValueError):
        screen("teletype")


@pytest.mark.parametrize("name", MODELS)
def test_plain_complete_lines_look_the_same_everywhere(name):
    model = render(name, ["epoch 1/2 loss 0.5\n", ("stderr", "done\n")], columns=40)
    assert model.lines() == ["epoch 1/2 loss 0.5", "done"]
    assert model.text() == "epoch 1/2 loss 0.5\ndone" + ("\n" if name in ("log", "idle") else "")


@pytest.mark.parametrize("name", MODELS)
def test_unknown_stream_is_rejected(name):
    with pytest.raises(ValueError):
        screen(name).feed("x", stream="stdin")


# The IDEs' own test cases, as data: the models must give what the IDEs' tests expect.
# FLUSH stands for PyCharm's 200 ms flush of the run window between two writes.

FLUSH = None


def feed_pycharm(writes):
    window = PyCharm()
    for write in writes:
        if write is FLUSH:
            window.flush()
        elif isinstance(write, tuple):
            window.feed(write[1], write[0])
        else:
            window.feed(write)
    return window


# src: JetBrains/intellij-community ConsoleViewImplTest.kt (testCRLF, testCRTypeCR,
# testCRTypeTearCR, testCRTypeFlushCR, testCRPrintCR, testTypingAfterMultipleCR,
# testBackspaceDeletesPreviousOutput, testBackspaceChangesHighlightingRanges1-3; the error
# output there is stderr here, system output stdout)
CONSOLE_VIEW_CASES = [
    (["Hello\r", "\nWorld"], "Hello\nWorld"),
    (["\rHi\rMr\rSmith"], "Smith"),
    (["Hi", "\rMr\rSmith"], "Smith"),
    (["Hi", FLUSH, "\rMr\rSmith"], "Smith"),
    ([part for i in range(25) for part in ("\r%d" % i, FLUSH)], "24"),
    (["System output\n", "\r\r\r\r\r\r\r", FLUSH], "System output\n"),
    (["Test", "\b"], "Tes"),
    (["Test", "\b", "\b"], "Te"),
    (["Hello", "\b\b\b\b", "allo"], "Hallo"),
    (["A\b\b\bha\bop", "\bul\bpp", "\b\bsl\be"], "house"),
    (["\b\bTest\b\b\b\b\b", "Done", "\b\b\b"], "D"),
    (["\b\b\b\b\b\b\b"], ""),
    (["The\b\b\b\b", "first lint", "\be\n", "\b\b\bsecond lone", "\b\b\bine\n",
      "\bthird\b\b\b\b\b\b\b\bthe third line"], "first line\nsecond line\nthe third line"),
    (["\n\n\b\bStart\nEnq\bd"], "\n\nStart\nEnd"),
    (["\nEnter your pass:", "\rsecreq\bt"], "\nsecret"),
    (["test\b\b\b\b\b\bline1\n\blinee\b2\r\n\blin\b\b\b\bline?", "\b3\n", "Done\n"],
     "line1\nline2\nline3\nDone\n"),
    (["Starting\n", ("stderr", "Hello"), "\b\b\b\bDone"], "Starting\nHDone"),
    (["Ready\n\bSet\b\b\b\b\bSteady\n", ("stderr", "\b\b\bGo"), "token1", "\b\b\b\btoken2\bX\n", "temp",
      "\b" * 9, "_", "Done"], "Ready\nSteady\nGototokenX\n_Done"),
    (["Test1\n", "Test2", ("stderr", "\b" * 6)], "Test1\n"),
]


@pytest.mark.parametrize("writes, document", CONSOLE_VIEW_CASES)
def test_pycharm_model_passes_pycharms_console_view_tests(writes, document):
    assert feed_pycharm(writes).document == document
    flushed = [part for write in writes if write is not FLUSH for part in (write, FLUSH)]
    if "\r" not in "".join(w if isinstance(w, str) else w[1] for w in writes if w is not FLUSH):
        assert feed_pycharm(flushed).document == document  # the same with a flush after each write


def test_pycharm_trailing_carriage_return_and_a_flush_erase_the_line():
    # TokenBuffer.java: a \r left at the end is settled by the flush before the \n arrives
    assert feed_pycharm(["Hello\r", FLUSH, "\nWorld"]).document == "\nWorld"


# src: JetBrains/intellij-community AnsiEscapeDecoderTest.java: the text each case leaves
# in the window (the colours themselves are not modelled: only that some were shown)
ANSI_DECODER_CASES = [
    (["simple text"], "simple text", False),
    (["This is \x1b[1;3mItalic Bold"], "This is Italic Bold", True),
    (["This is \x1b[1m\x1b[3mItalic Bold"], "This is Italic Bold", True),
    (["Chrome 35.0.1916 (Linux): Executed 0 of 1\x1b[32m SUCCESS\x1b[39m (0 secs / 0 secs)\n"],
     "Chrome 35.0.1916 (Linux): Executed 0 of 1 SUCCESS (0 secs / 0 secs)\n", True),
    (["E\x1b[41m\x1b[37mE\x1b[0mE"], "EEE", True),
    (["Plain\x1b[32mGreen\x1b[39mNormal\x1b[1A\x1b[2K\x1b[31mRed\x1b[39m"], "PlainGreenNormalRed", True),
    (["\x1b[0m\x1b[32mgreen\x1b[0m\x1b[0K\x1b[?25l\n"], "green\n", True),
    (["\x1b[32mGreen\x1b[\x01World\n"], "Green\x1b[\x01World\n", True),
    (["\x1b\n"], "\x1b\n", False),
    (["\x1b[\n"], "\x1b[\n", False),
    (["\x1b\nHello,", "\x1b[31mWorld"], "\x1b\nHello,World", True),
    (["\x1bHello,"], "\x1bHello,", False),
    (["\x1b[Hello,"], "ello,", False),
    (["something[\x1b]asdf[\x1b[]"], "something[\x1b]asdf[", False),
    (["\x1b", "[33m Hello\x1b[3", "4m, Work!"], " Hello, Work!", True),
    (["\x1b[1m\x1b[31m red\x1b[0m normal\x1b[1m\x1b[32m green\x1b", "[0m\n"], " red normal green\n", True),
    ([("stdout", "\x1b[33m Hello,"), ("stderr", "World!\n"), ("stderr", "\x1b[41m Changed stderr background"),
      ("stdout", "Unchanged stdout background")],
     " Hello,World!\n Changed stderr backgroundUnchanged stdout background", True),
    (["Hello \x1b[33;41;m Not colored \x1b[m Normal"], "Hello  Not colored  Normal", True),
    (["\x1b=Hello"], "Hello", False),
]


@pytest.mark.parametrize("writes, document, colour", ANSI_DECODER_CASES)
def test_pycharm_model_passes_pycharms_ansi_decoder_tests(writes, document, colour):
    window = feed_pycharm(writes)
    assert (window.document, window.saw_color) == (document, colour)
    one_by_one = [(w[0], c) if isinstance(w, tuple) else c for w in writes
                  for c in (w[1] if isinstance(w, tuple) else w)]
    one_by_one = [(w[0], w[1]) if isinstance(w, tuple) else w for w in one_by_one]
    assert feed_pycharm(one_by_one).document == document  # written a character at a time


# src: jupyterlab/jupyterlab packages/outputarea/test/model.spec.ts (#add): each list is
# the stream's writes, the texts what the output keeps after each
JUPYTERLAB_CASES = [
    (["Jupyter\rj", "\njj\bupyter", "\r\r\njupyter"],
     ["jupyter", "jupyter\njupyter", "jupyter\njupyter\njupyter"]),
    (["abc\r", "\n-"], ["abc\r", "abc\n-"]),
    (["The meaning of life is....\nSome people... ", "More text."],
     ["The meaning of life is....\nSome people... ",
      "The meaning of life is....\nSome people... More text."]),
]


@pytest.mark.parametrize("writes, kept", JUPYTERLAB_CASES)
def test_jupyter_model_passes_jupyterlabs_output_area_tests(writes, kept):
    area = JupyterOutput()
    for write, text in zip(writes, kept):
        area.feed(write)
        assert area.outputs() == [text]


def test_jupyter_model_cancels_a_backspace_with_the_character_before_it():
    area = render(JupyterOutput(), ["a" * 50 + "a\b" + "a" * 50])
    assert area.outputs() == ["a" * 100]


# src: microsoft/vscode notebookCommon.test.ts ("Notebook stream compression"); left out:
# the cases where "$" in the text acts as a JavaScript replacement pattern ("$$\r\r") and
# the one splitting a surrogate pair (a JavaScript string counts UTF-16 units)
VSCODE_CASES = [
    ("", ""),
    ("plain\ntext", "plain\ntext"),
    ("abcdef\rxy", "xycdef"),
    ("abcdef\rxy\rz", "zycdef"),
    ("xy\rlonger\rz", "zonger"),
    ("abc\r", "abc\r"),
    ("abc\r\r", "abc"),
    ("abc\r\r\r", "abc"),
    ("abcdef\rxy\r", "xycdef\r"),
    ("abc\r\n", "abc\n"),
    ("abc\r\r\n", "abc\n"),
    ("abc\rx\ndef\ry", "xbc\nyef"),
    ("abc\u2028def\rx\u2029ghi\ry", "abc\u2028xef\u2029yhi"),
    ("\u6f22\u5b57\rX", "X\u5b57"),
    ("abc\b\bX\rY", "YX"),
    ("a\n\b", "a\n\b"),
    ("abc\r\bX", "abcX"),
    ("abc\r$xy", "abc\r$xy"),
    ("abc\r$xy\nq\rr", "$xy\nr"),
    ("price $5\nabcdef\rxy", "price $5\nxycdef"),
    ("abcdefghijklmnop" + "\r01234567\rxy\rz" * 4000 + "\n", "zy234567ijklmnop\n"),
]


@pytest.mark.parametrize("text, kept", VSCODE_CASES, ids=range(len(VSCODE_CASES)))
def test_notebook_model_passes_vscodes_stream_compression_tests(text, kept):
    assert fix_carriage_return(text) == kept


def test_notebook_counts_escape_codes_as_characters_so_a_shorter_frame_leaves_pieces_of_them():
    frames = ["\r\x1b[32mloss: 0.6931\x1b[0m\x1b[K", "\r\x1b[32mloss: 0.69\x1b[0m\x1b[K"]
    assert render(JupyterOutput(), frames).lines() == ["loss: 0.69[K"]


# src: spyder-ide/qtconsole qtconsole/tests/test_00_console_widget.py (test_special_characters,
# test_erase_in_line, test_print_carriage_return), each on a fresh console
QTCONSOLE_CASES = [
    (["xyz\b\b=\n"], "x=z\n"),
    (["foo\b\nbar\n"], "foo\nbar\n"),
    (["foo\b\nbar\r\n"], "foo\nbar\n"),
    (["abc\rxyz\b\b="], "x=z"),
    (["Hello\x1b[1KBye"], "     Bye"),
    (["Hello\x1b[0KBye"], "HelloBye"),
    (["Hello\r\x1b[0KBye"], "Bye"),
    (["Hello\r\x1b[1KBye"], "Byelo"),
    (["Hello\r\x1b[2KBye"], "Bye"),
    (["Hello\x1b[2K\rBye"], "Bye"),
    (["Hello\n", "World\r", "*" * 10, "\r"] + list("0123456789") + ["\r\n"], "Hello\n0123456789\n"),
    (["\nF", "o", "o", "\r", "Bar", "\n"], "\nBar\n"),
]


@pytest.mark.parametrize("writes, document", QTCONSOLE_CASES)
def test_spyder_model_passes_qtconsoles_widget_tests(writes, document):
    assert render(QtConsole(), writes).document == document


def test_spyder_erase_below_wipes_everything_printed_before():
    console = render(QtConsole(), ["Epoch 1/3\n", "12/12 loss: 0.6\n", "\x1b[J"])
    assert console.lines() == [] and console.wiped


# Models built from sources that ship no such tests


def test_idle_shows_every_control_character_as_it_is():
    shell = render(IDLE(), ["\r\x1b[1m 1/16\x1b[0m\x1b[K", "\r 3/16\n", ("stderr", "warn\n")])
    assert shell.lines() == ["\r\x1b[1m 1/16\x1b[0m\x1b[K\r 3/16", "warn"]
    assert shell.control_chars() == ["\r", "\x1b"]


@pytest.mark.parametrize("writes, shown", [
    (["abcdef\rxy"], ["xycdef"]),                       # overwrites without clearing
    (["abcdef\rxy\n"], ["xycdef"]),                     # the line break goes after the old tail
    (["abc\b\bX"], ["aXc"]),
    (["ab\n\b\bX"], ["ab", "X"]),                       # never past the line's start
    (["abcdef\x1b[3DX"], ["abcXef"]),
    (["abcdef\r\x1b[KX"], ["Xbcdef"]),                  # ESC[K dropped
    (["one\n", "\x1b[Atwo"], ["one", "two"]),           # cursor up dropped
    (["\x1b[32mok\x1b[0m"], ["ok"]),
])
def test_thonny_shell(writes, shown):
    assert render(Thonny(), writes).lines() == shown


def test_thonny_shows_colour_on_stdout_only():
    assert render(Thonny(), ["\x1b[32mok"]).saw_color
    assert not render(Thonny(), [("stderr", "\x1b[32mok")]).saw_color


def test_vscode_debug_console_shows_carriage_returns_and_collapses_repeated_lines():
    console = render(DebugConsole(), ["a\rb\n", "same\n", "same\n", "\x1b[32mok\x1b[K\n"])
    assert console.counts() == [("a\rb", 1), ("same", 2), ("ok", 1)]
    assert console.saw_color
    assert render(DebugConsole(), ["old\n", "\x1b[2J", "new\n"]).lines() == ["new"]
