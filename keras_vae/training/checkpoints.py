"""Checkpoints of a run being trained, written so that a kill at any moment loses no finished epoch.

A run's checkpoints are in its run directory's `backup/` (`RunDir.backup`):

    checkpoint.json    manifest of the latest checkpoint: epoch, step, history rows and the
                       name and SHA-256 of its weights file
    previous.json      manifest of the last checkpoint known good before it
    ckpt-000007.weights.h5    the model's weights and the optimizer's state

A checkpoint's weights are complete before a manifest names them, and the previous manifest is
kept until the new one is in place. `checkpoint_callback` writes them during `fit`.
"""

import hashlib
import math
import os
import time

from keras_vae import atomic

LATEST = "checkpoint.json"
PREVIOUS = "previous.json"


class CheckpointError(Exception):
    """No checkpoint of an unfinished run can be read."""


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Checkpoints:
    """Saves and restores the checkpoints in `run_dir.backup` of a model being trained.

    Args:
        run_dir: the `RunDir`, locked by this process.
        warn: function called with one line for each checkpoint that cannot be read.
    """

    def __init__(self, run_dir, warn=print):
        self.run_dir = run_dir
        self.folder = run_dir.backup
        self.warn = warn
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
                manifest = atomic.read_json(path)
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
            self.run_dir.write_history(manifest["history"])
            return dict(manifest, history=list(manifest["history"]))
        if found:
            raise CheckpointError(
                f"No readable checkpoint is left in {self.folder}; run the same command with "
                "--overwrite to start the run over.")
        self.run_dir.remove_history()
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

        atomic.replace_atomically(path, model.save_weights)
        manifest = dict(number=number, epoch=epoch, step=step, complete=complete, weights=name,
                        sha256=_sha256(path), history=list(history))
        keep = {name, LATEST, PREVIOUS}
        if self.good:
            atomic.write_json(os.path.join(self.folder, PREVIOUS), self.good)
            keep.add(self.good["weights"])
        atomic.write_json(os.path.join(self.folder, LATEST), manifest)
        self.good = manifest
        self.run_dir.write_history(history)
        for other in set(os.listdir(self.folder)) - keep:
            os.remove(os.path.join(self.folder, other))


def checkpoint_callback(config, vae, checkpoints, progress, steps_per_epoch, hold_signals):
    """A Keras callback that checkpoints after each finished epoch, and every N steps or
    minutes within one (`config.checkpoint_every_steps`, `config.checkpoint_every_minutes`).

    `progress` holds `epoch` (finished epochs), `step` (steps of the next one finished),
    `offset` (steps finished before this `fit` call), `history` and `nan_epoch` (the 0-based
    epoch whose loss was not finite, which is not checkpointed); the callback updates it.
    """
    import keras

    last = dict(step=progress["step"], time=time.monotonic())

    def save():
        with hold_signals():
            checkpoints.save(vae, progress["epoch"], progress["step"], progress["history"])
        last.update(step=progress["step"], time=time.monotonic())

    def on_batch_end(batch, logs=None):
        # With steps_per_execution, `batch` is the last step of the compiled call.
        step = progress["offset"] + batch + 1
        if step >= steps_per_epoch or not math.isfinite((logs or {}).get("loss", 0.0)):
            return
        progress["step"] = step
        every_steps, every_minutes = config.checkpoint_every_steps, config.checkpoint_every_minutes
        if ((every_steps and step - last["step"] >= every_steps)
                or (every_minutes and time.monotonic() - last["time"] >= 60 * every_minutes)):
            save()

    def on_epoch_end(epoch, logs=None):
        row = {"epoch": epoch, **{key: float(value) for key, value in (logs or {}).items()}}
        if not all(math.isfinite(value) for value in row.values()):
            progress["nan_epoch"] = epoch
            return
        progress["history"].append(row)
        progress.update(epoch=epoch + 1, step=0, offset=0)
        save()

    if not (config.checkpoint_every_steps or config.checkpoint_every_minutes):
        # No checkpoints within epochs: no Python work after each compiled call.
        return keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)
    return keras.callbacks.LambdaCallback(on_train_batch_end=on_batch_end,
                                          on_epoch_end=on_epoch_end)
