"""Grades an implementation of the contract and writes Gradescope's `results.json`.

Usage: `python -m keras_vae.grade [--impl MODULE] [--json PATH] [--timeout SECONDS]
[--deadline SECONDS] [--memory-limit MB] [--seed N] [--sandbox-user NAME]`, or for a whole
class `python -m keras_vae.grade --submissions DIR --out OUT [--workers N]` (see
`keras_vae/gradebook.py`).

The grading process never imports the submission. A sandboxed child process imports it and
reports observations (numbers, arrays, exception texts) for each rubric item over a channel this
process owns; this process validates them and judges them against float64 NumPy witnesses. The
rubric, its points and the maximum are fixed here. A child that hangs, crashes, exits or runs out
of memory costs only the item it was running; the grader starts a new child for the rest, and
every item that did not finish scores 0 with the reason, so the maximum never changes.
"""

import argparse
import json
import os
import re
import secrets
import select
import sys
import tempfile
import time

from keras_vae.graded import channel, flags, rubric, sandbox
from keras_vae.graded.report import NOT_IMPLEMENTED
from keras_vae.impl import IMPL_HELP
from keras_vae.graded.report import (explain_dependencies, format_rubric, gradescope_results,
                                     write_json)

SEED_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "graded", "grading_seed")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
DEFAULTS = {"timeout": 60.0, "deadline": 900.0, "memory_limit": 2048}


def grading_seed():
    """The autograder's secret seed where its zip installed one, else the public seed."""
    try:
        with open(SEED_FILE) as file:
            return int(file.read().strip()), "secret"
    except (OSError, ValueError):
        return rubric.PUBLIC_SEED, "public"


