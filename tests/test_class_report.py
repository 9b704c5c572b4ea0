"""The class report: pass rates counted from the gradebook's rows, the LMS import, the figure."""

import csv

from keras_vae.graded import class_report, gradebook, rubric
from tests.grading import max_score


def read_rows(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def _row(name, score, status="graded", passed=()):
    points = {item.id: item.points if item.id in passed else 0 for item in rubric.rubric()}
    return gradebook.Row(name, score, max_score(), status, "2026-12-01T10:00:00+00:00", "secret",
                         "nobody", points)


def test_the_class_report_pass_rates_count_the_rows_that_ran(tmp_path):
    """pass_rates.csv counts, per item, the graded rows with its full points; the LMS import has
    one username,score line per row; the figure is written."""
    items = [item.id for item in rubric.rubric()]
    rows = [_row("alice", max_score(), passed=items), _row("bob", 3, passed=items[:2]),
            _row("carol", 0, "import error"), _row("dave", 0, "no file found")]
    class_report.write(str(tmp_path), rows)
    rates = {line["item"]: line for line in read_rows(tmp_path / class_report.RATES)}
    assert set(rates) == set(items)
    for item_id, line in rates.items():
        expected = 2 if item_id in items[:2] else 1
        assert (int(line["passed"]), int(line["ran"])) == (expected, 2), (item_id, line)
    first = list(rates)[0]
    assert float(rates[first]["pass_rate"]) == 0.5, "expected the least passed item first"
    with open(tmp_path / class_report.LMS) as file:
        assert file.read() == "username,score\nalice,54\nbob,3\ncarol,0\ndave,0\n"
    assert (tmp_path / class_report.FIGURE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_figure_has_a_title_labels_and_a_bar_per_item():
    """The figure names the seed and users, labels its axes, and has one bar per rubric item."""
    rows = [_row("alice", max_score(), passed=[i.id for i in rubric.rubric()]), _row("bob", 0)]
    figure = class_report.figure(rows, class_report.pass_rates(rows))
    histogram, rates = figure.subfigs[0].axes[0], figure.subfigs[1].axes[0]
    assert figure._suptitle.get_text() == "Class report: secret seed, submissions run as nobody"
    assert histogram.get_xlabel().startswith(f"Score (out of {max_score()}")
    assert histogram.get_ylabel() == "Students"
    assert len(rates.patches) == len(rubric.rubric()), len(rates.patches)
    assert rates.get_xlabel().startswith("Submissions passing the item (%)")
