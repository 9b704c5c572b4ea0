"""Gradescope's `run_autograder`: find the upload, stage it, grade it, write results.json.

Usage (by the autograder zip's `run_autograder`): `python -I -B -m keras_vae.autograder`

Reads `$AUTOGRADER_ROOT/submission` (default `/autograder`), writes
`$AUTOGRADER_ROOT/results/results.json`, always: an upload without a gradable file, or a grader
that fails, gets a results.json with every item at 0 and a message saying why.

Everything this process runs is imported here, before any submission code runs, and it never
changes its working folder or `sys.path`: the submission is staged in a folder only root can
write and handed to the grader as the one place to find it. The one change to the process is
in `main`: it becomes a child subreaper (see `keras_vae.graded.sandbox`).
"""

import json
import os
import sys
import tempfile
import time
import traceback

from keras_vae.graded import grading, sandbox, submission
from keras_vae.graded.report import (format_rubric, gradescope_results, not_graded, print_text,
                                     write_results)

HERE = os.path.dirname(os.path.abspath(__file__))


def visibility():
    """Per-item Gradescope visibility chosen at release (`graded/visibility.json`), if any."""
    try:
        with open(os.path.join(HERE, "graded", "visibility.json")) as file:
            return json.load(file)
    except (OSError, ValueError):
        return {}


def refused(message, start):
    """results.json's content with every item at 0 and `message` as the reason."""
    return not_graded(message, time.monotonic() - start, visibility=visibility())[1]


def autograde(root):
    """Grades `root/submission`; returns the content of results.json."""
    start = time.monotonic()
    try:
        found = submission.find(os.path.join(root, "submission"))
    except submission.SubmissionError as error:
        return refused(str(error), start)
    with tempfile.TemporaryDirectory(prefix="keras-vae-submission-") as staging:
        os.chmod(staging, 0o755)  # the sandbox user reads the staged file; only root writes
        submission.stage(found, staging)
        rows, report = grading.grade("assignments", paths=[staging])
    table = format_rubric(rows)
    return gradescope_results(rows, time.monotonic() - start, table, report, visibility())


def main():
    root = os.environ.get("AUTOGRADER_ROOT", "/autograder")
    start = time.monotonic()
    sandbox.become_subreaper()  # so that processes the submission detaches are found and killed
    try:
        results = autograde(root)
    except Exception as error:  # the grader failed: the upload still gets every item, at 0
        traceback.print_exc()
        results = refused(f"the autograder failed ({type(error).__name__}: {error}); please "
                          f"tell your instructor.", start)
    write_results(os.path.join(root, "results", "results.json"), results)
    print_text(results["output"])  # the rubric table, once results.json is safe
    return 0


if __name__ == "__main__":
    sys.exit(main())
