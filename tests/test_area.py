"""The status area of several bars: the pure composition (rows or one line, the room left for
the innermost bar) and the strategy that redraws several rows on a VT terminal, replayed
through the VT model."""
import re

from consoles import VT

from ideconsole import area
from ideconsole.strategies import CarriageReturn, StatusRows


def rows(*entries):
    return {key: area.Row(text, brief, depth, since)
            for since, (key, text, brief, depth) in enumerate(entries)}


def test_bars_show_outermost_first_then_in_the_order_they_came():
    up = rows(("keras", "5/10 bar", "5/10", 0), ("inner", "inner 3/4", "inner 3/4", 0),
              ("outer", "outer 1/3", "outer 1/3", -1))
    assert area.stacked(up) == ["outer 1/3", "5/10 bar", "inner 3/4"]
    assert area.composed(up) == "outer 1/3 \u00b7 5/10 \u00b7 inner 3/4"


def test_a_bar_without_a_position_goes_inside_those_up():
    up = rows(("outer", "outer", "outer", 0), ("middle", "middle", "middle", 3))
    assert area.depth_for(up, None) == 4 and area.depth_for(up, 1) == 1 and area.depth_for({}, None) == 0


def test_only_the_innermost_bar_gets_less_than_the_width():
    up = rows(("outer", "outer: 10%|#  | 1/10", "outer 1/10", 0), ("inner", "inner: ...", "inner 3/4", 1))
    assert area.room(up, "outer", 80, None, len) == 80
    assert area.room(up, "inner", 80, None, len) == 80 - len("outer 1/10 \u00b7 ")
    assert area.room(up, "new", 80, None, len) == 80 - len("outer 1/10 \u00b7 inner 3/4 \u00b7 ")
    assert area.room(up, "new", 80, 0, len) == 80  # an outer bar: shown as its brief
    assert area.room(up, "inner", None, None, len) is None
    assert area.room(up, "inner", 5, None, len) == 0


def test_more_bars_than_rows_are_counted_on_the_last_row():
    up = rows(*[(index, "bar %d" % index, "", index) for index in range(8)])
    assert area.stacked(up, 4) == ["bar 0", "bar 1", "bar 2", "... 5 more"]


def test_brief_of_a_keras_line_is_its_step_count():
    assert area.brief_of(area.Row("\x1b[1m 5/10\x1b[0m \x1b[32m━━\x1b[0m 1s", None, 0, 0)) == "5/10"
    assert area.brief_of(area.Row("", None, 0, 0)) == ""
    assert area.brief_of(area.Row("outer:  33%|###  | 1/3", "outer 1/3", 0, 0)) == "outer 1/3"


def screen_after(*writes, columns=40):
    return VT(columns=columns, rows=10).feed_all(writes).lines()


def draw(strategy, shown, lines, columns=None):
    return strategy.draw(shown, lines, tuple(map(len, lines)), columns)


def test_rows_are_redrawn_in_place_and_cleared_when_fewer():
    strategy = StatusRows()
    first, shown = draw(strategy, 0, ["outer 1/3", "inner 10/40", "deepest 2/2"])
    second, shown = draw(strategy, shown, ["outer 2/3", "inner 0/40"])
    assert shown == (9, 10)
    assert screen_after("committed\n", first, second) == ["committed", "outer 2/3", "inner 0/40"]
    third = strategy.commit(shown, "outer 3/3", 9)
    assert screen_after("committed\n", first, second, third, "next\n") == ["committed", "outer 3/3", "next"]


def test_erasing_rows_leaves_the_cursor_where_the_first_was():
    strategy = StatusRows()
    drawn, shown = draw(strategy, 0, ["a", "b", "c"])
    assert screen_after("kept\n", drawn, strategy.erase(shown), "printed\n") == ["kept", "printed"]


def test_one_row_is_drawn_as_a_carriage_return_redraw():
    strategy, plain = StatusRows(), CarriageReturn()
    assert strategy.draw(0, "line", 4) == plain.draw(0, "line", 4) == ("\rline\x1b[K", 4)
    assert strategy.erase(4) == plain.erase(4) and strategy.commit(4, "done", 4) == plain.commit(4, "done", 4)


def rows_up(text):
    return sum(int(count) for count in re.findall(r"\x1b\[(\d+)A", text))


def test_rows_a_narrower_terminal_rewrapped_are_climbed_over():
    """Rows of 30 cells on a terminal narrowed from 40 to 20 columns take two rows each where
    it rewraps them (VTE, kitty, iTerm2: "reflow"): the redraw climbs three rows, not one."""
    strategy = StatusRows("csi", "reflow")
    drawn, shown = draw(strategy, 0, ["outer " + "o" * 24, "inner " + "i" * 24])
    assert shown == (30, 30) and rows_up(drawn) == 0
    assert rows_up(draw(strategy, shown, ["outer 2", "inner 2"])[0]) == 1  # width unchanged
    assert rows_up(draw(strategy, shown, ["outer 2", "inner 2"], columns=20)[0]) == 3
    assert rows_up(strategy.erase(shown, 20)) == 3
    assert rows_up(StatusRows("csi", "truncate").erase(shown, 20)) == 1  # xterm cuts them instead
