"""Gradescope's `run_autograder`: find the upload, stage it, grade it, write results.json.

Usage (by the autograder zip's `run_autograder`): `python -m keras_vae.autograder`

Reads `$AUTOGRADER_ROOT/submission` (default `/autograder`), writes
`$AUTOGRADER_ROOT/results/results.json`, always: an upload without a gradable file gets a
results.json with every item at 0 and a message saying what was expected and what was found.
"""

import json
import os
import sys
import tempfile
import time

from keras_vae import grade
from keras_vae.graded import rubric, submission
from keras_vae.graded.report import format_rubric, gradescope_results, write_json

HERE = os.path.dirname(os.path.abspath(__file__))


def visibility():
    """Per-item Gradescope visibility chosen at release (`graded/visibility.json`), if any."""
    try:
        with open(os.path.join(HERE, "graded", "visibility.json")) as file:
            return json.load(file)
    except (OSError, ValueError):
        return {}


def refused_rows(message):
    return [{"id": item.id, "points": item.points, "title": item.title, "status": "failed",
             "message": f"not graded: {message}"} for item in rubric.rubric()]


def autograde(root, staging):
    """Grades `root/submission`; returns the content of results.json."""
    start = time.monotonic()
    try:
        found = submission.find(os.path.join(root, "submission"))
    except submission.SubmissionError as error:
        rows, report = refused_rows(str(error)), {"seed": "not used", "flags": [],
                                                  "containment": "nothing was run"}
    else:
        submission.stage(found, staging)
        os.chdir(staging)
        sys.path.insert(0, staging)
        rows, report = grade.grade("assignments")
    table = format_rubric(rows)
    print(table)
    return gradescope_results(rows, time.monotonic() - start, table, report, visibility())


def main():
    root = os.environ.get("AUTOGRADER_ROOT", "/autograder")
    with tempfile.TemporaryDirectory(prefix="keras-vae-submission-") as staging:
        os.chmod(staging, 0o755)
        results = autograde(root, staging)
    write_json(os.path.join(root, "results", "results.json"), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
