"""Progress lines: Keras's numbers, and fitting a transient line to a width."""
import re

import pytest

import ideconsole.render as render
from ideconsole.cells import cell_width, strip_ansi
from ideconsole.render import (
    Look,
    State,
    fitted_line,
    format_elapsed,
    format_eta,
    format_per_step,
    format_value,
    log_line,
    progress_line,
    summary_line,
)

VALUES = [("accuracy", "0.6000"), ("loss", "0.8000"), ("mean_absolute_error", "0.1234"),
          ("val_accuracy", "0.5000"), ("val_loss", "0.9000")]
STATE = State(step=12, total=57, elapsed=6.0, per_step=0.5, values=VALUES[:3])
KERAS3 = Look(unicode=True, color=True)
ASCII = Look(unicode=False, color=False)


@pytest.mark.parametrize("value,text", [
    (0.69314, "0.6931"), (1e-5, "1.0000e-05"), (0, "0.0000e+00"), (-2.5, "-2.5000"),
    (float("nan"), "nan"), (float("inf"), "inf"), ("n/a", "n/a"), (None, "None"), (10 ** 400, "1e+400"),
])
def test_values_are_formatted_like_keras(value, text):
    if value == 10 ** 400:
        assert format_value(value).startswith("1") or format_value(value).endswith("...")
    else:
        assert format_value(value) == text


def test_eta_and_time_per_step_like_keras():
    assert [format_eta(s) for s in (5, 59.9, 60, 60.5, 123, 3600.5, 3723)] == [
        "5s", "59s", "60s", "1:00", "2:03", "1:00:00", "1:02:03"]
    assert [format_per_step(s) for s in (2, 0.012, 0.000015)] == ["2s/step", "12ms/step", "15us/step"]


def test_elapsed_time_is_rounded_seconds_as_in_every_keras():
    assert [format_elapsed(s) for s in (0.4, 10.9, 65, 3723.2, -1)] == ["0s", "11s", "65s", "3723s", "0s"]


def test_final_lines_show_elapsed_time_as_keras_does():
    state = STATE._replace(step=57, elapsed=65.4)
    assert strip_ansi(progress_line(state, KERAS3, final=True)).startswith("57/57 " + "\u2501" * 20 + " 65s ")
    assert progress_line(state, ASCII, final=True).startswith("57/57 [" + "=" * 30 + "] - 65s ")
    assert strip_ansi(progress_line(state._replace(total=None, elapsed=10.9), KERAS3)).startswith(
        "     57/Unknown 11s ")
    assert log_line(state._replace(title="Epoch 3/40"), final=True).startswith("Epoch 3/40 57/57 65s ")
    assert summary_line(state).startswith("57/57 - 65s - ")


def test_keras3_look_mid_epoch():
    line = strip_ansi(progress_line(STATE, KERAS3))
    assert line == ("12/57 " + "\u2501" * 20 + " 22s 500ms/step - accuracy: 0.6000 - loss: 0.8000"
                    " - mean_absolute_error: 0.1234")


def test_keras2_look_mid_epoch():
    line = progress_line(STATE, ASCII)
    assert line.startswith("12/57 [=====>........................] - ETA: 22s 500ms/step - accuracy: 0.6000")


def test_final_line_shows_elapsed_time_and_validation():
    state = STATE._replace(step=57, values=VALUES)
    line = progress_line(state, ASCII, final=True)
    assert line.startswith("57/57 [" + "=" * 30 + "] - 6s 500ms/step")
    assert line.endswith("val_accuracy: 0.5000 - val_loss: 0.9000")


def test_unknown_total_shows_a_running_count():
    line = progress_line(STATE._replace(total=None), ASCII)
    assert line.strip().startswith("12/Unknown - 6s")


