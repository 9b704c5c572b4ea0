"""Grades a whole class at once: every submission in a folder, in parallel, into a gradebook.

Usage: `python -m keras_vae.grade --submissions DIR --out OUT [--seed-file FILE] [--student NAME
...] [--workers N]`

Each entry of `DIR` is one student's submission: a folder holding `assignments/__init__.py` or
`__init__.py` (up to three folders deep), or a `.zip` of one; its name without `.zip` is the
student's. Each is graded by its own `python -m keras_vae.grade` process (its own sandbox,
timeout and memory limit), so a broken, hanging or hostile submission never stops or changes
the others. `OUT/gradebook.csv` has a row per student (name, score, maximum, status, time graded,
seed, user, then the points of each rubric item); `OUT/<name>/results.json` has the feedback.
Grading into an `OUT` that has a gradebook replaces the rows of the students graded now and keeps
the others'. `class_plan.py` checks a class grading before anyone is graded; `class_report.py`
writes the class report beside the gradebook.
"""

import concurrent.futures
import csv
import dataclasses
import datetime
import io
import json
import os
import sys
import tempfile

from tqdm import tqdm

from keras_vae import atomic
from keras_vae.graded import (backstop, class_report, feedback, grading, report, rubric,
                              submission)

STATUSES = ("graded", "import error", "timed out", "no file found", "refused", "grader failed")
COLUMNS = ("name", "score", "maximum", "status", "graded_at", "seed", "user")
IMPORT_FAILED = (feedback.import_failed(""), feedback.stopped("importing", "")[:-2])
NOT_RUN_SEED = "not used"  # the seed of `report.not_graded`: no submission code ran
TIME_LIMITS = ("took longer than", "grading deadline of", "did not finish in time")



@dataclasses.dataclass(frozen=True)
class Row:
    """One student's line of the gradebook; `points` maps each rubric id to the points earned."""

    name: str
    score: float
    maximum: int
    status: str
    graded_at: str
    seed: str
    user: str
    points: dict


def _results(status, message):
    return status, report.not_graded(message)[1]


def _collapse_import_error(results):
    """One import error reads once: the first item carries it and the others point at it."""
    tests = [t for t in results["tests"] if t["number"] != "instructor.review"]
    first = tests[0]
    first["output"] = first["output"].split("\nFix ", 1)[0]
    for test in tests[1:]:
        test["output"] = (f"not graded: the submission failed to import, see "
                          f"{first['number']}.")
    rows = [{"id": t["number"], "points": int(t["max_score"]), "status": t["status"],
             "title": t["name"], "message": t["output"]} for t in tests]
    results["output"] = report.format_rubric(rows)
    return results


def classify(results):
    """The status of a submission the grader finished (`graded`, `import error`, `timed out`,
    or `refused` where the grader ran none of it), with its results, an import error told
    once."""
    outputs = [t["output"] for t in results["tests"] if t["number"] != "instructor.review"]
    late = any(limit in output for output in outputs for limit in TIME_LIMITS)
    pointer = feedback.told_once("")[:-1]
    if outputs and outputs[0].startswith(IMPORT_FAILED) and all(
            o.startswith(IMPORT_FAILED + (pointer,)) for o in outputs):
        return "timed out" if late else "import error", _collapse_import_error(results)
    if outputs and all(o.startswith("not graded:") for o in outputs):
        return "refused", results
    return "timed out" if late else "graded", results


def grade_one(path, grade_arguments, seconds):
    """Grades one submission in a folder of its own; returns `(status, results)`."""
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory(prefix="keras-vae-class-") as work:
        try:
            upload = submission.unpack(path, os.path.join(work, "upload"))
        except submission.SubmissionError as error:
            return _results("refused", f"the upload was refused: {error}")
        try:
            found = submission.find(upload)
        except submission.SubmissionError as error:
            return _results("no file found", str(error))
        staging = submission.stage(found, os.path.join(work, "staging"))
        results_path = os.path.join(work, "results.json")
        env = dict(os.environ, PYTHONPATH=package_root)
        in_time = backstop.run([sys.executable, "-m", "keras_vae.grade", "--impl", "assignments",
                                "--json", results_path, *grade_arguments], staging, env,
                               seconds, os.path.join(work, "identities"))
        if not in_time:
            return _results("timed out", f"the grading did not finish in time ({seconds:g} s)")
        try:
            with open(results_path) as file:
                results = json.load(file)
        except (OSError, ValueError):
            return _results("grader failed", "the grader could not finish this submission")
        return classify(results)


