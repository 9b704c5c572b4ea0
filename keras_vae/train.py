"""Trains a VAE on MNIST-like data with `model.fit` and writes a run directory.

Usage: `python -m keras_vae.train [--epochs N] [--latent-dim K] [--impl MODULE] [--out DIR] ...`

The run directory holds `vae.keras`, `encoder.keras`, `decoder.keras`, `history.csv`,
`config.json`, `metrics.json` and the plots. Training resumes from the last finished epoch when
the same command is run again after an interruption.
"""

import argparse
import csv
import dataclasses
import json
import math
import os
import sys
import time

from keras_vae import checks
from keras_vae.data import BINARIZATIONS, DATASETS

TEST_BINARIZATION_SEED = 2015
FIGURES = ("loss_curves", "reconstructions", "prior_samples", "latent_space", "manifold")


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
        if self.data_path is not None and not os.path.isfile(self.data_path):
            raise checks.invalid("data_path", "an existing .npz file", self.data_path)
        return self

    @property
    def example_shape(self):
        return (28, 28, 1) if self.architecture == "conv" else (784,)


def parse_args(argv=None):
    """Parses the command line into a validated `TrainConfig`."""
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m keras_vae.train", description=__doc__,
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
        num_iw_samples=args.iw_samples,
    ).validate()


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

    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(os.path.join(config.out, "history.csv"), append=True),
        keras.callbacks.BackupAndRestore(os.path.join(config.out, "backup")),
    ]
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


def read_history(path):
    """Reads `history.csv` into a dict from metric name to per-epoch floats."""
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})
            if key != "epoch"}


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
        figure.savefig(paths[-1], dpi=100)
        plt.close(figure)
    return paths


def _custom_objects(impl):
    return {name: getattr(impl, name) for name in ("Sampling", "KLDivergenceLayer")}


def load_run(run_dir):
    """Loads `(config, impl, encoder, decoder)` from a run directory."""
    import keras

    from keras_vae.impl import load_impl

    with open(os.path.join(run_dir, "config.json")) as file:
        raw = json.load(file)
    raw["hidden_units"] = tuple(raw["hidden_units"])
    config = TrainConfig(**raw)
    impl = load_impl(config.impl)
    models = [keras.models.load_model(os.path.join(run_dir, f"{name}.keras"),
                                      custom_objects=_custom_objects(impl), compile=False)
              for name in ("encoder", "decoder")]
    return (config, impl, *models)


def _check_resumable(config):
    """Refuses to resume a run directory whose saved config differs from `config`."""
    path = os.path.join(config.out, "config.json")
    if not os.path.isdir(os.path.join(config.out, "backup")) or not os.path.exists(path):
        return False
    with open(path) as file:
        saved = json.load(file)
    current = json.loads(json.dumps(dataclasses.asdict(config)))
    differing = sorted(k for k in current if k != "num_epochs" and saved.get(k) != current[k])
    if differing:
        raise checks.invalid(
            "out", "a new run directory, or the unfinished run's own settings to resume it",
            f"{config.out} holding an unfinished run that differs in {', '.join(differing)}")
    return True


def train(config, log=print):
    """Trains, saves, plots and evaluates the run of `config`; returns the test figures."""
    import keras
    import tensorflow as tf

    from keras_vae.data import make_dataset
    from keras_vae.impl import load_impl

    config.validate()
    impl = load_impl(config.impl)
    resuming = _check_resumable(config)
    data, x_val = load_data(config, log=log)
    keras.utils.set_random_seed(config.seed)
    encoder, decoder, vae = build_models(config, impl)

    os.makedirs(config.out, exist_ok=True)
    if not resuming and os.path.exists(os.path.join(config.out, "history.csv")):
        os.remove(os.path.join(config.out, "history.csv"))
    with open(os.path.join(config.out, "config.json"), "w") as file:
        json.dump(dataclasses.asdict(config), file, indent=2)

    gpus = tf.config.list_physical_devices("GPU")
    log(f"Device: {'GPU ' + gpus[0].name if gpus else 'CPU'}; data: {data.source}, "
        f"{len(data.x_train)} training, {len(x_val)} validation, {len(data.x_test)} test images"
        + ("; resuming from the last finished epoch" if resuming else ""))
    train_data = make_dataset(data.x_train, config.batch_size, config.binarize,
                              seed=config.seed)
    val_data = (make_dataset(x_val, config.batch_size, shuffle=False)
                if len(x_val) else None)
    start = time.perf_counter()
    vae.fit(train_data, validation_data=val_data, epochs=config.num_epochs,
            callbacks=_callbacks(config, vae, len(x_val)), shuffle=False, verbose=1 if sys.stdout.isatty() else 2)
    train_seconds = time.perf_counter() - start

    history = read_history(os.path.join(config.out, "history.csv"))
    if not history or not all(math.isfinite(v) for v in history["loss"]):
        raise FloatingPointError(
            f"The loss became NaN or infinite in epoch {len(history.get('loss', [])) + 1}; "
            "nothing was saved. Try a lower --learning-rate, or check the data range.")
    for name, model in (("vae", vae), ("encoder", encoder), ("decoder", decoder)):
        model.save(os.path.join(config.out, f"{name}.keras"))
    save_figures(config, encoder, decoder, data, history)
    figures = evaluate_model(config, impl, encoder, decoder, data.x_test, config.num_iw_samples)
    figures.update(train_seconds=train_seconds, epochs_trained=len(history["loss"]),
                   data_source=data.source)
    with open(os.path.join(config.out, "metrics.json"), "w") as file:
        json.dump(figures, file, indent=2)
    log(f"Test set ({figures['num_test_images']} images): negative ELBO "
        f"{figures['test_loss']:.2f} nats (reconstruction {figures['test_reconstruction_loss']:.2f}"
        f" + KL {figures['test_kl_loss']:.2f}); importance-weighted -log p(x) "
        f"{figures['test_iw_nll']:.2f} nats (k={figures['num_iw_samples']}).")
    log(f"Run directory: {config.out}")
    return figures


def main(argv=None):
    try:
        config = parse_args(argv)
        train(config)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except FloatingPointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted: the finished epochs are kept; run the same command to resume.",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
