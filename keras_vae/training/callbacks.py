"""The Keras callbacks of the training command: KL warm-up, learning-rate decay, early
stopping and TensorBoard logs, for any implementation of the contract.
"""

import math
import os

from keras_vae import checks
from keras_vae.training.rundir import TENSORBOARD_FOLDERS, RunDir


def kl_layers(impl, vae):
    """The `impl.KLDivergenceLayer` layers inside `vae`, however deeply nested."""
    return [layer for layer in vae._flatten_layers(include_self=True, recursive=True)
            if isinstance(layer, impl.KLDivergenceLayer)]


def annealable_beta(impl, vae):
    """Gives every KL layer of `vae` a `beta` that a callback can change during `fit`.

    A layer that keeps `beta` in a `keras.Variable` (the reference) keeps it. One that keeps a
    Python number gets a non-trainable variable of that value in its place, created outside
    Keras' tracking so that the model's weights, and so its checkpoints and saved files, are
    unchanged. Call it before the first `fit`, which traces the layer's `call`, and
    `restore_beta` before the models are saved (a warm-up longer than the run, or early
    stopping, leaves the last epoch's fraction of `beta`).

    Returns:
        A list of `(layer, original)` pairs, `original` the number replaced or `None`.

    Raises:
        ValueError: naming `kl_warmup_epochs` when `vae` holds no KL layer with a `beta`.
    """
    import keras

    layers = kl_layers(impl, vae)
    found = []
    for layer in layers:
        beta = getattr(layer, "beta", None)
        if isinstance(beta, keras.Variable):
            found.append((layer, None))
        elif isinstance(beta, (int, float)) and not isinstance(beta, bool):
            variable = keras.Variable(float(beta), trainable=False, name="beta")
            object.__setattr__(layer, "beta", variable)  # Not tracked as a weight.
            found.append((layer, beta))
    if not found:
        raise checks.invalid(
            "kl_warmup_epochs", "a VAE whose KLDivergenceLayer keeps the KL weight in a "
            "`beta` attribute (a number or a keras.Variable)",
            f"{impl.__name__} with {len(layers)} such layers")
    return found


def restore_beta(annealed, beta):
    """Puts every annealed KL weight back at the run's `beta` for saving: a layer's own
    `keras.Variable` gets the value, and a number `annealable_beta` replaced comes back."""
    for layer, original in annealed:
        if original is None:
            layer.beta.assign(beta)
        else:
            object.__setattr__(layer, "beta", original)


def training_callbacks(config, annealed, num_val):
    """The callbacks `config` asks for, `annealed` from `annealable_beta` (or `[]`)."""
    import keras

    callbacks = [keras.callbacks.TerminateOnNaN()]
    if config.kl_warmup_epochs:
        def anneal(epoch, logs=None):
            fraction = min(1.0, epoch / config.kl_warmup_epochs)
            for layer, _ in annealed:
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
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(RunDir(config.out).logs, write_graph=False))
    return callbacks


def log_figures(run_dir, pngs, step):
    """Writes PNG images (name to file contents) to the TensorBoard logs of `RunDir` `run_dir`
    at `step`."""
    import tensorflow as tf

    writer = tf.summary.create_file_writer(os.path.join(run_dir.logs, TENSORBOARD_FOLDERS[2]))
    with writer.as_default():
        for name, png in pngs.items():
            tf.summary.image(name, tf.image.decode_png(png, channels=4)[None], step=step)
    writer.close()
