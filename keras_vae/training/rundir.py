"""Reads and writes a training run directory, shared by training, evaluation and sampling.

A run directory holds:

    config.json        the run's `TrainConfig`
    history.csv        one row per finished epoch, copied from the latest checkpoint
    backup/            checkpoints of an unfinished run (`keras_vae.training.checkpoints`)
    .lock              locked with `fcntl.flock` by the process training in the directory
    vae.keras, encoder.keras, decoder.keras, the plots, metrics.json: the results
    logs/              TensorBoard logs, with --tensorboard

Every file is written beside its final name, flushed to disk and renamed into place with
`os.replace`, which is atomic, so a reader sees the old file or the new one, never part of one,
and a run survives being killed at any moment. A run directory is finished when `metrics.json`
exists.
"""

import contextlib
import csv
import dataclasses
import fcntl
import io
import json
import os
import shutil
import socket
import time

from keras_vae import checks
from keras_vae.atomic import replace_atomically, write_json, write_text
from keras_vae.training.config import TrainConfig, differences

# The files of a finished run (its plots are `plots.FIGURES`).
RESULTS = ("metrics.json", "vae.keras", "vae.weights.h5", "encoder.keras", "decoder.keras",
           "history.csv", "config.json")


class RunDirectoryBusy(Exception):
    """Another process holds the run directory's lock."""


def read_json(path):
    """The JSON value in `path`, or `None` when the file does not exist."""
    try:
        with open(path) as file:
            return json.load(file)
    except FileNotFoundError:
        return None


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


def read_config(run_dir, name="out"):
    """The `TrainConfig` saved in `run_dir`, `None` if there is none.

    Raises:
        ValueError: naming `name` when `config.json` cannot be read.
    """
    try:
        raw = read_json(os.path.join(run_dir, "config.json"))
        return None if raw is None else TrainConfig.from_dict(raw)
    except (ValueError, TypeError, KeyError) as error:
        raise checks.invalid(name, "a run directory with a readable config.json (or "
                             "--overwrite to start it anew)", f"{run_dir}: {error}")


def write_config(config):
    write_json(os.path.join(config.out, "config.json"), dataclasses.asdict(config))


def state(config, name="out"):
    """Says what `config.out` holds: `"new"`, an `"unfinished"` or a `"finished"` run.

    Raises:
        ValueError: naming `name` when the directory holds a finished run of another config,
            or an unfinished one that differs in more than `config.RESUMABLE_CHANGES`.
    """
    saved = read_config(config.out, name)
    finished = is_finished(config.out)
    if saved is None or not (finished or os.path.isdir(os.path.join(config.out, "backup"))):
        return "new"
    differing = differences(saved, config, finished)
    found = "finished" if finished else "unfinished"
    if differing:
        raise checks.invalid(
            name, "a new run directory, the run's own settings, or --overwrite to replace it",
            f"{config.out} holding {'a' if finished else 'an'} {found} run that differs in "
            f"{', '.join(differing)}")
    return found


def check_finished(run_dir, name="run_dir"):
    """Returns the `TrainConfig` of the finished run in `run_dir`, without importing TensorFlow.

    Raises:
        ValueError: naming `name` when `run_dir` holds no finished run.
    """
    names = ("config.json", "encoder.keras", "decoder.keras")
    if not all(os.path.isfile(os.path.join(run_dir, file)) for file in names):
        raise checks.invalid(name, "a finished run directory holding " + ", ".join(names),
                             run_dir)
    return read_config(run_dir, name)


def load_run(run_dir):
    """Loads `(config, impl, encoder, decoder)` from a finished run directory.

    The models load with the classes of the run's implementation (`config.impl`), so that
    subclassed encoders and decoders and the implementation's own layers come back.

    Raises:
        ValueError: naming `run_dir` when it holds no finished run.
    """
    import keras

    from keras_vae.impl import load_impl

    config = check_finished(run_dir)
    impl = load_impl(config.impl)
    custom_objects = {name: value for name, value in vars(impl).items()
                      if isinstance(value, type) and issubclass(value, keras.layers.Layer)}
    models = [keras.models.load_model(os.path.join(run_dir, f"{name}.keras"),
                                      custom_objects=custom_objects, compile=False)
              for name in ("encoder", "decoder")]
    return (config, impl, *models)
