"""Grades a whole class at once: every submission in a folder, in parallel, into a gradebook.

Usage: `python -m keras_vae.grade --submissions DIR --out OUT [--workers N]`

Each entry of `DIR` is one student's submission: a folder holding `assignments/__init__.py` or
`__init__.py` (up to three folders deep), or a `.zip` of one; its name without `.zip` is the
student's. Each is graded by its own `python -m keras_vae.grade` process (its own sandbox,
timeout and memory limit), so a broken, hanging or hostile submission never stops or changes
the others. Writes `OUT/gradebook.csv` (name, score, maximum, then the points of each rubric
item) and `OUT/<name>/results.json` with the feedback.
"""

import concurrent.futures
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

from tqdm import tqdm

from keras_vae import atomic
from keras_vae.graded import rubric, submission
from keras_vae.graded.report import not_graded, write_results


def _entries(folder):
    names = sorted(os.listdir(folder))
    return [(name[:-4] if name.endswith(".zip") else name, os.path.join(folder, name))
            for name in names if not name.startswith(".")
            and (os.path.isdir(os.path.join(folder, name)) or name.endswith(".zip"))]


def grade_one(path, grade_arguments):
    """Grades one submission in a folder of its own; returns its results."""
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory(prefix="keras-vae-class-") as work:
        try:
            found = submission.find(submission.unpack(path, os.path.join(work, "upload")))
        except submission.SubmissionError as error:
            return not_graded(str(error))[1]
        staging = submission.stage(found, os.path.join(work, "staging"))
        results_path = os.path.join(work, "results.json")
        env = dict(os.environ, PYTHONPATH=package_root)
        subprocess.run([sys.executable, "-m", "keras_vae.grade", "--impl", "assignments",
                        "--json", results_path, *grade_arguments], cwd=staging, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with open(results_path) as file:
                return json.load(file)
        except (OSError, ValueError):
            return not_graded("the grader could not finish this submission")[1]


def grade_class(folder, out, workers=2, grade_arguments=()):
    """Grades every submission in `folder`; returns the path of `out/gradebook.csv`.

    Results are written to `out` only once every grading has ended, so no submission's code
    is running while they are written.
    """
    entries = _entries(folder)
    items = rubric.rubric()
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(grade_one, path, list(grade_arguments)): name
                   for name, path in entries}
        for future in tqdm(concurrent.futures.as_completed(futures), total=len(futures),
                           desc="grading", unit="submission", file=sys.stderr):
            results[futures[future]] = future.result()
    for name, _ in entries:
        write_results(os.path.join(out, name, "results.json"), results[name])
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["name", "score", "maximum"] + [item.id for item in items])
    for name, _ in entries:
        scores = {test["number"]: test["score"] for test in results[name]["tests"]}
        writer.writerow([name, _number(results[name]["score"]), rubric.max_score()]
                        + [_number(scores.get(item.id, 0.0)) for item in items])
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "gradebook.csv")
    atomic.write_text(path, text.getvalue())
    return path


def _number(value):
    return int(value) if float(value).is_integer() else value
