"""Figures of a trained VAE. Each function returns a matplotlib `Figure` and shows nothing.

The figures are made without pyplot, so importing this module leaves matplotlib's backend and
pyplot's figures (a notebook's inline plots, say) as they were; with the inline backend active
(`%matplotlib inline`), a notebook shows a returned figure as the cell's result.

They take any encoder and decoder that map arrays to arrays (functional or subclassed models,
list or tuple outputs), and call each model's `predict` once per figure.
"""

import io
import math
import statistics

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from keras_vae import checks

# The figures of a training run, written as NAME.png in its run directory.
FIGURES = ("loss_curves", "reconstructions", "prior_samples", "latent_space", "manifold")


def image_shape(example_shape):
    """The 2-D shape to draw one example as: `(784,) -> (28, 28)`, `(28, 28, 1) -> (28, 28)`."""
    if len(example_shape) == 1:
        side = math.isqrt(example_shape[0])
        if side * side != example_shape[0]:
            raise checks.invalid("example_shape", "a square number of pixels", example_shape)
        return side, side
    return tuple(example_shape[:2])


def _tile(images, rows, cols):
    """Tiles `(rows * cols, height, width)` images into one `(rows * height, cols * width)`."""
    height, width = images.shape[1:3]
    grid = images[: rows * cols].reshape(rows, cols, height, width)
    return grid.transpose(0, 2, 1, 3).reshape(rows * height, cols * width)


def plot_history(history):
    """Loss curves: total, reconstruction and KL, training and validation.

    Args:
        history: dict from metric name (`loss`, `val_loss`, ...) to per-epoch values.
    """
    names = [n for n in ("loss", "reconstruction_loss", "kl_loss") if n in history]
    fig = Figure(figsize=(4.5 * len(names), 3.5))
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(history[name]) + 1)
        # Markers keep a one-epoch run's single points visible; epochs are whole numbers.
        ax.plot(epochs, history[name], marker="o", markersize=3, label="training")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", markersize=3, label="validation")
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel("epoch")
        if len(epochs) <= 12:
            ax.set_xticks(epochs)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("nats per example")
        ax.legend()
    fig.tight_layout()
    return fig


def plot_reconstructions(encoder, decoder, x, num_images=10):
    """Inputs (top row) above the decoder's means at `z = z_mean` (bottom row)."""
    x = x[:num_images]
    z_mean, _ = encoder.predict(x, verbose=0)
    reconstruction = decoder.predict(z_mean, verbose=0)
    shape = image_shape(x.shape[1:])
    images = np.concatenate([x.reshape((-1,) + shape), reconstruction.reshape((-1,) + shape)])
    fig = Figure(figsize=(num_images, 2.3))
    ax = fig.subplots()
    ax.imshow(_tile(images, 2, len(x)), cmap="gray", vmin=0, vmax=1)
    ax.set_title("inputs (top) and reconstructions (bottom)")
    ax.axis("off")
    return fig


def latent_dim_of(decoder):
    """The latent size a decoder takes, read from a functional model's input.

    Raises:
        ValueError: for a decoder without `inputs` (a subclassed model): pass `latent_dim`.
    """
    inputs = getattr(decoder, "inputs", None)
    if not inputs:
        raise checks.invalid("latent_dim", "the decoder's latent size for a decoder that is not "
                             "a functional model", None, f"for {type(decoder).__name__}")
    return inputs[0].shape[-1]


def plot_prior_samples(decoder, num_rows=10, seed=0, latent_dim=None):
    """Decoder means for `z ~ N(0, I)`: new digits drawn from the prior.

    Args:
        decoder: model `z -> reconstruction`.
        num_rows: the grid is `num_rows` by `num_rows` digits.
        seed: integer seed of the NumPy draw of `z`.
        latent_dim: size of `z`; read from a functional decoder's input when `None`.
    """
    latent_dim = latent_dim or latent_dim_of(decoder)
    z = np.random.default_rng(seed).standard_normal((num_rows * num_rows, latent_dim))
    images = decoder.predict(z.astype(np.float32), verbose=0)
    shape = image_shape(images.shape[1:])
    fig = Figure(figsize=(6, 6))
    ax = fig.subplots()
    ax.imshow(_tile(images.reshape((-1,) + shape), num_rows, num_rows), cmap="gray",
              vmin=0, vmax=1)
    ax.set_title("samples from the prior p(z) = N(0, I)")
    ax.axis("off")
    return fig


def plot_latent_space(encoder, x, labels):
    """Posterior means `z_mean` coloured by label; projected on two principal axes if K > 2."""
    z_mean, _ = encoder.predict(x, verbose=0)
    latent_dim = z_mean.shape[1]
    title = "latent space (z_mean)"
    if latent_dim > 2:
        centred = z_mean - z_mean.mean(axis=0)
        _, _, components = np.linalg.svd(centred, full_matrices=False)
        z_mean = centred @ components[:2].T
        title = f"latent space (z_mean, {latent_dim}-D, first two principal axes)"
    elif z_mean.shape[1] == 1:
        z_mean = np.concatenate([z_mean, np.zeros_like(z_mean)], axis=1)
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    points = ax.scatter(z_mean[:, 0], z_mean[:, 1], c=labels, cmap="tab10", s=3)
    fig.colorbar(points, ax=ax, label="label")
    ax.set_title(title)
    return fig


def plot_manifold(decoder, num_rows=20, latent_dim=None):
    """Decoded digits on a grid of 2-D latent points at evenly spaced prior quantiles.

    `latent_dim` is read from a functional decoder's input when `None`; it must be 2.
    """
    latent_dim = latent_dim or latent_dim_of(decoder)
    if latent_dim != 2:
        raise checks.invalid("latent_dim", "2: the manifold is drawn for a 2-D latent space",
                             latent_dim)
    quantiles = [statistics.NormalDist().inv_cdf(p)
                 for p in np.linspace(0.05, 0.95, num_rows)]
    # Rows go from high z_2 at the top to low z_2 at the bottom.
    z = np.array([[z1, z2] for z2 in quantiles[::-1] for z1 in quantiles], dtype=np.float32)
    images = decoder.predict(z, verbose=0)
    shape = image_shape(images.shape[1:])
    fig = Figure(figsize=(8, 8))
    ax = fig.subplots()
    ax.imshow(_tile(images.reshape((-1,) + shape), num_rows, num_rows), cmap="gray",
              vmin=0, vmax=1)
    ax.set_title("2-D latent manifold (z at prior quantiles 5%..95%)")
    ax.axis("off")
    return fig


def run_figures(encoder, decoder, x_test, y_test, history, latent_dim, seed=0):
    """The figures of a training run by name, those of `FIGURES` (the manifold only for
    `latent_dim` 2), which it writes as `NAME.png`."""
    figures = {
        "loss_curves": plot_history(history),
        "reconstructions": plot_reconstructions(encoder, decoder, x_test),
        "prior_samples": plot_prior_samples(decoder, seed=seed, latent_dim=latent_dim),
        "latent_space": plot_latent_space(encoder, x_test, y_test),
    }
    if latent_dim == 2:
        figures["manifold"] = plot_manifold(decoder, latent_dim=latent_dim)
    return figures


def png_bytes(figure, dpi=100):
    """The figure as PNG file contents."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
