"""A training run directory, `RunDir`: the one place that knows its files' names.

Training writes it; evaluation and sampling read it. It holds:

    config.json        the run's `TrainConfig`
    history.csv        one row per finished epoch, copied from the latest checkpoint
    backup/            checkpoints of an unfinished run (`keras_vae.training.checkpoints`)
    .lock              locked by the process training in the directory
    .replaced/         with --overwrite, the run being replaced, until the new one begins
                       (both kept by `keras_vae.training.runlock`)
    vae.keras, encoder.keras, decoder.keras, the figures' PNGs, metrics.json: the results
    logs/              TensorBoard logs, with --tensorboard

Every file is written through `keras_vae.atomic`, so a reader sees the old file or the new one,
never part of one, and a run survives being killed at any moment. A run directory is finished
when `metrics.json` exists.
"""

import contextlib
import csv
import dataclasses
import io
import math
import os
import shutil

from keras_vae import atomic, checks
from keras_vae.impl import find_impl
from keras_vae.training.config import TrainConfig, differences

MODELS = ("encoder", "decoder", "vae")
# What TensorBoard logs hold: Keras' callback writes the first two, the figures the third.
TENSORBOARD_FOLDERS = ("train", "validation", "images")


def _shown(value):
    """A setting as a user types it: `512,256` for hidden units, `none` for no value."""
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return "none" if value is None else str(value)


