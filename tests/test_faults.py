"""Faults a training run survives: kills at any moment, unreadable checkpoints, a second process.

The slow tests run `python -m keras_vae.train` as a terminal does, in a subprocess, and check
its whole output (`tests/kill_at.py` runs the same command, killing it at a chosen point); the
fast ones check `RunDir` and `Checkpoints` directly on a small model.
"""

import csv
import dataclasses
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from keras_vae import plots

from keras_vae import atomic, train
from keras_vae.training.rundir import RunDir
from keras_vae.training.checkpoints import LATEST, PREVIOUS, Checkpoints
from tests import kill_at

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGUMENTS = ["--dataset", "sample", "--hidden-units", "32", "--batch-size", "64", "--iw-samples", "2",
         "--checkpoint-every-steps", "32"]


def start(out, epochs, kill_at_point=None, count=1):
    """Starts `python -m keras_vae.train`, or with `kill_at_point` the same command through
    `python -m tests.kill_at POINT COUNT`, which SIGKILLs it at the `count`-th POINT."""
    command = ["-m", "keras_vae.train"]
    if kill_at_point:
        command = ["-m", "tests.kill_at", kill_at_point, str(count)]
    return subprocess.Popen(
        [sys.executable, *command, *ARGUMENTS, "--epochs", str(epochs), "--out", out], cwd=ROOT,
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process, timeout=300):
    """Waits for `process`; returns its exit status, stdout lines and non-blank stderr lines."""
    out, err = process.communicate(timeout=timeout)
    err = [line for line in err.splitlines() if line.strip()]
    return process.returncode, out.splitlines(), err


def history_epochs(out):
    path = os.path.join(out, "history.csv")
    if not os.path.exists(path):
        return []
    with open(path, newline="") as file:
        return [int(row["epoch"]) for row in csv.DictReader(file)]


def checkpoint_histories(out):
    """The epochs of each checkpoint manifest that names an existing weights file."""
    found = []
    for name in (LATEST, PREVIOUS):
        manifest = atomic.read_json(os.path.join(out, "backup", name))
        if manifest and os.path.exists(os.path.join(out, "backup", manifest["weights"])):
            found.append([row["epoch"] for row in manifest["history"]])
    return found


def snapshot(folder):
    """The contents of every file under `folder`, by path."""
    files = {}
    for parent, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(parent, name), "rb") as file:
                files[os.path.relpath(os.path.join(parent, name), folder)] = file.read()
    return files


def assert_history_agrees_with_a_checkpoint(out):
    """history.csv is one row per epoch in order, those of a checkpoint (or none)."""
    epochs = history_epochs(out)
    assert epochs == list(range(len(epochs))), f"expected epochs 0, 1, ..., received {epochs}"
    if RunDir(out).is_finished():
        return
    histories = checkpoint_histories(out)
    assert epochs in histories or (not epochs and not histories), (
        f"expected history.csv to hold the epochs of a checkpoint {histories}, received {epochs}")


def assert_finished(out, epochs):
    """The run is finished: its history, models and metrics are whole; no checkpoint is left."""
    assert history_epochs(out) == list(range(epochs))
    metrics = atomic.read_json(os.path.join(out, "metrics.json"))
    assert metrics["epochs_trained"] == epochs and np.isfinite(metrics["test_iw_nll"]), metrics
    _, _, encoder, decoder = RunDir(out).load()
    assert decoder(np.zeros((1, 16), "float32")).shape == (1, 784)
    assert sorted(os.listdir(out)) == sorted(
        [".lock", "config.json", "history.csv", "metrics.json", "vae.keras", "encoder.keras",
         "decoder.keras"] + [f"{name}.png" for name in plots.FIGURES if name != "manifold"])


@pytest.fixture
def tiny_vae():
    """Builds a new small compiled VAE at each call."""
    from keras_vae.reference import models

    def build():
        encoder = models.build_encoder((6,), 2, (4,))
        decoder = models.build_decoder(2, (6,), (4,), "bernoulli")
        return models.build_vae(encoder, decoder, jit_compile=False)

    return build


