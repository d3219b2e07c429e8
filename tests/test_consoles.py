"""The console models follow docs/consoles.md: these tests protect the models."""

import pytest
from consoles import MODELS, VT, GitLabLog, LegacyConhost, LogReader, PyCharm, render, screen


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
    assert model.text() == "epoch 1/2 loss 0.5\ndone" + ("\n" if name == "log" else "")


@pytest.mark.parametrize("name", MODELS)
def test_unknown_stream_is_rejected(name):
    with pytest.raises(ValueError):
        screen(name).feed("x", stream="stdin")
