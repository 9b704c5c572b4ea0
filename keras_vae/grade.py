"""Grades an implementation of the contract and writes Gradescope's `results.json`.

Usage: `python -m keras_vae.grade [--impl MODULE] [--json PATH] [--timeout SECONDS]
[--deadline SECONDS] [--memory-limit MB] [--seed N] [--sandbox-user NAME]`, or for a whole
class `python -m keras_vae.grade --submissions DIR --out OUT [--workers N]` (see
`keras_vae/graded/gradebook.py`).

The grading process never imports the submission. A sandboxed child process imports it and
reports observations (numbers, arrays, exception texts) for each rubric item over a channel this
process owns; this process validates them and judges them against float64 NumPy witnesses. The
rubric, its points and the maximum are fixed here. A child that hangs, crashes, exits or runs out
of memory costs only the item it was running; the grader starts a new child for the rest, and
every item that did not finish scores 0 with the reason, so the maximum never changes.
"""

import argparse
import os
import sys
import time
import traceback

from keras_vae.graded import children, flags, grading, rubric, sandbox
from keras_vae.graded.report import format_rubric, gradescope_results, write_json
from keras_vae.impl import IMPL_HELP

DEFAULTS = grading.DEFAULTS


def grade(impl=None, timeout=None, deadline=None, memory_limit=None, seed=None,
          sandbox_user=sandbox.DEFAULT_USER, paths=None):
    """Grades `impl` (a module name, found in the folders `paths` or on `sys.path`); returns
    `(rows, report)`.

    Each row has `id`, `points`, `title`, `status` (`passed` or `failed`) and `message`.
    `report` holds what the instructor sees: flagged code, the seed kind, containment notes and
    the tail of the submission's output.
    """
    from keras_vae.impl import default_impl, locate

    impl = impl or default_impl()
    if seed is None:
        seed, seed_kind = grading.grading_seed()
    else:
        seed_kind = "given"
    user, containment = sandbox_user_or_note(sandbox_user, seed_kind)
    location = locate(impl, paths)
    search = [location.root] if location else list(paths or [])
    files = flags.read(location.files) if location else {}
    limits = children.Limits(timeout or DEFAULTS["timeout"],
                             time.monotonic() + (deadline or DEFAULTS["deadline"]),
                             deadline or DEFAULTS["deadline"],
                             memory_limit or DEFAULTS["memory_limit"])
    return grading.grade(impl, search, seed, seed_kind, limits, user, containment, files)


def sandbox_user_or_note(name, seed_kind="public"):
    """`(user, containment)`: whom the submission runs as, and the sentence that says so."""
    if not name or name == "none":
        return None, "no sandbox user was asked for, so the submission ran as the grader's user"
    user, note = sandbox.sandbox_user(name, sys.executable)
    if user is not None:
        unsafe = sandbox.writable_by(user, [os.getcwd(), sandbox.ROOT,
                                            os.path.join(sandbox.ROOT, "keras_vae"),
                                            os.path.dirname(os.path.abspath(__file__))])
        if not unsafe:
            return user, f"the submission ran as user {user[2]!r}"
        user, note = None, (f"user {name!r} can write {', '.join(unsafe)}, where the grader "
                            "runs or imports from")
    if seed_kind != "secret":
        note += ("; on the grader's own account a submission can change that account's files, "
                 "so this score is feedback")
    return None, note


def failed_results(error, start):
    """results.json for a grading that could not finish: every item 0, with the reason."""
    message = f"not graded: the grader failed ({type(error).__name__}: {str(error)[:300]})"
    rows = list(rubric.rows(rubric.rubric(), "failed", message).values())
    report = {"seed": "unknown", "flags": [], "containment": "unknown",
              "output_tail": traceback.format_exc()[-3000:]}
    return rows, gradescope_results(rows, time.monotonic() - start, format_rubric(rows), report)


def _positive(parser, flag, value):
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number > 0 or number == float("inf"):
        parser.exit(2, f"error: Invalid value for `{flag}`: expected a positive number, "
                       f"received {value!r}.\n")
    return number


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m keras_vae.grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", default=None,
                        help=IMPL_HELP)
    parser.add_argument("--json", default=None, help="write Gradescope's results.json here")
    parser.add_argument("--timeout", default=str(DEFAULTS["timeout"]),
                        help="seconds allowed per test (default: %(default)s)")
    parser.add_argument("--deadline", default=str(DEFAULTS["deadline"]),
                        help="seconds allowed for the whole grading (default: %(default)s)")
    parser.add_argument("--memory-limit", default=str(DEFAULTS["memory_limit"]),
                        help="MB of memory the submission's processes may use together "
                             "(default: %(default)s)")
    parser.add_argument("--seed", default=None, help="seed of the graded inputs (default: the "
                        "autograder's secret seed where installed, else the public seed)")
    parser.add_argument("--sandbox-user", default=sandbox.DEFAULT_USER,
                        help="user that runs the submission when the grader is root, or 'none' "
                             "(default: %(default)s)")
    parser.add_argument("--submissions", default=None, metavar="DIR",
                        help="grade every submission in DIR (folders or .zip files) instead")
    parser.add_argument("--out", default=None, metavar="OUT",
                        help="with --submissions: where gradebook.csv and OUT/<name>/results.json go")
    parser.add_argument("--workers", default="2", help="with --submissions: submissions graded "
                        "at once (default: %(default)s)")
    args = parser.parse_args(argv)
    timeout = _positive(parser, "--timeout", args.timeout)
    deadline = _positive(parser, "--deadline", args.deadline)
    memory_limit = _positive(parser, "--memory-limit", args.memory_limit)
    seed = None
    if args.seed is not None:
        if not args.seed.isdigit():
            parser.exit(2, f"error: Invalid value for `--seed`: expected a non-negative integer, "
                           f"received {args.seed!r}.\n")
        seed = int(args.seed)
    if args.submissions is not None:
        return _grade_class(parser, args)
    start = time.monotonic()
    sandbox.become_subreaper()
    try:
        rows, report = grade(args.impl, timeout, deadline, memory_limit, seed, args.sandbox_user)
        table = format_rubric(rows)
        results = gradescope_results(rows, time.monotonic() - start, table, report)
    except Exception as error:  # noqa: BLE001  (results.json is written whatever happened)
        rows, results = failed_results(error, start)
        table = format_rubric(rows)
    print(table)
    if args.json:
        write_json(args.json, results)
    return 0


def _grade_class(parser, args):
    if not os.path.isdir(args.submissions):
        parser.exit(2, f"error: Invalid value for `--submissions`: expected a folder of "
                       f"submissions, received {args.submissions!r}.\n")
    if not args.out:
        parser.exit(2, "error: Invalid value for `--out`: expected a folder for the gradebook, "
                       "received nothing.\n")
    if not args.workers.isdigit() or int(args.workers) < 1:
        parser.exit(2, f"error: Invalid value for `--workers`: expected a positive integer, "
                       f"received {args.workers!r}.\n")
    from keras_vae.graded.gradebook import grade_class

    flags = ["--timeout", args.timeout, "--deadline", args.deadline, "--memory-limit",
             args.memory_limit, "--sandbox-user", args.sandbox_user]
    if args.seed is not None:
        flags += ["--seed", args.seed]
    path = grade_class(args.submissions, args.out, int(args.workers), flags)
    print(f"Gradebook: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