class RunDir:
    """The run directory at `path` (`TrainConfig.out`, the `--out` or `RUN_DIR` argument)."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def __str__(self):
        return self.path

    def __repr__(self):
        return f"RunDir({self.path!r})"

    def file(self, name):
        return os.path.join(self.path, name)

    @property
    def config_file(self):
        return self.file("config.json")

    @property
    def history_file(self):
        return self.file("history.csv")

    @property
    def metrics_file(self):
        return self.file("metrics.json")

    @property
    def backup(self):
        """The folder of an unfinished run's checkpoints."""
        return self.file("backup")

    @property
    def logs(self):
        """The folder of the run's TensorBoard logs."""
        return self.file("logs")

    @property
    def vae_weights_file(self):
        """Where a VAE that Keras cannot serialize keeps its weights instead of `vae.keras`."""
        return self.file("vae.weights.h5")

    def model_file(self, name):
        """The `.keras` file of model `name`, one of `MODELS`."""
        return self.file(f"{name}.keras")

    def figure_file(self, name):
        """The PNG of figure `name` (`keras_vae.plots.FIGURES`, or "samples")."""
        return self.file(f"{name}.png")

    def results(self, figures=()):
        """The files of a finished run, with the PNGs of `figures`."""
        return ([self.metrics_file, self.vae_weights_file, self.history_file, self.config_file]
                + [self.model_file(name) for name in MODELS]
                + [self.figure_file(name) for name in figures])

    def is_finished(self):
        return os.path.isfile(self.metrics_file)

    @property
    def replaced(self):
        """Where `--overwrite` keeps the run it replaces until the new run begins."""
        return self.file(".replaced")

    def remove_checkpoints(self):
        """Removes `backup/` and the partial files that killed writes left."""
        discarded = self.file(".discarded-backup")
        if os.path.isdir(self.backup):
            shutil.rmtree(discarded, ignore_errors=True)
            os.replace(self.backup, discarded)
        shutil.rmtree(discarded, ignore_errors=True)
        self.remove_partials()

    def remove_partials(self):
        """Removes the partial files that killed writes left."""
        for name in os.listdir(self.path):
            if name.startswith(".partial."):
                os.remove(self.file(name))

    def read_config(self, name="out"):
        """The `TrainConfig` saved here, `None` if there is none.

        Raises:
            ValueError: naming `name` when `config.json` cannot be read.
        """
        try:
            if not os.path.exists(self.config_file):
                return None
            raw = atomic.read_json(self.config_file)
            if not isinstance(raw, dict):
                raise ValueError(f"it holds {type(raw).__name__}, not an object")
            return TrainConfig.from_dict(raw)
        except (ValueError, TypeError, KeyError) as error:
            anew = " (or --overwrite to start it anew)" if name == "out" else ""
            raise checks.invalid(name, f"a run directory with a readable config.json{anew}",
                                 self.path, f"whose config.json cannot be read: {error}")

    def write_config(self, config):
        atomic.write_json(self.config_file, dataclasses.asdict(config))

    def read_metrics(self):
        return atomic.read_json(self.metrics_file)

    def write_metrics(self, metrics):
        atomic.write_json(self.metrics_file, metrics)

    def read_history(self):
        """`history.csv` as a dict from metric name to per-epoch floats; an epoch that did not
        log a metric (a run resumed by a version that logs more) has NaN there."""
        with open(self.history_file, newline="") as file:
            rows = list(csv.DictReader(file))
        return {key: [float(row[key]) if row.get(key) else math.nan for row in rows]
                for key in (rows[0] if rows else {}) if key != "epoch"}

    def write_history(self, rows):
        """Writes history rows (dicts with `epoch` and the metrics) as `history.csv`."""
        keys = sorted({key for row in rows for key in row} - {"epoch"})
        text = io.StringIO()
        writer = csv.DictWriter(text, ["epoch"] + keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic.write_text(self.history_file, text.getvalue())

    def remove_history(self):
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.history_file)

    def state(self, config, name="out", flag_names=None):
        """Says what this directory holds for `config`: `"new"`, an `"unfinished"` or a
        `"finished"` run.

        Args:
            config: the `TrainConfig` to run.
            name: the argument the error names.
            flag_names: dict from a field to the flag a user types (`cli.flag_names`), for the
                differing settings the error lists; a field without one is named as it is.

        Raises:
            ValueError: naming `name` when the directory holds a finished run of another
                config, or an unfinished one that differs in more than
                `config.RESUMABLE_CHANGES`; it lists each differing setting with the run's
                value and the one given.
        """
        saved = self.read_config(name)
        finished = self.is_finished()
        if saved is None or not (finished or os.path.isdir(self.backup)):
            return "new"
        differing = differences(saved, config, finished)
        found = "finished" if finished else "unfinished"
        if differing:
            flag_names = flag_names or {}
            listed = ", ".join(
                f"{flag_names.get(field, field)} ({_shown(getattr(saved, field))} in the run, "
                f"{_shown(getattr(config, field))} given)" for field in differing)
            why = f"which holds {'a' if finished else 'an'} {found} run that differs in {listed}"
            if "num_epochs" in differing:
                # A finished run keeps no checkpoint of its optimizer to go on from.
                why += (f" and trains no further: give another {flag_names.get('out', 'out')} "
                        f"to train {config.num_epochs} epochs")
            raise checks.invalid(
                name, "a new run directory, the run's own settings, or --overwrite to replace "
                "it", self.path, why)
        return found

    def check_finished(self, name="run_dir"):
        """Returns the `TrainConfig` of the finished run here, without importing TensorFlow.

        Raises:
            ValueError: naming `name` when the directory holds no finished run, or `impl`
                when the module its config names is not found.
        """
        needed = (self.config_file, self.model_file("encoder"), self.model_file("decoder"))
        if not all(os.path.isfile(path) for path in needed):
            raise checks.invalid(name, "a finished run directory holding " + ", ".join(
                os.path.basename(path) for path in needed), self.path)
        config = self.read_config(name)
        find_impl(config.impl)  # The models load with its classes.
        return config

    def load(self, name="run_dir"):
        """Loads `(config, impl, encoder, decoder)` from the finished run here.

        The models load with the classes of the run's implementation (`config.impl`), so that
        subclassed encoders and decoders and the implementation's own layers come back. An
        error in the implementation's own code while it is imported is raised as it is.

        Raises:
            cli.UsageError: naming `name` when the directory holds no finished run, or `impl`
                when the implementation is not found or lacks a contract name.
        """
        import importlib

        import keras

        from keras_vae import cli
        from keras_vae.impl import load_impl

        with cli.bad_input():
            config = self.check_finished(name)
        importlib.import_module(config.impl)  # An error in its code ends in its traceback.
        with cli.bad_input():
            impl = load_impl(config.impl)  # Only checks the contract's names.
        custom_objects = {name: value for name, value in vars(impl).items()
                          if isinstance(value, type) and issubclass(value, keras.layers.Layer)}
        models = [keras.models.load_model(self.model_file(name), custom_objects=custom_objects,
                                          compile=False)
                  for name in ("encoder", "decoder")]
        return (config, impl, *models)
