"""Grades an implementation of the contract and writes Gradescope's `results.json`.

Usage: `python -m keras_vae.grade [--impl MODULE] [--json PATH] [--timeout SECONDS]
[--deadline SECONDS] [--memory-limit MB] [--seed N | --seed-file FILE] [--sandbox-user NAME]`, or
for a whole class `python -m keras_vae.grade --submissions DIR --out OUT [--seed-file FILE]
[--student NAME ...] [--workers N]` (see `keras_vae/graded/gradebook.py`).

The grading process never imports the submission or TensorFlow. A sandboxed exporter process
imports the submission and writes TensorFlow graphs from configurations alone; once it is gone, a
runner process that never imports submission code checks those graphs, runs them on the graded
inputs and reports what they computed; this process judges that against float64 NumPy witnesses
(`keras_vae/graded/grading.py`, and `docs/grading.md` for what is guaranteed). The rubric, its
points and the maximum are fixed by `keras_vae/graded/rubric.py`: every item that did not finish
scores 0 with the reason.
"""

import importlib.util
import os
import sys
import time
import traceback

from keras_vae import checks, cli
from keras_vae.graded import grading, sandbox
from keras_vae.graded.report import (format_rubric, gradescope_results, not_graded, print_text,
                                     write_results)
from keras_vae.graded.seed_file import read_seed
from keras_vae.impl import IMPL_HELP, locate


def parse_args(argv=None):
    """Parses and checks the command line; returns `(args, timeout, deadline, memory_limit,
    seed)`.

    Raises:
        cli.UsageError: naming the flag as typed.
    """
    parser = cli.ArgumentParser(prog="python -m keras_vae.grade", description=__doc__)
    parser.add_argument("--impl", default=None,
                        help=IMPL_HELP)
    parser.add_argument("--json", default=None, help="write Gradescope's results.json here")
    parser.add_argument("--timeout", default=str(grading.DEFAULTS["timeout"]),
                        help="seconds allowed per test (default: %(default)s)")
    parser.add_argument("--deadline", default=str(grading.DEFAULTS["deadline"]),
                        help="seconds allowed for the whole grading (default: %(default)s)")
    parser.add_argument("--memory-limit", default=str(grading.DEFAULTS["memory_limit"]),
                        help="MB of memory the submission's processes may use together "
                             "(default: %(default)s)")
    parser.add_argument("--seed", default=None, help="seed of the graded inputs (default: the "
                        "autograder's secret seed where installed, else the public seed)")
    parser.add_argument("--seed-file", default=None, metavar="FILE",
                        help="grade with the secret seed of a release: its grading_seed file or "
                             "its autograder.zip")
    parser.add_argument("--sandbox-user", default=sandbox.DEFAULT_USER,
                        help="where the grader is root: 'fresh' runs each stage as a new user id "
                             "of its own, a NAME runs it as that account, 'none' as the "
                             "grader's own user (default: %(default)s)")
    parser.add_argument("--submissions", default=None, metavar="DIR",
                        help="grade every submission in DIR (folders or .zip files) instead")
    parser.add_argument("--out", default=None, metavar="OUT",
                        help="with --submissions: where gradebook.csv and "
                             "OUT/<name>/results.json go")
    parser.add_argument("--workers", default=None, help="with --submissions: submissions graded "
                        "at once (default: 2)")
    parser.add_argument("--student", action="append", metavar="NAME",
                        help="with --submissions: grade only this student's submission, "
                             "replacing their row of OUT/gradebook.csv; repeat for more")
    args = parser.parse_args(argv)
    with cli.bad_input():
        numbers = [checks.positive_number_text(flag, value) for flag, value in (
            ("--timeout", args.timeout), ("--deadline", args.deadline),
            ("--memory-limit", args.memory_limit))]
        seed = None if args.seed is None else checks.integer_text("--seed", args.seed)
        if args.seed_file is not None:
            if seed is not None:
                raise checks.invalid("--seed-file", "to come without --seed", args.seed_file)
            seed = read_seed(args.seed_file)
        if args.submissions is not None:
            if not os.path.isdir(args.submissions):
                raise checks.invalid("--submissions", "a folder of submissions",
                                     args.submissions)
            if not args.out:
                raise checks.invalid("--out", "a folder for the gradebook", checks.NOTHING)
            checks.folder("--out", args.out, "a folder for the gradebook")
            args.workers = checks.integer_text(
                "--workers", "2" if args.workers is None else args.workers, minimum=1)
        else:
            for flag, value in (("--out", args.out), ("--workers", args.workers),
                                ("--student", args.student and args.student[0])):
                if value is not None:
                    raise checks.invalid(flag, "to come with --submissions DIR", value)
            # Found as source files, or by an import hook (an editable install): never run.
            if args.impl and locate(args.impl) is None and importlib.util.find_spec(
                    args.impl.partition(".")[0]) is None:
                raise checks.invalid("--impl", "a module of Python source files, such as "
                                     "assignments", args.impl, "which was not found")
    return (args, *numbers, seed)


def main(argv=None):
    try:
        args, timeout, deadline, memory_limit, seed = parse_args(argv)
    except cli.UsageError as error:
        return cli.usage_error(error)
    if args.submissions is not None:
        return _grade_class(args, seed)
    if args.seed_file is not None:  # as grading.grade does with an installed secret seed
        user, note = sandbox.sandbox_user_or_note(args.sandbox_user, "secret")
        if user is None:
            return cli.usage_error(checks.invalid(
                "--seed-file", "to come with a sandbox user that can run this Python (a "
                "submission run as the grader's own user could read the secret seed)",
                args.seed_file, f"which is refused: {note}"))
    start = time.monotonic()
    sandbox.become_subreaper()
    sandbox.end_stages_on_terminate()
    try:
        rows, report = grading.grade(args.impl, timeout, deadline, memory_limit, seed,
                                     args.sandbox_user)
        if args.seed_file is not None:
            report["seed"] = "secret"  # the release's seed, given in a file
        table = format_rubric(rows)
        results = gradescope_results(rows, time.monotonic() - start, table, report)
    except Exception as error:  # noqa: BLE001  (results.json is written whatever happened)
        rows, results = not_graded(
            f"the grader failed ({type(error).__name__}: {str(error)[:300]})",
            time.monotonic() - start, {"seed": "unknown", "containment": "unknown",
                                       "output_tail": traceback.format_exc()[-3000:]})
        table = format_rubric(rows)
    if args.json:
        write_results(args.json, results)  # before anything is printed: a print can fail
    print_text(table)
    return 0


def _grade_class(args, seed):
    from keras_vae.graded import class_plan, gradebook

    if args.seed_file is not None:
        seed_kind, source = "secret", f"from {args.seed_file}"
    elif seed is not None:
        seed_kind, source = "given", f"--seed {seed}"
    else:
        seed, seed_kind = grading.grading_seed()
        source = ("installed with the autograder" if seed_kind == "secret" else
                  "the one students grade themselves on")
    try:
        with cli.bad_input():
            plan = class_plan.plan(args.submissions, args.student, seed, seed_kind, source,
                                   args.sandbox_user)
    except cli.UsageError as error:
        return cli.usage_error(error)
    print("\n".join(class_plan.announce(plan)), flush=True)
    arguments = ["--timeout", args.timeout, "--deadline", args.deadline, "--memory-limit",
                 args.memory_limit, "--sandbox-user", args.sandbox_user]
    rows, replaced = gradebook.grade_class(plan, args.out, args.workers, arguments)
    print("\n".join(gradebook.summary(args.out, rows, replaced, plan)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
