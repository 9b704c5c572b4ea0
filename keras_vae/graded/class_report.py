"""The class report written beside a gradebook: what a class got right, for an instructor.

`OUT/class_report.png` shows the score distribution as a histogram and each rubric item's pass
rate, the least passed first (the class's common mistakes); `OUT/pass_rates.csv` has the same
rates as numbers; `OUT/lms_grades.csv` has one `username,score` line per student, the two
columns a learning management system's grade import maps (docs/gradescope.md, "Grading a class").
Pass rates count the submissions the grader ran (status `graded` or `timed out`); the histogram
counts every row. The figure is made without pyplot, like `keras_vae/plots.py`.
"""

import csv
import dataclasses
import io
import os
import statistics

from matplotlib.figure import Figure

from keras_vae import atomic
from keras_vae.graded import rubric

FIGURE, RATES, LMS = "class_report.png", "pass_rates.csv", "lms_grades.csv"
RAN = ("graded", "timed out")  # the statuses whose items the grader judged
SCORED = ("graded", "timed out", "import error", "no file found", "refused")


@dataclasses.dataclass(frozen=True)
class PassRate:
    """How many of the submissions the grader ran passed one rubric item."""

    item_id: str
    title: str
    points: int
    passed: int
    ran: int

    @property
    def rate(self):
        return self.passed / self.ran if self.ran else 0.0


def pass_rates(rows):
    """One `PassRate` per rubric item over `rows` (gradebook rows), the least passed first."""
    ran = [row for row in rows if row.status in RAN]
    rates = [PassRate(item.id, item.title, item.points,
                      sum(1 for row in ran if row.points.get(item.id, 0) >= item.points), len(ran))
             for item in rubric.rubric()]
    return sorted(rates, key=lambda rate: (rate.rate, rate.item_id))


def figure(rows, rates):
    """The histogram of scores over `rows` and the pass rate of each item in `rates`."""
    maximum = rubric.max_score()
    fig = Figure(figsize=(11, 4 + 0.24 * len(rates)), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[3.2, 0.24 * len(rates) + 0.8])
    axes = top.subplots()
    scores = [row.score for row in rows]
    bins = list(range(0, maximum + 3, 3))
    axes.hist(scores, bins=bins, color="#4c72b0", edgecolor="white")
    axes.set_xlim(0, bins[-1])
    axes.set_xlabel(f"Score (out of {maximum}; bars 3 points wide)")
    axes.set_ylabel("Students")
    axes.yaxis.get_major_locator().set_params(integer=True)
    statuses = {}
    for row in rows:
        statuses[row.status or "unknown"] = statuses.get(row.status or "unknown", 0) + 1
    if scores:
        median = statistics.median(scores)
        axes.axvline(median, color="black", linestyle="--",
                     label=f"median {median:g}, mean {statistics.fmean(scores):.1f}")
        axes.legend(loc="upper center")
    axes.set_title(f"Scores of {len(rows)} students ("
                   + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) + ")")
    axes = bottom.subplots()
    labels = [f"{rate.item_id} ({rate.points} pt{'s' * (rate.points != 1)})" for rate in rates]
    percent = [100 * rate.rate for rate in rates]
    colors = ["#c44e52" if p < 50 else "#dd8452" if p < 80 else "#55a868" for p in percent]
    positions = range(len(rates))
    axes.barh(positions, percent, color=colors)
    axes.set_yticks(list(positions), labels, fontsize=8)
    axes.set_ylim(len(rates) - 0.5, -0.5)  # the least passed item on top
    axes.set_xlim(0, 112)
    axes.set_xlabel("Submissions passing the item (%): red under 50, orange under 80, "
                    "green from 80")
    for position, rate, p in zip(positions, rates, percent):
        axes.text(p + 1, position, f"{rate.passed}/{rate.ran}", va="center", fontsize=7)
    ran = rates[0].ran if rates else 0
    axes.set_title(f"Pass rate of each rubric item over the {ran} submissions the grader ran, "
                   "least passed first")
    seeds = sorted({row.seed for row in rows if row.status in RAN} or {"no"})
    users = sorted({row.user for row in rows if row.status in RAN} or {"no one"})
    fig.suptitle(f"Class report: {', '.join(seeds)} seed, submissions run as "
                 f"{', '.join(users)}", fontweight="bold")
    return fig


def load_modules():
    """Renders an empty report in memory, so that every module a report needs (matplotlib's
    PNG writer, the rubric's items) is imported before any submission runs: none is imported
    after, when a submission could have planted one."""
    figure([], pass_rates([])).savefig(io.BytesIO(), format="png")


def write(out, rows):
    """Writes the figure, the pass rates and the LMS import of `rows` into the folder `out`."""
    rows = sorted(rows, key=lambda row: row.name)
    rates = pass_rates(rows)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["item", "points", "passed", "ran", "pass_rate", "title"])
    for rate in rates:
        writer.writerow([rate.item_id, rate.points, rate.passed, rate.ran,
                         f"{rate.rate:.4f}", rate.title])
    atomic.write_text(os.path.join(out, RATES), text.getvalue())
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["username", "score"])
    for row in rows:  # a grading that failed (the grader's fault) leaves the score empty
        score = row.score if row.status in SCORED else ""
        writer.writerow([row.name, f"{score:g}" if score != "" else ""])
    atomic.write_text(os.path.join(out, LMS), text.getvalue())
    atomic.replace_atomically(os.path.join(out, FIGURE),
                              lambda partial: figure(rows, rates).savefig(partial, dpi=100,
                                                                          format="png"))


def summary(out):
    """The lines that point an instructor at the report."""
    return [f"Class report: {os.path.join(out, FIGURE)} (pass rates: "
            f"{os.path.join(out, RATES)})",
            f"LMS import (username,score): {os.path.join(out, LMS)}"]
