"""Cell widths and cutting: what decides whether a line reaches the last column."""
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


def test_short_text_is_untouched():
    assert truncate("abc", 3) == "abc"
    assert truncate("abcd", 2) == "ab"


def test_truncate_leaves_a_number_out_rather_than_cut_it():
    line = "\x1b[1m18/200\x1b[0m - loss: 0.8123 - val_loss: 0.9000"
    assert [strip_ansi(truncate(line, width)) for width in (4, 9, 21, 24, 30)] == [
        "...", "18/200...", "18/200 - loss: ...", "18/200 - loss: 0.8123...",
        "18/200 - loss: 0.8123 - val..."]
