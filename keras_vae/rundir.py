"""Reads and writes a training run directory so that a run survives being killed at any moment.

A run directory holds:

    config.json        the run's `TrainConfig`
    history.csv        one row per finished epoch, copied from the latest checkpoint
    backup/            checkpoints of an unfinished run:
        checkpoint.json    manifest of the latest checkpoint: epoch, step, history rows and the
                           name and SHA-256 of its weights file
        previous.json      manifest of the last checkpoint known good before it
        ckpt-000007.weights.h5    the model's weights and the optimizer's state
    .lock              locked with `fcntl.flock` by the process training in the directory
    vae.keras, encoder.keras, decoder.keras, the plots, metrics.json: the results

Every file is written beside its final name, flushed to disk and renamed into place with
`os.replace`, which is atomic, so a reader sees the old file or the new one, never part of one.
A checkpoint's weights are complete before a manifest names them, and the previous manifest is
kept until the new one is in place. A run directory is finished when `metrics.json` exists.
"""

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import time

LATEST = "checkpoint.json"
PREVIOUS = "previous.json"
RESULTS = ("metrics.json", "vae.keras", "encoder.keras", "decoder.keras", "history.csv",
           "config.json")


class RunDirectoryBusy(Exception):
    """Another process holds the run directory's lock."""


class CheckpointError(Exception):
    """No checkpoint of an unfinished run can be read."""


def replace_atomically(path, write):
    """Calls `write(partial_path)`, flushes the file to disk and renames it to `path`.

    The partial file is in the same directory and ends like `path` (Keras and matplotlib
    choose the format from the suffix), so `os.replace` is a rename within one file system.
    """
    folder, name = os.path.split(path)
    partial = os.path.join(folder, f".partial.{name}")
    write(partial)
    with open(partial, "rb+") as file:
        os.fsync(file.fileno())
    os.replace(partial, path)
    _sync_directory(folder or ".")


def write_text(path, text):
    """Writes `text` to `path` atomically."""
    def write(partial):
        with open(partial, "w", newline="") as file:
            file.write(text)
    replace_atomically(path, write)


def write_json(path, value):
    write_text(path, json.dumps(value, indent=2) + "\n")


def read_json(path):
    """The JSON value in `path`, or `None` when the file does not exist."""
    try:
        with open(path) as file:
            return json.load(file)
    except FileNotFoundError:
        return None


def _sync_directory(folder):
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def history_csv(rows):
    """Formats history rows (dicts with `epoch` and the metrics) as CSV text."""
    keys = sorted({key for row in rows for key in row} - {"epoch"})
    text = io.StringIO()
    writer = csv.DictWriter(text, ["epoch"] + keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def read_history(path):
    """Reads `history.csv` into a dict from metric name to per-epoch floats."""
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})
            if key != "epoch"}


