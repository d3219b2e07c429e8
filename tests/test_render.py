"""Progress lines: Keras's numbers, and fitting a transient line to a width."""
import pytest

from ideconsole.cells import cell_width, strip_ansi
from ideconsole.render import (
    Look,
    State,
    fitted_line,
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
    assert [format_eta(s) for s in (5, 123, 3723)] == ["5s", "2:03", "1:02:03"]
    assert [format_per_step(s) for s in (2, 0.012, 0.000015)] == ["2s/step", "12ms/step", "15us/step"]


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


@pytest.mark.parametrize("width", [100, 80, 60, 40, 30, 20])
def test_fitted_line_fits_and_keeps_count_and_loss(width):
    line, _ = fitted_line(STATE, KERAS3, width)
    plain = strip_ansi(line)
    assert cell_width(line) <= width
    assert plain.startswith("12/57")
    assert "loss: 0.8000" in plain


def test_fitting_narrows_the_bar_and_abbreviates_before_dropping_metrics():
    line = strip_ansi(fitted_line(STATE, ASCII, 60)[0])
    assert line == "12/57 [>.....] - ETA: 22s - acc: 0.6000 - loss: 0.8000"


def test_fitting_on_east_asian_code_page_counts_wide_bar_cells():
    line, _ = fitted_line(STATE, Look(unicode=True, color=False), 60, ambiguous_wide=True)
    assert cell_width(line, ambiguous_wide=True) <= 60


def test_log_line_says_where_training_is():
    line = log_line(STATE._replace(title="Epoch 3/40"))
    assert line == ("Epoch 3/40 12/57 21% ETA 22s 500ms/step - accuracy: 0.6000 - loss: 0.8000"
                    " - mean_absolute_error: 0.1234")


def test_verbose2_summary_line():
    state = STATE._replace(step=57, values=VALUES[:2])
    assert summary_line(state) == "57/57 - 6s - 500ms/step - accuracy: 0.6000 - loss: 0.8000"


def test_a_redraw_starts_from_the_last_level_that_fitted():
    line, level = fitted_line(STATE, KERAS3, 50)
    assert level > 0
    again, same = fitted_line(STATE, KERAS3, 50, start=level)
    assert (again, same) == (line, level)
    assert fitted_line(STATE, KERAS3, None) == (progress_line(STATE, KERAS3), 0)