def _row(name, status, results, plan, graded_at):
    scores = {test["number"]: test["score"] for test in results["tests"]}
    seed = str(results.get("extra_data", {}).get("seed") or plan.seed_kind)
    return Row(name, results["score"], rubric.max_score(), status, graded_at, seed,
               plan.user if seed != NOT_RUN_SEED else "nothing was run",
               {item.id: scores.get(item.id, 0.0) for item in rubric.rubric()})


def read_gradebook(path):
    """The rows of the gradebook at `path` by name (none when there is no file); a column the
    file lacks (one written before statuses were kept) is left empty."""
    if not os.path.exists(path):
        return {}
    with open(path, newline="") as file:
        found = {}
        for line in csv.DictReader(file):
            points = {item.id: float(line.get(item.id) or 0) for item in rubric.rubric()}
            found[line["name"]] = Row(line["name"], float(line["score"]), int(line["maximum"]),
                                      *(line.get(column) or "" for column in COLUMNS[3:]),
                                      points)
    return found


def write_gradebook(path, rows):
    """Writes `rows` (a dict by name) to `path` atomically, by name."""
    items = [item.id for item in rubric.rubric()]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([*COLUMNS, *items])
    for name in sorted(rows):
        row = rows[name]
        writer.writerow([row.name, _number(row.score), row.maximum, row.status, row.graded_at,
                         row.seed, row.user, *(_number(row.points.get(i, 0)) for i in items)])
    atomic.write_text(path, text.getvalue())


def grade_class(plan, out, workers=2, grade_arguments=(), seconds=None):
    """Grades the plan's submissions into `out`; returns `(rows, replaced)`: every row of the
    gradebook by name, and the rows of the students graded now that it replaced.

    Results are written to `out` only once every grading has ended, so no submission's code
    is running while they are written.
    """
    seconds = seconds or 1.5 * _deadline(grade_arguments) + 120
    class_report.load_modules()
    outcomes = {}
    with tempfile.TemporaryDirectory(prefix="keras-vae-seed-") as private:
        arguments = [*grade_arguments, *_seed_arguments(plan, private)]
        with (tqdm(total=len(plan.entries), desc="grading", unit="submission",
                   file=sys.stderr) as bar,
              concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool):
            futures = {pool.submit(grade_one, path, arguments, seconds): name
                       for name, path in plan.entries}
            for future in concurrent.futures.as_completed(futures):
                graded_at = datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds")
                outcomes[futures[future]] = (*future.result(), graded_at)
                bar.update()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "gradebook.csv")
    rows = read_gradebook(path)
    replaced = {}
    for name, _ in plan.entries:
        status, results, graded_at = outcomes[name]
        report.write_results(os.path.join(out, name, "results.json"), results)
        if name in rows:
            replaced[name] = rows[name]
        rows[name] = _row(name, status, results, plan, graded_at)
    write_gradebook(path, rows)
    class_report.write(out, list(rows.values()))
    return rows, replaced


def _seed_arguments(plan, private):
    """The seed flags of each grading: a secret seed goes in a file of the private folder
    `private`, readable by this user alone (a command line is readable by every user)."""
    if plan.seed_kind == "secret":
        path = os.path.join(private, "grading_seed")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(f"{plan.seed}\n")
        return ["--seed-file", path]
    return ["--seed", str(plan.seed)] if plan.seed_kind == "given" else []


def _deadline(grade_arguments):
    """The `--deadline` among `grade_arguments`, else the grader's default."""
    arguments = list(grade_arguments)
    if "--deadline" in arguments:
        return float(arguments[arguments.index("--deadline") + 1])
    return grading.DEFAULTS["deadline"]


def summary(out, rows, replaced, plan):
    """The lines a class grading prints when it is done."""
    counts = {}
    for row in rows.values():
        counts[row.status or "unknown"] = counts.get(row.status or "unknown", 0) + 1
    lines = [f"Gradebook: {os.path.join(out, 'gradebook.csv')} ({len(rows)} "
             f"row{'s' * (len(rows) != 1)}: "
             + ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=_status_order)) + ")"]
    for name in sorted(replaced):
        lines.append(f"Replaced the row of {name}: {_number(replaced[name].score)} -> "
                     f"{_number(rows[name].score)} of {rows[name].maximum} "
                     f"({replaced[name].graded_at or 'time not kept'} -> {rows[name].graded_at})")
    graded = {name for name, _ in plan.entries}
    kept = len(rows) - len(graded)
    if kept:
        lines.append(f"Kept {kept} row{'s' * (kept != 1)} of students not graded now.")
    lines += class_report.summary(out)
    return lines


def _status_order(status):
    return STATUSES.index(status) if status in STATUSES else len(STATUSES)


def _number(value):
    return int(value) if float(value).is_integer() else value
