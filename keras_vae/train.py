"""Trains a VAE on MNIST-like data with `model.fit` and writes a run directory.

Usage: `python -m keras_vae.train [--epochs N] [--latent-dim K] [--impl MODULE] [--out DIR] ...`

The run directory holds `vae.keras`, `encoder.keras`, `decoder.keras`, `history.csv`,
`config.json`, `metrics.json` and the plots. A checkpoint is written after every epoch (and, on
request, every N steps or minutes within one), atomically, so a run killed at any moment, even
with SIGKILL, resumes from its last checkpoint when the same command is run again. One process
at a time trains in a run directory, and a finished run is not trained over without --overwrite.
"""

import argparse
import contextlib
import dataclasses
import math
import os
import signal
import sys
import threading
import time

from keras_vae import checks, rundir
from keras_vae.data import BINARIZATIONS, DATASETS
from keras_vae.distribute import DISTRIBUTIONS

TEST_BINARIZATION_SEED = 2015
FIGURES = ("loss_curves", "reconstructions", "prior_samples", "latent_space", "manifold")
# Fields a resumed run may change: how long it trains and how often it checkpoints.
RESUMABLE_CHANGES = ("num_epochs", "checkpoint_every_steps", "checkpoint_every_minutes",
                     "distribute")
EPILOG = """\
exit status:
  0    the run is finished, also when it already was: the command then says where its results
       are and trains nothing, so a script or notebook cell can safely run it again
  1    training failed: a NaN loss, or no readable checkpoint is left
  2    bad input, or the run directory is in use by another process
  130  interrupted by Ctrl-C (SIGINT); 143: by SIGTERM. The finished epochs are kept: run the
       same command to resume.
"""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; saved as `config.json` in the run directory."""

    dataset: str = "mnist"
    data_path: str | None = None
    likelihood: str = "bernoulli"
    sigma: float = 1.0
    beta: float = 1.0
    latent_dim: int = 16
    architecture: str = "mlp"
    hidden_units: tuple = (512,)
    activation: str = "relu"
    num_epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 1e-3
    binarize: str = "dynamic"
    seed: int = 0
    out: str = "runs/default"
    impl: str | None = None
    validation_split: float = 0.1
    kl_warmup_epochs: int = 0
    lr_schedule: str = "constant"
    early_stopping: int = 0
    num_iw_samples: int = 100
    checkpoint_every_steps: int = 0
    checkpoint_every_minutes: float = 0.0
    # "auto" and None are resolved for the machine (keras_vae.distribute.resolve) by `train`.
    distribute: str = "none"
    mixed_precision: bool | None = False

    def validate(self):
        """Raises `ValueError` naming the first invalid field."""
        checks.choice("dataset", self.dataset, DATASETS)
        checks.choice("likelihood", self.likelihood, checks.LIKELIHOODS)
        checks.positive_float("sigma", self.sigma)
        checks.non_negative_float("beta", self.beta)
        checks.positive_int("latent_dim", self.latent_dim)
        checks.choice("architecture", self.architecture, checks.ARCHITECTURES)
        checks.hidden_units(self.hidden_units)
        checks.positive_int("num_epochs", self.num_epochs)
        checks.positive_int("batch_size", self.batch_size)
        checks.positive_float("learning_rate", self.learning_rate)
        checks.choice("binarize", self.binarize, BINARIZATIONS)
        if self.likelihood == "gaussian" and self.binarize != "none":
            raise checks.invalid("binarize", "'none' for likelihood='gaussian'", self.binarize)
        if not 0.0 <= self.validation_split < 1.0:
            raise checks.invalid("validation_split", "a fraction in [0, 1)", self.validation_split)
        if self.kl_warmup_epochs < 0:
            raise checks.invalid("kl_warmup_epochs", "a non-negative integer",
                                 self.kl_warmup_epochs)
        checks.choice("lr_schedule", self.lr_schedule, ("constant", "cosine"))
        if self.early_stopping < 0:
            raise checks.invalid("early_stopping", "a non-negative integer (0: off)",
                                 self.early_stopping)
        checks.positive_int("num_iw_samples", self.num_iw_samples)
        if self.checkpoint_every_steps < 0:
            raise checks.invalid("checkpoint_every_steps", "a non-negative integer (0: off)",
                                 self.checkpoint_every_steps)
        checks.non_negative_float("checkpoint_every_minutes", self.checkpoint_every_minutes)
        checks.choice("distribute", self.distribute, ("auto",) + DISTRIBUTIONS)
        if self.data_path is not None and not os.path.isfile(self.data_path):
            raise checks.invalid("data_path", "an existing .npz file", self.data_path)
        return self

    @property
    def example_shape(self):
        return (28, 28, 1) if self.architecture == "conv" else (784,)


def parse_args(argv=None):
    """Parses the command line into a validated `TrainConfig` and the `--overwrite` flag."""
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m keras_vae.train", description=__doc__,
                                     epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--dataset", default=defaults.dataset, help=f"one of {', '.join(DATASETS)}")
    add("--data-path", default=None, help="local .npz in the mnist.npz layout")
    add("--likelihood", default=defaults.likelihood, help="bernoulli or gaussian")
    add("--sigma", type=float, default=defaults.sigma, help="Gaussian decoder's fixed std")
    add("--beta", type=float, default=defaults.beta, help="weight of the KL term")
    add("--latent-dim", type=int, default=defaults.latent_dim)
    add("--architecture", default=defaults.architecture, help="mlp or conv")
    add("--hidden-units", default="512", help="comma-separated dense sizes, e.g. 200,200")
    add("--activation", default=defaults.activation, help="hidden activation, e.g. relu, tanh")
    add("--epochs", type=int, default=defaults.num_epochs)
    add("--batch-size", type=int, default=defaults.batch_size)
    add("--learning-rate", type=float, default=defaults.learning_rate)
    add("--binarize", default=None,
        help="none, static or dynamic (default: dynamic for bernoulli, none for gaussian)")
    add("--seed", type=int, default=defaults.seed)
    add("--out", default=defaults.out, help="run directory")
    add("--impl", default=None, help="module implementing the contract (default: keras_vae)")
    add("--validation-split", type=float, default=defaults.validation_split,
        help="fraction of the training images held out for validation")
    add("--kl-warmup", type=int, default=0, help="epochs to anneal beta linearly from 0")
    add("--lr-schedule", default="constant", help="constant or cosine (decay to 0)")
    add("--early-stopping", type=int, default=0,
        help="patience in epochs on the validation loss (0: off)")
    add("--iw-samples", type=int, default=defaults.num_iw_samples,
        help="importance samples k for the final -log p(x) estimate")
    add("--checkpoint-every-steps", type=int, default=0, metavar="N",
        help="also checkpoint within an epoch every N training steps, rounded up to the 32 "
             "steps of one compiled call (0: only at the end of each epoch)")
    add("--checkpoint-every-minutes", type=float, default=0.0, metavar="M",
        help="also checkpoint within an epoch once M minutes have passed since the last "
             "checkpoint (0: off)")
    add("--distribute", choices=DISTRIBUTIONS, default=None,
        help="none, mirrored (every visible GPU) or multi-worker (the machines of TF_CONFIG); "
             "--batch-size is the global batch (default: mirrored when more than one GPU is "
             "visible, else none)")
    add("--mixed-precision", action=argparse.BooleanOptionalAction, default=None,
        help="train in mixed_float16 (default: on for a GPU of compute capability 7.0 or "
             "more, off on CPU)")
    add("--overwrite", action="store_true",
        help="discard the run directory's results, history and checkpoints and train anew")
    args = parser.parse_args(argv)
    try:
        hidden_units = tuple(int(u) for u in args.hidden_units.split(",") if u.strip())
    except ValueError:
        raise checks.invalid("hidden_units", "comma-separated positive integers",
                             args.hidden_units)
    binarize = args.binarize or ("dynamic" if args.likelihood == "bernoulli" else "none")
    return TrainConfig(
        dataset=args.dataset, data_path=args.data_path, likelihood=args.likelihood,
        sigma=args.sigma, beta=args.beta, latent_dim=args.latent_dim,
        architecture=args.architecture, hidden_units=hidden_units, activation=args.activation,
        num_epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        binarize=binarize, seed=args.seed, out=args.out, impl=args.impl,
        validation_split=args.validation_split, kl_warmup_epochs=args.kl_warmup,
        lr_schedule=args.lr_schedule, early_stopping=args.early_stopping,
        num_iw_samples=args.iw_samples, checkpoint_every_steps=args.checkpoint_every_steps,
        checkpoint_every_minutes=args.checkpoint_every_minutes,
        distribute=args.distribute or "auto", mixed_precision=args.mixed_precision,
    ).validate(), args.overwrite


def build_models(config, impl):
    """Builds the encoder, decoder and compiled VAE of `config` with the module `impl`."""
    options = {}
    if config.architecture != "mlp":
        options["architecture"] = config.architecture
    if config.activation != "relu":
        options["activation"] = config.activation
    try:
        encoder = impl.build_encoder(config.example_shape, config.latent_dim,
                                     config.hidden_units, **options)
        decoder = impl.build_decoder(config.latent_dim, config.example_shape,
                                     config.hidden_units[::-1], config.likelihood, **options)
    except TypeError as error:
        raise checks.invalid("impl", "builders accepting " + ", ".join(options),
                             f"{impl.__name__}: {error}")
    vae = impl.build_vae(encoder, decoder, config.likelihood, config.sigma, config.beta,
                         config.learning_rate)
    return encoder, decoder, vae


def load_data(config, data_path=None, log=print):
    """Loads, scales, splits and (statically) binarizes the data of `config`.

    Returns `(data, x_val)`: an `ImageData` whose arrays have the model's example shape, its
    `x_train` without the validation images, and those validation images.
    """
    import numpy as np

    from keras_vae.data import ImageData, binarize_static, check_pixel_range, load_images

    data = load_images(config.dataset, data_path or config.data_path, log=log)
    shape = (-1,) + config.example_shape
    x_train, x_test = data.x_train.reshape(shape), data.x_test.reshape(shape)
    check_pixel_range(x_train, config.likelihood)
    check_pixel_range(x_test, config.likelihood)
    num_val = int(round(config.validation_split * len(x_train)))
    x_val, x_train = x_train[len(x_train) - num_val:], x_train[:len(x_train) - num_val]
    y_train = data.y_train[:len(x_train)]
    if config.binarize != "none":
        x_test = binarize_static(x_test, TEST_BINARIZATION_SEED)
        x_val = binarize_static(x_val, TEST_BINARIZATION_SEED + 1)
    if config.binarize == "static":
        x_train = binarize_static(x_train, config.seed)
    split = ImageData(x_train, y_train, x_test, data.y_test, data.source)
    return split, np.asarray(x_val)


def _callbacks(config, vae, num_val):
    import keras

    callbacks = [keras.callbacks.TerminateOnNaN()]
    if config.kl_warmup_epochs:
        kl_layers = [layer for layer in vae.layers
                     if isinstance(getattr(layer, "beta", None), keras.Variable)]
        if not kl_layers:
            raise checks.invalid("kl_warmup", "a VAE whose KLDivergenceLayer keeps beta in a "
                                 "keras.Variable", config.impl)

        def anneal(epoch, logs=None):
            fraction = min(1.0, epoch / config.kl_warmup_epochs)
            for layer in kl_layers:
                layer.beta.assign(config.beta * fraction)

        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_begin=anneal))
    if config.lr_schedule == "cosine":
        callbacks.append(keras.callbacks.LearningRateScheduler(
            lambda epoch: 0.5 * config.learning_rate
            * (1 + math.cos(math.pi * epoch / config.num_epochs))))
    if config.early_stopping:
        monitor = "val_loss" if num_val else "loss"
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor, patience=config.early_stopping, restore_best_weights=True))
    return callbacks


def evaluate_model(config, impl, encoder, decoder, x_test, num_samples):
    """Test-set negative ELBO (with its parts) and importance-weighted `-log p(x)`."""
    from keras_vae.evaluate import importance_weighted_nll, negative_elbo

    start = time.perf_counter()
    figures = negative_elbo(impl, encoder, decoder, x_test, config.likelihood, config.sigma)
    figures = {f"test_{key}": value for key, value in figures.items()}
    figures["test_iw_nll"] = importance_weighted_nll(
        impl, encoder, decoder, x_test, num_samples, config.likelihood, config.sigma)
    figures.update(num_iw_samples=num_samples, num_test_images=len(x_test),
                   evaluation_seconds=time.perf_counter() - start)
    return figures


def save_figures(config, encoder, decoder, data, history):
    """Writes the run's PNG plots; returns their paths."""
    import matplotlib.pyplot as plt

    from keras_vae import plots

    figures = {
        "loss_curves": plots.plot_history(history),
        "reconstructions": plots.plot_reconstructions(encoder, decoder, data.x_test),
        "prior_samples": plots.plot_prior_samples(decoder, seed=config.seed),
        "latent_space": plots.plot_latent_space(encoder, data.x_test, data.y_test),
    }
    if config.latent_dim == 2:
        figures["manifold"] = plots.plot_manifold(decoder)
    paths = []
    for name, figure in figures.items():
        paths.append(os.path.join(config.out, f"{name}.png"))
        rundir.replace_atomically(paths[-1], lambda partial: figure.savefig(partial, dpi=100))
        plt.close(figure)
    return paths