def test_an_unreadable_latest_checkpoint_is_reported_and_the_previous_one_used(tmp_path,
                                                                              tiny_vae):
    """A truncated latest checkpoint: one warning line, then the previous one and its history."""
    vae, warnings = tiny_vae(), []
    checkpoints = Checkpoints(RunDir(tmp_path), warn=warnings.append)
    checkpoints.save(vae, 1, 0, [{"epoch": 0, "loss": 2.0}])
    first = [weight.numpy() for weight in vae.weights]
    vae.weights[0].assign(vae.weights[0] + 1.0)
    checkpoints.save(vae, 2, 0, [{"epoch": 0, "loss": 2.0}, {"epoch": 1, "loss": 1.0}])
    latest = tmp_path / "backup" / atomic.read_json(tmp_path / "backup" / LATEST)["weights"]
    latest.write_bytes(latest.read_bytes()[:1000])

    restored = tiny_vae()
    manifest = Checkpoints(RunDir(tmp_path), warn=warnings.append).restore(restored)
    assert manifest["epoch"] == 1 and len(warnings) == 1, (manifest, warnings)
    assert warnings[0].startswith(
        f"warning: skipping the unreadable checkpoint {tmp_path / 'backup' / LATEST} (")
    for expected, weight in zip(first, restored.weights):
        np.testing.assert_array_equal(weight.numpy(), expected, err_msg=weight.path)
    assert history_epochs(str(tmp_path)) == [0]


def test_no_readable_checkpoint_says_how_to_start_over(tmp_path, tiny_vae, capsys):
    """Both checkpoints unreadable: exit 1 with two warnings and one error line, no traceback."""
    out = tmp_path / "run"
    argv = ["--dataset", "sample", "--hidden-units", "8", "--epochs", "2", "--out", str(out)]
    config, _ = train.parse_args(argv)
    (out / "backup").mkdir(parents=True)
    atomic.write_json(out / "config.json", dataclasses.asdict(config))
    (out / "backup" / LATEST).write_text('{"weights": "ckpt-000002.we')
    (out / "backup" / PREVIOUS).write_text('{"weights": "gone.weights.h5", "sha256": ""}')

    assert train.main(argv) == 1
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err
    assert [line.split(" (")[0] for line in printed.err.splitlines()] == [
        f"warning: skipping the unreadable checkpoint {out / 'backup' / LATEST}",
        f"warning: skipping the unreadable checkpoint {out / 'backup' / PREVIOUS}",
        f"error: No readable checkpoint is left in {out / 'backup'}; run the same command with "
        "--overwrite to start the run over."]


def test_a_checkpoint_write_leaves_the_last_good_one_until_the_new_one_is_complete(tmp_path,
                                                                                   tiny_vae,
                                                                                   monkeypatch):
    """Killed at each point of a write, the directory still restores a whole checkpoint."""
    for point in ("weights", "manifest", "previous", "history"):
        folder = tmp_path / point
        checkpoints = Checkpoints(RunDir(folder))
        checkpoints.save(tiny_vae(), 1, 0, [{"epoch": 0, "loss": 1.0}])

        def fault(name, point=point):
            if name == point:
                raise SystemExit(point)  # Stands in for SIGKILL: nothing after it runs.

        with monkeypatch.context() as patched, pytest.raises(SystemExit):
            kill_at.patch(patched.setattr, fault)
            checkpoints.save(tiny_vae(), 2, 0, [{"epoch": 0, "loss": 1.0},
                                                {"epoch": 1, "loss": 0.5}])
        assert_history_agrees_with_a_checkpoint(str(folder))
        manifest = Checkpoints(RunDir(folder), warn=pytest.fail).restore(tiny_vae())
        assert manifest["epoch"] == (2 if point == "history" else 1), point
        assert history_epochs(str(folder)) == list(range(manifest["epoch"])), point


def test_each_manifest_keeps_the_history_of_its_own_weights(tmp_path, tiny_vae):
    """Rows appended after a save, or after a restore, reach only the next checkpoint."""
    def epochs():
        return [[row["epoch"] for row in atomic.read_json(tmp_path / "backup" / name)["history"]]
                for name in (PREVIOUS, LATEST)]

    vae, history = tiny_vae(), [{"epoch": 0, "loss": 2.0}]
    checkpoints = Checkpoints(RunDir(tmp_path))
    checkpoints.save(vae, 1, 0, history)
    history.append({"epoch": 1, "loss": 1.0})
    checkpoints.save(vae, 2, 0, history)
    assert epochs() == [[0], [0, 1]], epochs()
    checkpoints = Checkpoints(RunDir(tmp_path))
    history = checkpoints.restore(vae)["history"]
    history.append({"epoch": 2, "loss": 0.5})
    checkpoints.save(vae, 3, 0, history)
    assert epochs() == [[0, 1], [0, 1, 2]], epochs()


