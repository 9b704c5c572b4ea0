"""Grades an implementation of the contract and writes Gradescope's `results.json`.

Usage: `python -m keras_vae.grade [--impl MODULE] [--json PATH] [--timeout SECONDS]
[--deadline SECONDS] [--memory-limit MB] [--seed N] [--sandbox-user NAME]`, or for a whole
class `python -m keras_vae.grade --submissions DIR --out OUT [--workers N]` (see
`keras_vae/graded/gradebook.py`).

The grading process never imports the submission or TensorFlow. A sandboxed exporter process
imports the submission and writes TensorFlow graphs from configurations alone; once it is gone, a
runner process that never imports submission code checks those graphs, runs them on the graded
inputs and reports what they computed; this process judges that against float64 NumPy witnesses
(`keras_vae/graded/grading.py`, and `docs/grading.md` for what is guaranteed). The rubric, its
points and the maximum are fixed here: every item that did not finish scores 0 with the reason.
"""

import os
import sys
import time
import traceback

from keras_vae import checks, cli
from keras_vae.graded import children, code_review, grading, rubric, sandbox
from keras_vae.graded.report import format_rubric, gradescope_results, write_results
from keras_vae.impl import IMPL_HELP, locate

def grade(impl_name=None, timeout=None, deadline=None, memory_limit=None, seed=None,
          sandbox_user=sandbox.DEFAULT_USER, paths=None):
    """Grades the implementation `impl_name` (a module name, found in the folders `paths` or on
    `sys.path`); returns `(rows, report)`.

    Each row has `id`, `points`, `title`, `status` (`passed` or `failed`) and `message`.
    `report` holds what the instructor sees: flagged code, the seed kind, containment notes and
    the tail of the submission's output.
    """
    from keras_vae.impl import default_impl_name

    impl_name = impl_name or default_impl_name()
    if seed is None:
        seed, seed_kind = grading.grading_seed()
    else:
        seed_kind = "given"
    user, containment = sandbox_user_or_note(sandbox_user, seed_kind)
    location = locate(impl_name, paths)
    search = [location.root] if location else list(paths or [])
    files = code_review.read(location.files) if location else {}
    limits = children.Limits(timeout or grading.DEFAULTS["timeout"],
                             time.monotonic() + (deadline or grading.DEFAULTS["deadline"]),
                             deadline or grading.DEFAULTS["deadline"],
                             memory_limit or grading.DEFAULTS["memory_limit"])
    return grading.grade(impl_name, search, seed, seed_kind, limits, user, containment, files)


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
    parser.add_argument("--sandbox-user", default=sandbox.DEFAULT_USER,
                        help="user that runs the submission when the grader is root, or 'none' "
                             "(default: %(default)s)")
    parser.add_argument("--submissions", default=None, metavar="DIR",
                        help="grade every submission in DIR (folders or .zip files) instead")
    parser.add_argument("--out", default=None, metavar="OUT",
                        help="with --submissions: where gradebook.csv and "
                             "OUT/<name>/results.json go")
    parser.add_argument("--workers", default=None, help="with --submissions: submissions graded "
                        "at once (default: 2)")
    args = parser.parse_args(argv)
    with cli.bad_input():
        numbers = [checks.positive_number_text(flag, value) for flag, value in (
            ("--timeout", args.timeout), ("--deadline", args.deadline),
            ("--memory-limit", args.memory_limit))]
        seed = None if args.seed is None else checks.integer_text("--seed", args.seed)
        if args.submissions is not None:
            if not os.path.isdir(args.submissions):
                raise checks.invalid("--submissions", "a folder of submissions",
                                     args.submissions)
            if not args.out:
                raise checks.invalid("--out", "a folder for the gradebook", checks.NOTHING)
            args.workers = checks.integer_text("--workers", args.workers or "2", minimum=1)
        else:
            for flag, value in (("--out", args.out), ("--workers", args.workers)):
                if value is not None:
                    raise checks.invalid(flag, "to come with --submissions DIR", value)
            if args.impl and locate(args.impl) is None:
                raise checks.invalid("--impl", "a module of Python source files, such as "
                                     "assignments", args.impl, "which was not found")
    return (args, *numbers, seed)


def main(argv=None):
    try:
        args, timeout, deadline, memory_limit, seed = parse_args(argv)
    except cli.UsageError as error:
        return cli.usage_error(error)
    if args.submissions is not None:
        return _grade_class(args)
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
        write_results(args.json, results)
    return 0


def _grade_class(args):
    from keras_vae.graded.gradebook import grade_class

    arguments = ["--timeout", args.timeout, "--deadline", args.deadline, "--memory-limit",
                 args.memory_limit, "--sandbox-user", args.sandbox_user]
    if args.seed is not None:
        arguments += ["--seed", args.seed]
    path = grade_class(args.submissions, args.out, args.workers, arguments)
    print(f"Gradebook: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