def _custom_objects(impl):
    return {name: getattr(impl, name) for name in ("Sampling", "KLDivergenceLayer")}



def load_run(run_dir):
    """Loads `(config, impl, encoder, decoder)` from a finished run directory.

    Raises:
        ValueError: naming `run_dir` when it holds no finished run.
    """
    import keras

    from keras_vae.impl import load_impl

    names = ("config.json", "encoder.keras", "decoder.keras")
    if not all(os.path.isfile(os.path.join(run_dir, name)) for name in names):
        raise checks.invalid("run_dir", "a finished run directory holding " + ", ".join(names),
                             run_dir)
    config = _read_config(run_dir, "run_dir")
    impl = load_impl(config.impl)
    models = [keras.models.load_model(os.path.join(run_dir, f"{name}.keras"),
                                      custom_objects=_custom_objects(impl), compile=False)
              for name in ("encoder", "decoder")]
    return (config, impl, *models)


def _read_config(run_dir, name="out"):
    """The `TrainConfig` saved in `run_dir`, `None` if there is none."""
    try:
        raw = rundir.read_json(os.path.join(run_dir, "config.json"))
        if raw is None:
            return None
        fields = {field.name for field in dataclasses.fields(TrainConfig)}
        raw = {key: value for key, value in raw.items() if key in fields}
        if "hidden_units" in raw:
            raw["hidden_units"] = tuple(raw["hidden_units"])
        return TrainConfig(**raw)
    except (ValueError, TypeError, KeyError) as error:
        raise checks.invalid(name, "a run directory with a readable config.json (or "
                             "--overwrite to start it anew)", f"{run_dir}: {error}")


