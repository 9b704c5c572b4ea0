"""Runs one sandboxed child (the exporter or the runner) over its jobs, and watches it.

The child reports on a pipe this process owns, one JSON line per event: `ready`, `imported`
(or `import_error`), then `start` and `result` for each job. Lines without the run's token,
out of order or malformed are ignored. A child past its time, over its memory or killed ends
with the reason; the job it was running is the one that failed.
"""

import dataclasses
import json
import os
import secrets
import select
import sys
import time

from keras_vae.graded import channel, processes, sandbox

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclasses.dataclass
class Limits:
    timeout: float
    deadline: float  # time.monotonic() by which everything must end
    deadline_seconds: float
    memory_limit: float


@dataclasses.dataclass
class Outcome:
    """What one child did: `results` by job id, and why it stopped early, if it did."""

    results: dict
    import_error: dict = None
    stopped: str = None  # why the child ended before its last job, if it did
    current: str = None  # the job it was running then
    output: str = ""  # the end of what the child printed
    namespaces: tuple = ()  # the namespaces it ran in (`namespaces.entered`)


def run(script, request, jobs, user, home, limits, shares=None, package_root=None):
    """Runs `script` (`exporter.py` or `runner.py`) on `jobs`; returns an `Outcome`.

    The script is the one of the `keras_vae` package in `package_root` (default: this one's).

    Each job may take `limits.timeout` seconds times its share (`shares[job]`, default 1: an
    export serving several items gets the time of them all).
    """
    token = secrets.token_hex(16)
    read_fd, write_fd = os.pipe()
    data = json.dumps(dict(request, token=token, fd=write_fd)).encode()
    folder = (os.path.join(package_root, "keras_vae", "graded") if package_root else HERE)
    child = sandbox.Child([sys.executable, "-I", "-B", os.path.join(folder, script)], data,
                          write_fd, home, user)
    os.close(write_fd)
    outcome = Outcome({}, namespaces=child.namespaces)
    state = {"stage": "starting", "since": time.monotonic(), "shares": shares or {}}
    try:
        reason = _watch(child, read_fd, token, jobs, state, outcome, limits)
    finally:  # also on SystemExit, from SIGTERM (`sandbox.end_stages_on_terminate`)
        os.close(read_fd)
        processes.end_stage(user)
    child.wait()
    outcome.output = child.output()
    if outcome.import_error is None and len(outcome.results) < len(jobs):
        status = child.process.returncode
        outcome.stopped = reason or (f"the process ended with exit status {status}"
                                     if status is not None and status >= 0
                                     else f"the process was killed by signal {-(status or 0)}")
        outcome.current = state.get("current")
        if state["stage"] in ("starting", "importing"):
            outcome.current = None
    return outcome


def _watch(child, read_fd, token, jobs, state, outcome, limits):
    buffer, exited, closed = b"", None, False
    while True:
        now = time.monotonic()
        reason = _overrun(state, now, limits)
        if reason:
            processes.end_stage(child.user)
            child.wait()
            return reason
        readable = False
        if closed:
            time.sleep(0.1)
        else:
            readable = bool(select.select([read_fd], [], [], 0.1)[0])
        if readable:
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                closed, readable = True, False
            buffer += chunk
            if len(buffer) > channel.MAX_LINE_BYTES and b"\n" not in buffer:
                buffer = b""  # an endless line: no harness message is that long
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                _receive(channel.decode(line, token), jobs, state, outcome)
        if child.process.poll() is not None:
            exited = exited or now
            if closed or not readable or now - exited > 1.0:  # detached writers get one second
                return None
        if processes.memory_mb(child.user) > limits.memory_limit:
            processes.end_stage(child.user)
            child.wait()
            return f"used more than {limits.memory_limit:g} MB of memory"


def _overrun(state, now, limits):
    if now > limits.deadline:
        return f"the grading deadline of {limits.deadline_seconds:g} s passed"
    waited = now - state["since"]
    if state["stage"] == "starting" and waited > max(limits.timeout, 120):
        return "the grader's process did not start"
    if state["stage"] == "importing" and waited > limits.timeout:
        return f"importing took longer than {limits.timeout:g} s"
    current = state.get("current")
    if current is not None and waited > limits.timeout * state["shares"].get(current, 1):
        allowed = limits.timeout * state["shares"].get(current, 1)
        return f"took longer than the {allowed:g} s allowed ({limits.timeout:g} s per test)"
    return None


def _receive(message, jobs, state, outcome):
    if message is None:
        return
    event, stage = message.get("event"), state["stage"]
    if event == "ready" and stage == "starting":
        state.update(stage="importing", since=time.monotonic())
    elif event == "import_error" and stage == "importing":
        error = message.get("error")
        outcome.import_error = error if isinstance(error, dict) else {}
        state.update(stage="failed import")
    elif event == "imported" and stage == "importing":
        state.update(stage="running", since=time.monotonic(), current=None)
    elif (event == "start" and stage == "running" and state.get("current") is None
          and message.get("id") in jobs and message["id"] not in outcome.results):
        state.update(current=message["id"], since=time.monotonic())
    elif (event == "result" and stage == "running" and state.get("current") is not None
          and message.get("id") == state["current"]):
        outcome.results[state["current"]] = {key: message[key] for key in
                                             ("observed", "error", "failed") if key in message}
        state.update(current=None, since=time.monotonic())
