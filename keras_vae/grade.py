"""Grades an implementation of the contract and writes Gradescope's `results.json`.

Usage: `python -m keras_vae.grade [--impl MODULE] [--json PATH] [--timeout SECONDS]`

The graded tests run in a child pytest process that logs each event to a file as it happens.
A test that hangs past the timeout, or a child that crashes or is killed, costs only the
points of the test it was running: the grader restarts the child on the tests not yet run.
Every rubric item that did not run scores 0 with the reason, so the denominator is fixed.
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

from keras_vae.graded.plugin import format_rubric

CRASHED = "the test process crashed, hung past the timeout or was killed during this test"


def graded_dir():
    """The folder of the graded tests, found without importing TensorFlow."""
    spec = importlib.util.find_spec("keras_vae")
    return os.path.join(os.path.dirname(spec.origin), "graded")


def _read_events(path):
    if not os.path.exists(path):
        return []
    events = []
    with open(path) as file:
        for line in file:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a killed process
                pass
    return events


def _run_child(impl, node_ids, log_path, timeout, stall_seconds):
    """Runs pytest on `node_ids` (all graded tests when empty); kills it if it stalls."""
    command = [sys.executable, "-m", "pytest", "-p", "keras_vae.graded.plugin",
               f"--grade-log={log_path}", f"--timeout={timeout}", "-q", "--no-header",
               "-p", "no:cacheprovider", "--rootdir", graded_dir()]
    if impl:
        command.append(f"--impl={impl}")
    command += node_ids or [graded_dir()]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    with tempfile.TemporaryFile() as output:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env,
                                 cwd=os.getcwd())
        last_size, last_change = -1, time.monotonic()
        while child.poll() is None:
            time.sleep(0.2)
            size = os.path.getsize(log_path) if os.path.exists(log_path) else 0
            if size != last_size:
                last_size, last_change = size, time.monotonic()
            elif time.monotonic() - last_change > stall_seconds:
                child.kill()
                child.wait()
        output.seek(0)
        return output.read().decode(errors="replace")


def grade(impl=None, timeout=60, stall_seconds=None):
    """Runs the graded tests against `impl`; returns `(rows, output)`.

    Each row has `id`, `points`, `title`, `status` (`passed`, `failed` or `not run`),
    `message` and `duration`.
    """
    stall_seconds = stall_seconds or timeout + 30
    rows, outputs = {}, []
    with tempfile.TemporaryDirectory() as folder:
        for attempt in range(100):
            log_path = os.path.join(folder, f"events-{attempt}.jsonl")
            pending = [n for n, row in rows.items() if row["status"] == "not run"]
            if rows and not pending:
                break
            outputs.append(_run_child(impl, pending, log_path, timeout, stall_seconds))
            started = None
            for event in _read_events(log_path):
                if event["event"] == "rubric" and not rows:
                    rows = {r["nodeid"]: dict(r, status="not run", message="", duration=0.0)
                            for r in event["rubric"]}
                elif event["event"] == "start":
                    started = event["nodeid"]
                elif event["event"] == "result" and event["nodeid"] in rows:
                    rows[event["nodeid"]].update(status=event["status"],
                                                 message=event["message"],
                                                 duration=event["duration"])
                    started = None
            if started is not None:
                rows[started].update(status="failed", message=CRASHED)
            elif not rows or all(rows[n]["status"] == "not run" for n in pending):
                break  # no progress: stop rather than loop
    for row in rows.values():
        if row["status"] == "not run" and not row["message"]:
            row["message"] = "did not run: the test process stopped before reaching it"
    return list(rows.values()), "\n".join(outputs)


def gradescope_results(rows, execution_time, output=""):
    """Builds Gradescope's autograder `results.json` content from rubric rows."""
    tests = [{
        "score": float(row["points"] if row["status"] == "passed" else 0),
        "max_score": float(row["points"]),
        "status": "passed" if row["status"] == "passed" else "failed",
        "name": row["title"],
        "number": row["id"],
        "output": row["message"] or "Passed.",
        "visibility": "visible",
    } for row in rows]
    return {
        "score": sum(test["score"] for test in tests),
        "execution_time": float(round(execution_time, 3)),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m keras_vae.grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", default=None,
                        help="module implementing the contract (default: keras_vae)")
    parser.add_argument("--json", default=None, help="write Gradescope's results.json here")
    parser.add_argument("--timeout", type=float, default=60, help="seconds allowed per test")
    args = parser.parse_args(argv)
    if not args.timeout > 0:
        print(f"error: Invalid value for `timeout`: expected a positive number of seconds, "
              f"received {args.timeout}.", file=sys.stderr)
        return 2
    start = time.monotonic()
    rows, output = grade(args.impl, args.timeout)
    elapsed = time.monotonic() - start
    if rows:
        table = format_rubric(rows)
    else:
        tail = "\n".join(output.strip().splitlines()[-15:])
        table = f"The graded tests could not start:\n{tail}\nScore: 0/0"
    print(table)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as file:
            json.dump(gradescope_results(rows, elapsed, table), file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