def _check_run_directory(config):
    """Says what `config.out` holds: `"new"`, an `"unfinished"` or a `"finished"` run.

    Raises:
        ValueError: naming `out` when the directory holds a finished run of another config, or
            an unfinished one that differs in more than `RESUMABLE_CHANGES`.
    """
    saved = _read_config(config.out)
    finished = rundir.is_finished(config.out)
    if saved is None or not (finished or os.path.isdir(os.path.join(config.out, "backup"))):
        return "new"
    # A finished run is the same run only if it trained as many epochs.
    ignored = [name for name in RESUMABLE_CHANGES if not (finished and name == "num_epochs")]
    differing = sorted(field.name for field in dataclasses.fields(TrainConfig)
                       if field.name not in ignored
                       and getattr(saved, field.name) != getattr(config, field.name))
    state = "finished" if finished else "unfinished"
    if differing:
        raise checks.invalid(
            "out", "a new run directory, the run's own settings, or --overwrite to replace it",
            f"{config.out} holding a {state} run that differs in {', '.join(differing)}")
    return state


class _Signals:
    """SIGINT and SIGTERM as `KeyboardInterrupt`, held back while a checkpoint is written."""

    def __init__(self):
        self.received = None
        self.holding = False
        self.pending = False

    def handle(self, signum, frame):
        self.received = signum
        if self.holding:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def hold(self):
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self.handle)
                    for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _checkpoint_callback(config, vae, checkpoints, progress, steps_per_epoch, hold_signals):
    """Checkpoints after each finished epoch, and every N steps or minutes within one.

    `progress` holds `epoch` (finished epochs), `step` (steps of the next one finished),
    `offset` (steps finished before this `fit` call), `history` and `nan_epoch`.
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

    return keras.callbacks.LambdaCallback(on_train_batch_end=on_batch_end,
                                          on_epoch_end=on_epoch_end)


def _fit(config, vae, data, x_val, checkpoints, state, hold_signals):
    """Trains from the checkpoint `state` (or the start) to the last epoch; returns the history."""
    from keras_vae.data import make_dataset

    progress = dict(epoch=0, step=0, history=[], complete=False)
    progress.update(state or {})
    if progress["complete"]:
        return progress["history"]
    progress.update(offset=progress["step"], nan_epoch=None)  # Steps before this fit call.
    steps_per_epoch = len(data.x_train) // config.batch_size
    train_data = make_dataset(data.x_train, config.batch_size, config.binarize,
                              seed=config.seed)
    val_data = (make_dataset(x_val, config.batch_size, shuffle=False)
                if len(x_val) else None)
    checkpoint = _checkpoint_callback(config, vae, checkpoints, progress, steps_per_epoch,
                                      hold_signals)
    callbacks = _callbacks(config, vae, len(x_val)) + [checkpoint]
    options = dict(validation_data=val_data, callbacks=callbacks, shuffle=False,
                   verbose=1 if sys.stdout.isatty() else 2)
    if progress["step"]:
        # The rest of an epoch checkpointed within: its row averages the steps trained now.
        vae.fit(train_data, initial_epoch=progress["epoch"], epochs=progress["epoch"] + 1,
                steps_per_epoch=steps_per_epoch - progress["step"], **options)
    if progress["epoch"] < config.num_epochs and not vae.stop_training:
        vae.fit(train_data, initial_epoch=progress["epoch"], epochs=config.num_epochs,
                **options)
    if progress["nan_epoch"] is not None:
        raise FloatingPointError(
            f"The loss became NaN or infinite in epoch {progress['nan_epoch'] + 1}; the models "
            "were not saved. Try a lower --learning-rate (with --overwrite), or check the data "
            "range.")
    # The weights to save (EarlyStopping may have restored the best epoch's), kept until saved.
    with hold_signals():
        checkpoints.save(vae, progress["epoch"], 0, progress["history"], complete=True)
    return progress["history"]


def train(config, overwrite=False, log=print, warn=None, hold_signals=contextlib.nullcontext):
    """Trains, saves, plots and evaluates the run of `config`; returns the test figures.

    Resumes an unfinished run in `config.out` from its last checkpoint; a finished run of the
    same config is not trained again (its figures are returned) unless `overwrite`.

    Args:
        config: a `TrainConfig`.
        overwrite: whether to discard what `config.out` holds and train anew.
        log: function called with each line of progress.
        warn: function called with one line per unreadable checkpoint (default: to stderr).
        hold_signals: context manager factory; no interrupt is raised while a checkpoint is
            written inside it.

    Raises:
        ValueError: for an invalid config or a run directory holding another run.
        rundir.RunDirectoryBusy: when another process trains in `config.out`.
        rundir.CheckpointError: when the run's checkpoints exist but none can be read.
        FloatingPointError: when the loss becomes NaN or infinite.
    """
    config.validate()
    from keras_vae import distribute
    from keras_vae.impl import load_impl

    config = distribute.resolve(config)
    impl = load_impl(config.impl)
    created = not os.path.exists(config.out)
    with rundir.lock(config.out):
        try:
            return _train_locked(config, impl, overwrite, log, warn, hold_signals)
        except ValueError:
            if created and not os.path.exists(os.path.join(config.out, "config.json")):
                # Bad input found after the directory was made: leave no run directory behind.
                os.remove(os.path.join(config.out, ".lock"))
                with contextlib.suppress(OSError):
                    os.rmdir(config.out)
            raise


def _train_locked(config, impl, overwrite, log, warn, hold_signals):
    import keras
    import tensorflow as tf

    from keras_vae import distribute

    # Before any TensorFlow operation: a multi-worker strategy configures the process.
    strategy = distribute.choose_strategy(config.distribute)
    distribute.check_batch_size(config.batch_size, strategy)
    distribute.set_precision(config.mixed_precision)
    if overwrite:
        rundir.clear(config.out, [f"{name}.png" for name in FIGURES + ("samples",)])
    state = _check_run_directory(config)
    if state != "unfinished":
        # Left when killed as it finished, or not known to belong to this run.
        rundir.remove_checkpoints(config.out)
    if state == "finished":
        log(f"The run in {config.out} is already finished: its models, plots and "
            "metrics.json are there. Add --overwrite to train it anew.")
        return rundir.read_json(os.path.join(config.out, "metrics.json"))
    data, x_val = load_data(config, log=log)
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        encoder, decoder, vae = build_models(config, impl)
    checkpoints = rundir.Checkpoints(
        config.out, warn or (lambda line: print(line, file=sys.stderr)), rundir.kill_hook())
    with strategy.scope():
        state = checkpoints.restore(vae)
    rundir.write_json(os.path.join(config.out, "config.json"), dataclasses.asdict(config))

    gpus = tf.config.list_physical_devices("GPU")
    resuming = ""
    if state:
        resuming = f"; resuming after epoch {state['epoch']}" + (
            f" and {state['step']} steps of the next" if state["step"] else "")
    log(f"Device: {f'{len(gpus)} GPU' if gpus else 'CPU'}, {config.distribute} "
        f"({strategy.num_replicas_in_sync} replicas), "
        f"{'mixed_float16' if config.mixed_precision else 'float32'}; data: {data.source}, "
        f"{len(data.x_train)} training, {len(x_val)} validation, {len(data.x_test)} test images"
        + resuming)
    start = time.perf_counter()
    _fit(config, vae, data, x_val, checkpoints, state, hold_signals)
    train_seconds = time.perf_counter() - start

    history = rundir.read_history(os.path.join(config.out, "history.csv"))
    for name, model in (("vae", vae), ("encoder", encoder), ("decoder", decoder)):
        rundir.replace_atomically(os.path.join(config.out, f"{name}.keras"), model.save)
    checkpoints.fault("results")
    save_figures(config, encoder, decoder, data, history)
    figures = evaluate_model(config, impl, encoder, decoder, data.x_test, config.num_iw_samples)
    figures.update(train_seconds=train_seconds, epochs_trained=len(history["loss"]),
                   data_source=data.source)
    rundir.write_json(os.path.join(config.out, "metrics.json"), figures)
    checkpoints.fault("finished")
    rundir.remove_checkpoints(config.out)
    log(f"Test set ({figures['num_test_images']} images): negative ELBO "
        f"{figures['test_loss']:.2f} nats (reconstruction {figures['test_reconstruction_loss']:.2f}"
        f" + KL {figures['test_kl_loss']:.2f}); importance-weighted -log p(x) "
        f"{figures['test_iw_nll']:.2f} nats (k={figures['num_iw_samples']}).")
    log(f"Run directory: {config.out}")
    return figures


def main(argv=None):
    signals = _Signals()
    out = None
    with signals.installed():
        try:
            config, overwrite = parse_args(argv)
            out = config.out
            train(config, overwrite, hold_signals=signals.hold)
        except (ValueError, rundir.RunDirectoryBusy) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except (FloatingPointError, rundir.CheckpointError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            signum = signals.received or signal.SIGINT
            kept = f" in {out}" if out else ""
            print(f"\nInterrupted by {signal.Signals(signum).name}: the finished epochs are kept"
                  f"{kept}; run the same command to resume.", file=sys.stderr)
            return 128 + signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