@pytest.mark.slow
def test_kills_inside_every_checkpoint_write_lose_no_finished_epoch(tmp_path):
    """SIGKILL at each point of a checkpoint write, and as the run finishes, loses nothing."""
    out, epochs = str(tmp_path / "run"), 3
    for point in kill_at.POINTS:
        # The second write of a run, so that one checkpoint of this run is in place.
        count = 1 if point in ("results", "finished") else 2
        status, _, _ = finish(start(out, epochs, point, count))
        assert status == -signal.SIGKILL, f"expected a kill at {point}, received exit {status}"
        if point == "weights":
            partial = [name for name in os.listdir(os.path.join(out, "backup"))
                       if name.startswith(".partial.")]
            assert partial, "expected the killed write's partial weights file beside the others"
        assert_history_agrees_with_a_checkpoint(out)
    status, printed, err = finish(start(out, epochs))
    assert (status, err) == (0, []), err
    assert printed == [f"The run in {out} is already finished: its models, plots and "
                       "metrics.json are there. Add --overwrite to train it anew."], printed
    assert_finished(out, epochs)


def wait_for_checkpoints(out, process, count, timeout=120):
    """Waits until `process` has written `count` more checkpoints, or has exited."""
    def number():
        manifest = atomic.read_json(os.path.join(out, "backup", LATEST))
        return manifest["number"] if manifest else 0

    target, deadline = number() + count, time.monotonic() + timeout
    while process.poll() is None and number() < target and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.slow
def test_random_kills_then_the_same_command_finishes_the_run(tmp_path):
    """Ten SIGKILLs and SIGTERMs at seeded random moments, then the run finishes whole."""
    out, epochs, rng = str(tmp_path / "run"), 10, random.Random(2024)
    for _ in range(10):
        # A kill during start-up, or shortly after the process's n-th checkpoint: within an
        # epoch, inside a checkpoint write, or while the finished run is evaluated.
        signum = rng.choice([signal.SIGKILL] * 3 + [signal.SIGTERM])
        checkpoints = rng.randrange(0, 5)
        delay = rng.uniform(0.0, 0.5) if checkpoints else rng.uniform(0.0, 8.0)
        process = start(out, epochs)
        wait_for_checkpoints(out, process, checkpoints)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signum)
        status, _, err = finish(process)
        if status == 128 + signum:
            assert err[-1] == (f"Interrupted by SIGTERM: the finished epochs are kept in {out}; "
                               "run the same command to resume."), err
        assert status in (0, -signum, 128 + signum), f"after {signum!r}: exit {status}, {err}"
        assert not any("Traceback" in line for line in err), err
        assert_history_agrees_with_a_checkpoint(out)
    status, _, err = finish(start(out, epochs))
    assert (status, err) == (0, []), err
    assert_finished(out, epochs)


@pytest.mark.slow
def test_a_second_process_on_a_run_directory_in_use_exits_2_and_changes_nothing(tmp_path):
    """A second process exits 2 naming the first and changes nothing; SIGTERM stops the first."""
    out = str(tmp_path / "run")
    first = start(out, 1000)
    deadline = time.monotonic() + 120
    while not history_epochs(out) and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGSTOP)  # The directory holds still while the second one runs.
    try:
        before = snapshot(out)
        status, printed, err = finish(start(out, 1000))
        after = snapshot(out)
    finally:
        first.send_signal(signal.SIGCONT)
    holder = before[".lock"].decode().strip()
    assert holder.startswith(f"process {first.pid} on "), holder
    assert (status, printed) == (2, []) and err == [
        f"error: {out} is in use by {holder}; wait for it to finish, or stop it and run this "
        "command again."], err
    assert after == before
    first.send_signal(signal.SIGTERM)
    status, _, err = finish(first)
    assert status == 143 and err[-1] == (
        f"Interrupted by SIGTERM: the finished epochs are kept in {out}; run the same command "
        "to resume."), err
    assert len(history_epochs(out)) >= 1
    assert_history_agrees_with_a_checkpoint(out)