@contextlib.contextmanager
def lock(path):
    """Holds the lock of run directory `path`, creating the directory, for one process at a time.

    The lock is an `fcntl.flock` on `path/.lock`: the kernel releases it when the holder exits
    or is killed, so a lock left by a killed run never blocks the next one. The holder writes
    its process id and host into the file for the message others get.

    Raises:
        RunDirectoryBusy: when another process holds the lock; nothing in `path` is changed.
    """
    os.makedirs(path, exist_ok=True)
    descriptor = os.open(os.path.join(path, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 200, 0).decode(errors="replace").strip()
            raise RunDirectoryBusy(
                f"{path} is in use by {holder or 'another process'}; wait for it to finish, "
                "or stop it and run this command again.") from None
        os.ftruncate(descriptor, 0)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.pwrite(descriptor, f"process {os.getpid()} on {socket.gethostname()} (started "
                              f"{started})\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)


def kill_hook():
    """A test hook: with `KERAS_VAE_KILL_AT=POINT:N` in the environment, a function that kills
    this process with SIGKILL the N-th time it is called with POINT; otherwise `None`.

    The points are those of `Checkpoints.save` ("weights", "manifest", "previous", "history"),
    "results", after the models of a finished run are saved and before `metrics.json`, and
    "finished", after `metrics.json` and before the checkpoints are removed.
    """
    point, _, count = os.environ.get("KERAS_VAE_KILL_AT", "").partition(":")
    if not point:
        return None
    calls = []

    def fault(name):
        calls.append(name)
        if name == point and calls.count(point) == int(count or 1):
            os.kill(os.getpid(), signal.SIGKILL)

    return fault


def is_finished(path):
    return os.path.isfile(os.path.join(path, "metrics.json"))


def clear(path, plots=()):
    """Removes a run's checkpoints, results, `plots` and history (for `--overwrite`).

    A finished run has no checkpoints; an unfinished one has no `metrics.json`. So a kill
    during the removal leaves a finished run, or a run directory without checkpoints, which
    the next run starts anew.
    """
    remove_checkpoints(path)
    for name in RESULTS + tuple(plots):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(path, name))


def remove_checkpoints(path):
    """Removes `backup/` and the partial files that killed writes left in `path`."""
    backup, discarded = os.path.join(path, "backup"), os.path.join(path, ".discarded-backup")
    if os.path.isdir(backup):
        shutil.rmtree(discarded, ignore_errors=True)
        os.replace(backup, discarded)
    shutil.rmtree(discarded, ignore_errors=True)
    for name in os.listdir(path):
        if name.startswith(".partial."):
            os.remove(os.path.join(path, name))


class Checkpoints:
    """Saves and restores the checkpoints in `run_dir/backup/` of a model being trained.

    Args:
        run_dir: the run directory, locked by this process.
        warn: function called with one line for each checkpoint that cannot be read.
        fault: function called with the name of each point of a checkpoint write, a test hook.
    """

    def __init__(self, run_dir, warn=print, fault=None):
        self.folder = os.path.join(run_dir, "backup")
        self.history_path = os.path.join(run_dir, "history.csv")
        self.warn = warn
        self.fault = fault or (lambda point: None)
        self.good = None

    def restore(self, model):
        """Loads the latest readable checkpoint into `model` and writes its history.csv.

        Returns:
            Its manifest, a dict with `epoch` (finished epochs), `step` (steps of the next
            epoch already trained), `history` (one dict per finished epoch) and `complete`
            (training ended); `None` when there is no checkpoint.

        Raises:
            CheckpointError: when checkpoints exist but none can be read.
        """
        found = []
        for name in (LATEST, PREVIOUS):
            path = os.path.join(self.folder, name)
            if not os.path.exists(path):
                continue
            found.append(path)
            try:
                manifest = read_json(path)
                weights = os.path.join(self.folder, manifest["weights"])
                if _sha256(weights) != manifest["sha256"]:
                    raise ValueError(f"{manifest['weights']} is not the file it wrote")
                if not model.optimizer.built:
                    model.optimizer.build(model.trainable_variables)
                model.load_weights(weights)
            except Exception as error:  # Whatever makes it unreadable, the older one may do.
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                self.warn(f"warning: skipping the unreadable checkpoint {path} ({reason}).")
                continue
            self.good = manifest
            write_text(self.history_path, history_csv(manifest["history"]))
            return dict(manifest, history=list(manifest["history"]))
        if found:
            raise CheckpointError(
                f"No readable checkpoint is left in {self.folder}; run the same command with "
                "--overwrite to start the run over.")
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.history_path)
        return None

    def save(self, model, epoch, step, history, complete=False):
        """Writes a checkpoint of `model` after `epoch` epochs and `step` steps of the next.

        The weights go to a new file, then the last good manifest is written as previous.json,
        then the new one as checkpoint.json; files neither names are removed last.
        """
        os.makedirs(self.folder, exist_ok=True)
        number = 1 + max([self.good["number"] if self.good else 0] + [
            int(other[5:11]) for other in os.listdir(self.folder)
            if other.startswith("ckpt-") and other[5:11].isdigit()])
        name = f"ckpt-{number:06d}.weights.h5"
        path = os.path.join(self.folder, name)

        if not model.optimizer.built:  # Saved and restored with the same variables.
            model.optimizer.build(model.trainable_variables)

        def write(partial):
            model.save_weights(partial)
            self.fault("weights")

        replace_atomically(path, write)
        manifest = dict(number=number, epoch=epoch, step=step, complete=complete, weights=name,
                        sha256=_sha256(path), history=list(history))
        self.fault("manifest")
        keep = {name, LATEST, PREVIOUS}
        if self.good:
            write_json(os.path.join(self.folder, PREVIOUS), self.good)
            keep.add(self.good["weights"])
        self.fault("previous")
        write_json(os.path.join(self.folder, LATEST), manifest)
        self.good = manifest
        self.fault("history")
        write_text(self.history_path, history_csv(history))
        for other in set(os.listdir(self.folder)) - keep:
            os.remove(os.path.join(self.folder, other))
