"""Cell widths and cutting: what decides whether a line reaches the last column."""
import pytest
from consoles import VT

from ideconsole.cells import cell_width, strip_ansi, truncate


def test_escape_codes_take_no_cells():
    assert cell_width("\x1b[1m12/57\x1b[0m") == 5


def test_wide_characters_take_two_cells():
    assert cell_width("损失") == 4
    assert cell_width("loss 损失") == 9


def test_box_characters_are_wide_only_on_east_asian_code_pages():
    bar = "\u2501" * 10
    assert cell_width(bar) == 10
    assert cell_width(bar, ambiguous_wide=True) == 20


def test_combining_marks_take_no_cells():
    assert cell_width("e\u0301") == 1


@pytest.mark.parametrize("text", ["e\u0301", "Cafe\u0301 na\u0303o", "x\u20dd", "a\u0300\u0301b",
                                  "\u635f\u5931", "\u2501\u2501\u2500", "\u00ad-", "\u3000\uff21", "\u302a"])
def test_a_line_takes_the_cells_a_terminal_gives_it(text):
    """One rule (`python -m ideconsole clean` places characters by it too): where a terminal
    (pyte, as xterm and VTE through wcwidth) leaves the cursor after the text."""
    terminal = VT(columns=40)
    terminal.feed(text)
    assert cell_width(text) == terminal.cursor[1], text


def test_an_unassigned_code_point_takes_one_cell_on_every_python():
    assert cell_width("\u0378x") == 2  # Python before 3.13 calls it fullwidth


def test_truncate_keeps_colours_and_closes_them():
    line = "\x1b[32m" + "x" * 30 + "\x1b[0m tail"
    cut = truncate(line, 10)
    assert cell_width(cut) == 10
    assert strip_ansi(cut) == "x" * 7 + "..."
    assert cut.endswith("\x1b[0m")


def test_truncate_never_splits_a_wide_character_past_the_width():
    cut = truncate("损失" * 10, 7)
    assert cell_width(cut) <= 7
    assert cut.endswith("...")


def test_text_that_fits_is_untouched():
    for text, width in (("abc", 3), ("abc", 80), ("\x1b[1m3/9\x1b[0m \u635f\u5931", 8), ("e\u0301", 1)):
        assert truncate(text, width) == text, (text, width)


def test_where_no_ellipsis_fits_the_text_is_cut_without_one():
    assert truncate("abcd", 2) == "ab"
    assert truncate("abcd", 3) == "..."


def test_truncate_leaves_a_number_out_rather_than_cut_it():
    line = "\x1b[1m18/200\x1b[0m - loss: 0.8123 - val_loss: 0.9000"
    assert [strip_ansi(truncate(line, width)) for width in (4, 9, 21, 24, 30)] == [
        "...", "18/200...", "18/200 - loss: ...", "18/200 - loss: 0.8123...",
        "18/200 - loss: 0.8123 - val..."]
