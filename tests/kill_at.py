"""Runs the training command and kills it with SIGKILL at the N-th time it reaches a point of a
checkpoint write, or of finishing the run.

Usage: `python -m tests.kill_at POINT N [keras_vae.train flags]`, from the repository root.

The points, in the order a checkpoint write (`keras_vae.training.checkpoints.Checkpoints.save`) reaches
them:

    weights     the weights are in their partial file, not yet renamed into place
    manifest    the weights file is in place; no manifest names it yet
    previous    previous.json names the last good checkpoint; checkpoint.json is still the old one
    history     checkpoint.json names the new weights; history.csv is still the old one

and as the run finishes:

    results     the models are saved; the plots and metrics.json are not written yet
    finished    metrics.json is written; the checkpoints are not removed yet
"""

import os
import signal
import sys

from keras_vae import atomic, checks, train
from keras_vae.training.checkpoints import LATEST

POINTS = ("weights", "manifest", "previous", "history", "results", "finished")


def patch(setattr, fault):
    """Makes the training code call `fault(point)` at each point, patching `keras_vae.atomic`'s
    file writes with `setattr(module, name, value)` (`monkeypatch.setattr` in a test)."""
    replace_atomically, write_json = atomic.replace_atomically, atomic.write_json

    def patched_replace_atomically(path, write):
        name = os.path.basename(path)
        if name.startswith("ckpt-"):
            def write_then_fault(partial):
                write(partial)
                fault("weights")

            replace_atomically(path, write_then_fault)
            fault("manifest")
            return
        replace_atomically(path, write)
        if name in ("vae.keras", "vae.weights.h5"):  # The last model `fit` saves.
            fault("results")

    def patched_write_json(path, value):
        name = os.path.basename(path)
        if name == LATEST:
            fault("previous")
        write_json(path, value)
        if name == LATEST:
            fault("history")
        elif name == "metrics.json":
            fault("finished")

    setattr(atomic, "replace_atomically", patched_replace_atomically)
    setattr(atomic, "write_json", patched_write_json)


def kill_at(point, count):
    """A fault function that kills this process with SIGKILL at the `count`-th `point`."""
    if point not in POINTS:
        raise checks.invalid("POINT", f"one of {', '.join(POINTS)}", point)
    reached = []

    def fault(name):
        reached.append(name)
        if name == point and reached.count(point) == count:
            os.kill(os.getpid(), signal.SIGKILL)

    return fault


if __name__ == "__main__":
    patch(setattr, kill_at(sys.argv[1], int(sys.argv[2])))
    sys.exit(train.main(sys.argv[3:]))