def _core_text(text):
    """An exception's text without terminal colours, blank lines or Keras' call wrapper."""
    lines = [line.strip() for line in ANSI.sub("", text).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("Exception encountered when calling"):
        lines = lines[1:]
    lines = [line for line in lines if not line.startswith(("Arguments received by", "•"))]
    return " ".join(lines[:3])[:600]


HINTS = {"does not have a `call()` method": "a keras.Model subclass needs a call() method: "
                                            "vae(x), fit and evaluate all use it."}


def error_message(error):
    """Feedback for an exception the submission's code raised while an item was probed."""
    kind, text = str(error.get("type")), _core_text(str(error.get("message", "")))
    if kind == "NotImplementedError" and error.get("in_submission"):
        return NOT_IMPLEMENTED
    where = error.get("submission_frame")
    if error.get("in_submission") or not error.get("raised_at"):
        message = f"{kind}: {text}" + (f" (your code, {where})" if where else "")
    else:
        library = _library(str(error["raised_at"]))
        place = f", called from your code at {where}" if where else ""
        message = f"{library} raised {kind}{place}: {text}"
    hint = next((hint for key, hint in HINTS.items() if key in text), None)
    return message + (f"\nLikely mistake: {hint}" if hint else "")


def _library(path):
    for name in ("keras", "tensorflow_probability", "tensorflow", "numpy"):
        if f"{os.sep}{name}{os.sep}" in path:
            return {"keras": "Keras", "tensorflow": "TensorFlow", "numpy": "NumPy",
                    "tensorflow_probability": "TensorFlow Probability"}[name]
    return "Python"


class Run:
    """One grading: the rubric's rows, filled in by child processes."""

    def __init__(self, impl, seed, timeout, deadline, memory_limit, user):
        self.impl, self.timeout, self.memory_limit, self.user = impl, timeout, memory_limit, user
        self.deadline = time.monotonic() + deadline
        self.deadline_seconds = deadline
        self.items = {item.id: item for item in rubric.rubric()}
        self.inputs = {i: item.make_inputs(rubric.item_rng(seed, i))
                       for i, item in self.items.items()}
        self.seeds = {i: int(rubric.item_rng(seed + 1, i).integers(2**31)) for i in self.items}
        self.rows = {i: {"id": i, "points": item.points, "title": item.title, "status": "not run",
                         "message": ""} for i, item in self.items.items()}
        self.outputs = []

    def pending(self):
        return [i for i, row in self.rows.items() if row["status"] == "not run"]

    def finish(self, item_id, status, message):
        self.rows[item_id].update(status=status, message=message)

    def judge(self, item_id, message):
        if "error" in message:
            error = message["error"] if isinstance(message["error"], dict) else {}
            return self.finish(item_id, "failed", error_message(error))
        try:
            observed = channel.from_data(message.get("observed"))
            self.items[item_id].judge(self.inputs[item_id], observed)
        except AssertionError as failure:
            return self.finish(item_id, "failed", str(failure))
        except Exception as failure:  # observations no honest probe sends
            return self.finish(item_id, "failed", f"the observations were malformed "
                                                  f"({type(failure).__name__}: {failure})")
        self.finish(item_id, "passed", "")

    def run_child(self, pending, home, pythonpath):
        """Runs one child on `pending`; returns whether it finished at least one item."""
        token = secrets.token_hex(16)
        read_fd, write_fd = os.pipe()
        request = json.dumps({
            "token": token, "fd": write_fd, "impl": self.impl, "items": pending,
            "inputs": {i: channel.to_data(self.inputs[i], keep_dtype=True) for i in pending},
            "seeds": {i: self.seeds[i] for i in pending}}).encode()
        child = sandbox.Child([sys.executable, "-m", "keras_vae.graded.child"], request, write_fd,
                              home, pythonpath, self.user)
        os.close(write_fd)
        state = {"stage": "starting", "current": None, "since": time.monotonic(), "done": 0}
        reason = self._watch(child, read_fd, token, pending, state)
        os.close(read_fd)
        sandbox.kill_descendants()
        self.outputs.append(child.output())
        if state["stage"] in ("starting", "importing"):
            status = child.process.returncode
            cause = reason or (f"the process ended with exit status {status}"
                               if status is not None and status >= 0
                               else f"the process was killed by signal {-(status or 0)}")
            for item_id in pending:
                if self.rows[item_id]["status"] == "not run":
                    self.finish(item_id, "failed", f"the submission could not be imported: "
                                                   f"{cause}.")
            return False
        if state["current"] is not None:
            status = child.process.returncode
            cause = reason or (f"the test process ended during this test (exit status "
                               f"{status})" if status is not None and status >= 0
                               else "the test process was killed during this test")
            self.finish(state["current"], "failed", cause)
            state["done"] += 1
        return state["done"] > 0

    def _watch(self, child, read_fd, token, pending, state):
        buffer, exited = b"", None
        while True:
            now = time.monotonic()
            reason = self._overrun(state, now)
            if reason:
                sandbox.kill_descendants()
                child.process.wait()
                return reason
            readable, _, _ = select.select([read_fd], [], [], 0.1)
            if readable:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    child.process.wait()
                    return None
                buffer += chunk
                if len(buffer) > channel.MAX_LINE_BYTES and b"\n" not in buffer:
                    buffer = b""  # an endless line: no harness message is that long
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._receive(channel.decode(line, token), pending, state)
            if child.process.poll() is not None:
                exited = exited or now
                if not readable or now - exited > 1.0:  # detached writers get one second
                    return None
            if sandbox.memory_mb() > self.memory_limit:
                sandbox.kill_descendants()
                child.process.wait()
                return f"used more than {self.memory_limit:g} MB of memory"

    def _overrun(self, state, now):
        if now > self.deadline:
            return f"the grading deadline of {self.deadline_seconds:g} s passed"
        if state["stage"] == "starting" and now - state["since"] > max(self.timeout, 120):
            return "the grader's test process did not start"
        if state["stage"] == "importing" and now - state["since"] > self.timeout:
            return f"importing the submission took longer than {self.timeout:g} s"
        if state["current"] is not None and now - state["since"] > self.timeout:
            return f"took longer than the {self.timeout:g} s allowed per test"
        return None

    def _receive(self, message, pending, state):
        if message is None:
            return
        event = message.get("event")
        if event == "ready" and state["stage"] == "starting":
            state.update(stage="importing", since=time.monotonic())
        elif event == "import_error" and state["stage"] == "importing":
            error = message.get("error") if isinstance(message.get("error"), dict) else {}
            text = error_message(error)
            for item_id in pending:
                self.finish(item_id, "failed", text if text == NOT_IMPLEMENTED else
                            f"could not import the implementation: {text}")
            state.update(stage="failed import", done=len(pending))
        elif event == "imported" and state["stage"] == "importing":
            state.update(stage="running", since=time.monotonic())
        elif (event == "start" and state["stage"] == "running" and state["current"] is None
              and message.get("id") in pending and self.rows[message["id"]]["status"] == "not run"):
            state.update(current=message["id"], since=time.monotonic())
        elif event == "result" and state["current"] is not None and message.get("id") == state["current"]:
            self.judge(state["current"], message)
            state.update(current=None, done=state["done"] + 1, since=time.monotonic())


def grade(impl=None, timeout=None, deadline=None, memory_limit=None, seed=None,
          sandbox_user=sandbox.DEFAULT_USER):
    """Grades `impl` (a module name); returns `(rows, report)`.

    Each row has `id`, `points`, `title`, `status` (`passed` or `failed`) and `message`.
    `report` holds what the instructor sees: flagged code, the seed kind, containment notes and
    the tail of the submission's output.
    """
    from keras_vae.impl import default_impl, locate

    impl = impl or default_impl()
    if seed is None:
        seed, seed_kind = grading_seed()
    else:
        seed_kind = "given"
    sandbox.become_subreaper()
    user, containment = sandbox_user_or_note(sandbox_user)
    run = Run(impl, seed, timeout or DEFAULTS["timeout"], deadline or DEFAULTS["deadline"],
              memory_limit or DEFAULTS["memory_limit"], user)
    location = locate(impl)
    pythonpath = [location.root] if location else []
    pythonpath.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory(prefix="keras-vae-grade-") as home:
        if user is not None:
            os.chown(home, user[0], user[1])
        while run.pending() and time.monotonic() < run.deadline:
            if not run.run_child(run.pending(), home, pythonpath):
                break
    for item_id in run.pending():
        why = (f"the grading deadline of {run.deadline_seconds:g} s passed before this test ran"
               if time.monotonic() >= run.deadline else
               "the test process stopped before reaching this test")
        run.finish(item_id, "failed", f"did not run: {why}.")
    explain_dependencies(run.rows, run.items)
    report = {"impl": impl, "seed": seed_kind, "containment": containment or
              f"the submission ran as user {user[2]!r}",
              "flags": flags.scan(location.files) if location else [],
              "output_tail": "\n".join(run.outputs)[-4000:]}
    return list(run.rows.values()), report


def sandbox_user_or_note(name):
    if not name or name == "none":
        return None, "no sandbox user was asked for"
    user, note = sandbox.sandbox_user(name, sys.executable)
    return user, note


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
    rows, report = grade(args.impl, timeout, deadline, memory_limit, seed, args.sandbox_user)
    table = format_rubric(rows)
    print(table)
    if args.json:
        write_json(args.json, gradescope_results(rows, time.monotonic() - start, table, report))
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
    from keras_vae.gradebook import grade_class

    flags = ["--timeout", args.timeout, "--deadline", args.deadline, "--memory-limit",
             args.memory_limit, "--sandbox-user", args.sandbox_user]
    if args.seed is not None:
        flags += ["--seed", args.seed]
    path = grade_class(args.submissions, args.out, int(args.workers), flags)
    print(f"Gradebook: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