def test_without_colour_the_bar_shows_how_far_training_is():
    plain = Look(unicode=True, color=False)
    five, fifteen = (progress_line(STATE._replace(step=step, total=20), plain).split()[1] for step in (5, 15))
    assert five != fifteen
    assert (five.count("\u2501"), fifteen.count("\u2501")) == (5, 15)


@pytest.mark.parametrize("width", [100, 80, 60, 40, 30, 20])
def test_fitted_line_fits_and_keeps_count_and_loss(width):
    line = fitted_line(STATE, KERAS3, width)
    plain = strip_ansi(line)
    assert cell_width(line) <= width
    assert plain.startswith("12/57")
    assert "loss: 0.8000" in plain


def test_fitting_narrows_the_bar_and_abbreviates_before_dropping_metrics():
    line = strip_ansi(fitted_line(STATE, ASCII, 60))
    assert line == "12/57 [>.....] - ETA: 22s - acc: 0.6000 - loss: 0.8000"


def test_fitting_on_east_asian_code_page_counts_wide_bar_cells():
    line = fitted_line(STATE, Look(unicode=True, color=False), 60, ambiguous_wide=True)
    assert cell_width(line, ambiguous_wide=True) <= 60


def test_log_line_says_where_training_is():
    line = log_line(STATE._replace(title="Epoch 3/40"))
    assert line == ("Epoch 3/40 12/57 21% ETA 22s 500ms/step - accuracy: 0.6000 - loss: 0.8000"
                    " - mean_absolute_error: 0.1234")


def test_verbose2_summary_line():
    state = STATE._replace(step=57, values=VALUES[:2])
    assert summary_line(state) == "57/57 - 6s - 500ms/step - accuracy: 0.6000 - loss: 0.8000"


NARROW = State(step=18, total=200, elapsed=6.0, per_step=0.5,
               values=[("accuracy", "0.6000"), ("loss", "0.8123"), ("val_loss", "0.9000")])


@pytest.mark.parametrize("width", range(0, 30))
@pytest.mark.parametrize("look", [KERAS3, ASCII])
def test_narrow_lines_never_show_a_cut_number(width, look):
    line = strip_ansi(fitted_line(NARROW, look, width))
    whole = strip_ansi(progress_line(NARROW, look)).split() + ["18"]
    assert cell_width(line) <= width
    assert all(token in whole for token in line.split() if re.search(r"\d", token)), line
    if width >= 6:
        assert line.lstrip().startswith("18/200")  # the step count is the last thing given up
    if width >= 22:
        assert "loss: 0.8123" in line


def test_a_metric_count_beyond_the_width_costs_one_measure_of_each_metric(monkeypatch):
    """240 metrics (a multi-output model with val_ copies) on an 80-column terminal: the
    cells measured for one redraw stay within a few times the full line, however many
    ways to give metrics up there are."""
    values = [("loss", "0.5000")] + [("output_%d_accuracy" % index, "0.2500") for index in range(239)]
    state = STATE._replace(values=values)
    measured = []

    def counting(text, ambiguous_wide=False):
        measured.append(len(text))
        return cell_width(text, ambiguous_wide)

    monkeypatch.setattr(render, "cell_width", counting)
    line = strip_ansi(fitted_line(state, KERAS3, 80))
    assert sum(measured) <= 3 * len(progress_line(state, KERAS3))
    assert line.startswith("12/57 ") and "loss: 0.5000" in line and cell_width(line) <= 80
    assert line.endswith(" - output_%d_acc: 0.2500" % (line.count(" - ") - 2))  # the first ones, in order


def test_unprintable_metric_names_are_measured_as_shown():
    state = STATE._replace(values=[("loss", "0.5000"), ("\u635f\u5931", "0.1000"), ("e\u0301", "0.2000")])
    for width in range(10, 70):
        assert cell_width(fitted_line(state, KERAS3, width)) <= width


def test_the_full_line_when_the_width_is_unknown():
    assert fitted_line(STATE, KERAS3, None) == progress_line(STATE, KERAS3)
