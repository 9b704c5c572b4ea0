"""Who may change a run directory: one process at a time, holding its lock; and `--overwrite`,
which sets the old run aside until the new one begins, and puts it back if it never does."""

import contextlib
import fcntl
import os
import shutil
import socket
import time

from keras_vae.training.rundir import TENSORBOARD_FOLDERS


class RunDirectoryBusy(Exception):
    """Another process holds the run directory's lock."""


@contextlib.contextmanager
def lock(run_dir):
    """Holds the lock of the `RunDir` `run_dir`, creating the directory, for one process at a time.

    The lock is an `fcntl.flock` on `.lock`: the kernel releases it when the holder exits or
    is killed, so a lock left by a killed run never blocks the next one. The holder writes
    its process id and host into the file for the message others get. A directory this
    call created is removed again when the block raises before `config.json` is written.

    Raises:
        RunDirectoryBusy: when another process holds the lock; nothing is changed.
    """
    created = not os.path.exists(run_dir.path)
    os.makedirs(run_dir.path, exist_ok=True)
    descriptor = os.open(run_dir.file(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 200, 0).decode(errors="replace").strip()
            raise RunDirectoryBusy(
                f"{run_dir.path} is in use by {holder or 'another process'}; wait for it to "
                "finish, or stop it and run this command again.") from None
        os.ftruncate(descriptor, 0)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.pwrite(descriptor, f"process {os.getpid()} on {socket.gethostname()} (started "
                              f"{started})\n".encode(), 0)
        try:
            yield
        except Exception:
            if created and not os.path.exists(run_dir.config_file):
                # Stopped before the run began, holding the lock: leave no directory.
                os.remove(run_dir.file(".lock"))
                with contextlib.suppress(OSError):
                    os.rmdir(run_dir.path)
            raise
    finally:
        os.close(descriptor)


def set_aside(run_dir, figures=()):
    """Moves the run's checkpoints, results, the PNGs of `figures`, history and TensorBoard
    logs into `.replaced/` (for `--overwrite`); `settle` then removes them or puts them back.

    `config.json` goes first, so a directory holding `.replaced/` but no `config.json` is one
    whose new run has not begun, wherever a kill stopped the moves.
    """
    run_dir.remove_partials()
    paths = ([run_dir.config_file]
             + [path for path in run_dir.results(figures) if path != run_dir.config_file]
             + [run_dir.backup]
             + [os.path.join(run_dir.logs, name) for name in TENSORBOARD_FOLDERS])
    for path in paths:
        if os.path.lexists(path):
            kept = os.path.join(run_dir.replaced, os.path.relpath(path, run_dir.path))
            os.makedirs(os.path.dirname(kept), exist_ok=True)
            os.replace(path, kept)
    with contextlib.suppress(OSError):
        os.rmdir(run_dir.logs)  # Kept if something else is in it.


def settle(run_dir):
    """Ends an `--overwrite`: removes the run set aside once the new run has begun (its
    `config.json` is written), or else puts the old run back as it was."""
    if not os.path.isdir(run_dir.replaced):
        return
    if not os.path.exists(run_dir.config_file):
        run_dir.remove_partials()
        kept = [name for name in os.listdir(run_dir.replaced) if name != "logs"]
        logs = os.path.join(run_dir.replaced, "logs")
        if os.path.isdir(logs):
            kept += [os.path.join("logs", name) for name in os.listdir(logs)]
        # config.json last: until it is back, a kill leaves the old run to put back.
        for name in sorted(kept, key=lambda name: name == "config.json"):
            path = run_dir.file(name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)  # Made by the new run before it began.
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.replace(os.path.join(run_dir.replaced, name), path)
    shutil.rmtree(run_dir.replaced, ignore_errors=True)
