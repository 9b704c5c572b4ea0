"""A class grading's backstop leaves nothing of a grading it stops: the grade process is told to
stop, then killed, and every process of the user ids it recorded is killed with what they left."""

import os
import subprocess
import sys
import time

import pytest

from keras_vae.graded import backstop, gradebook, identities, processes, proctable
from tests.grading import ROOT

PYTHON = "/opt/kvenv/bin/python"  # a Python every user can run, with the requirements


def _runs_fresh_ids(python):
    if os.geteuid() != 0 or not os.path.exists(python):
        return False
    probe = subprocess.run([python, "-c", "import sys; from keras_vae.graded import sandbox; "
                            "raise SystemExit(sandbox.sandbox_user('fresh', sys.executable)[0] "
                            "is None)"], cwd=ROOT, capture_output=True, timeout=300)
    return probe.returncode == 0


# The exporter's import never ends, and leaves a detached, stopped process and a file in /tmp.
STALLS = """
import os, signal, time
if os.fork() == 0:
    os.setsid()
    open(f"/tmp/keras-vae-backstop-{os.getuid()}", "w").close()
    if os.fork() == 0:
        os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(3600)
time.sleep(3600)
"""


def _processes_of(uid):
    return [pid for pid, (_, owner, _) in proctable.read().items() if owner == uid]


def _grade_stalled(tmp_path, monkeypatch, seconds):
    """Grades a stalling submission with a backstop of `seconds`, well within the grading's own
    limits; returns `(status, {uid: processes alive when the backstop came to it})`."""
    if not _runs_fresh_ids(PYTHON):
        pytest.skip(f"needs root and {PYTHON}, a Python that fresh user ids can run")
    monkeypatch.setattr(sys, "executable", PYTHON)  # what grade_one runs
    alive = {}
    end_user = processes.end_user

    def spy(user, *arguments):
        alive[user.uid] = len(_processes_of(user.uid))
        return end_user(user, *arguments)

    monkeypatch.setattr(processes, "end_user", spy)
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "__init__.py").write_text(STALLS)
    status, _ = gradebook.grade_one(str(tmp_path / "alice"),
                                    ["--timeout", "600", "--deadline", "900"], seconds)
    for uid in alive:
        assert not _processes_of(uid), f"expected no process of uid {uid} left"
        assert not os.path.exists(f"/tmp/keras-vae-backstop-{uid}")
    return status, alive


@pytest.mark.slow
def test_a_killed_grading_leaves_no_process_of_its_recorded_ids(tmp_path, monkeypatch):
    """A grade process killed at once past the backstop (no time to end its stages) leaves
    processes of its exporter's id; the backstop kills them all, removes their files, and the
    row says timed out."""
    monkeypatch.setattr(subprocess.Popen, "terminate", subprocess.Popen.kill)
    status, alive = _grade_stalled(tmp_path, monkeypatch, 45)
    assert status == "timed out"
    assert len(alive) >= 2, f"expected the probe's and the stages' ids recorded, received {alive}"
    assert sum(alive.values()) >= 3, f"expected the stalled stage's processes alive, {alive}"


@pytest.mark.slow
def test_a_grading_told_to_stop_ends_its_own_stages(tmp_path, monkeypatch):
    """Given SIGTERM, the grade process ends the stage it runs before it exits: the backstop
    finds no process of its ids left."""
    status, alive = _grade_stalled(tmp_path, monkeypatch, 45)
    assert status == "timed out"
    assert alive and not any(alive.values()), f"expected no process left to kill, {alive}"


def test_only_fresh_ids_are_read_back_from_a_record(tmp_path, monkeypatch):
    """The ids drawn are in the record when they are returned; lines that are not a fresh id
    (root's 0, an account's 1000, text) are never read back, so no other user is killed."""
    record = tmp_path / "identities"
    monkeypatch.setenv(identities.RECORD_VARIABLE, str(record))
    _, drawn = identities.fresh_identities(2)
    with open(record, "a") as file:
        file.write("0\n1000\nnot an id\n-5\n")
    read = [user.uid for user in identities.recorded_identities(str(record))]
    assert read == sorted(user.uid for user in drawn), (read, drawn)


def test_a_process_past_the_backstop_is_stopped_within_bounded_time(tmp_path):
    """A command that outlives its time is stopped and reported late; one that ends in time is
    reported in time."""
    started = time.monotonic()
    assert not backstop.run(["sleep", "60"], str(tmp_path), {}, 0.5, str(tmp_path / "a"))
    assert time.monotonic() - started < backstop.TERM_SECONDS
    assert backstop.run(["true"], str(tmp_path), {}, 30, str(tmp_path / "b"))
