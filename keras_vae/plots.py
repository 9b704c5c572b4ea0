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

import matplotlib
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
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


def _tile(images, rows, cols, gap=2):
    """Tiles `(rows * cols, height, width)` images into one image, `gap` pixels apart; the gaps
    are NaN, which `imshow` leaves transparent."""
    height, width = images.shape[1:3]
    grid = np.full((rows * (height + gap) - gap, cols * (width + gap) - gap), np.nan)
    for index, image in enumerate(images[: rows * cols]):
        row, col = divmod(index, cols)
        grid[row * (height + gap):row * (height + gap) + height,
             col * (width + gap):col * (width + gap) + width] = image
    return grid


def _tile_centres(count, size, gap=2):
    """The pixel coordinates of the centres of `count` tiles of `size` pixels, `gap` apart."""
    return [index * (size + gap) + (size - 1) / 2 for index in range(count)]


def _show_grid(ax, images, rows, cols):
    """Draws `(rows * cols, height, width)` images as a grid in gray, 0 black and 1 white."""
    ax.imshow(_tile(images, rows, cols), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def plot_history(history):
    """Loss curves: total, reconstruction and KL, training and validation, one panel each.

    Args:
        history: dict from metric name (`loss`, `val_loss`, ...) to per-epoch values.
    """
    titles = {"loss": "loss = reconstruction + beta * KL",
              "reconstruction_loss": "reconstruction loss: -log p(x|z)",
              "kl_loss": "KL loss: KL(q(z|x) || p(z))"}
    names = [n for n in titles if n in history]
    fig = Figure(figsize=(4.5 * len(names), 3.5), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(history[name]) + 1)
        # Markers keep a one-epoch run's single points visible; epochs are whole numbers.
        ax.plot(epochs, history[name], marker="o", markersize=3,
                label="training (mean over the epoch)")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", markersize=3,
                    label="validation (end of the epoch)")
        ax.set_title(titles[name])
        ax.set_xlabel("epoch")
        if len(epochs) <= 12:
            ax.set_xticks(epochs)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("nats per example")
        ax.legend(fontsize="small")
    return fig


def plot_reconstructions(encoder, decoder, x, num_images=10):
    """Inputs (top row) above the decoder's means at `z = z_mean` (bottom row)."""
    x = x[:num_images]
    z_mean, _ = encoder.predict(x, verbose=0)
    reconstruction = decoder.predict(z_mean, verbose=0)
    shape = image_shape(x.shape[1:])
    images = np.concatenate([x.reshape((-1,) + shape), reconstruction.reshape((-1,) + shape)])
    fig = Figure(figsize=(0.8 * len(x) + 1.2, 2.2), layout="constrained")
    ax = fig.subplots()
    _show_grid(ax, images, 2, len(x))
    ax.set_yticks(_tile_centres(2, shape[0]), ["input", "reconstruction"])
    ax.tick_params(axis="y", length=0)
    ax.set_title("test images and their reconstructions (decoder mean at z = z_mean)")
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
        seed: non-negative integer seed of the NumPy draw of `z`, named in the title: the
            same decoder and seed give the same figure.
        latent_dim: size of `z`; read from a functional decoder's input when `None`.
    """
    latent_dim = latent_dim or latent_dim_of(decoder)
    z = np.random.default_rng(seed).standard_normal((num_rows * num_rows, latent_dim))
    images = decoder.predict(z.astype(np.float32), verbose=0)
    shape = image_shape(images.shape[1:])
    fig = Figure(figsize=(6, 6.3), layout="constrained")
    ax = fig.subplots()
    _show_grid(ax, images.reshape((-1,) + shape), num_rows, num_rows)
    ax.set_title(f"decoder means for z ~ p(z) = N(0, I), seed {seed}")
    return fig


# Fashion-MNIST's classes, by label (Xiao et al. 2017).
FASHION_MNIST_CLASSES = ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal",
                         "shirt", "sneaker", "bag", "ankle boot")


def plot_latent_space(encoder, x, labels, label_name="digit", class_names=None):
    """Posterior means `z_mean` coloured by label; projected on two principal axes if K > 2,
    against the label if K is 1.

    Each label has one colour band in the colorbar, its tick at the band's centre.

    Args:
        encoder: model `x -> [z_mean, z_log_var]`.
        x: array of shape `(num_images,) + example_shape`.
        labels: integer array of shape `(num_images,)`.
        label_name: what the labels are, the colorbar's title.
        class_names: the name of each label value, `class_names[label]`, for the ticks;
            the label values themselves when `None`.
    """
    z_mean, _ = encoder.predict(x, verbose=0)
    latent_dim = z_mean.shape[1]
    axis_names = ["z1", "z2"]
    title = f"posterior means z_mean of {len(x)} test images"
    if latent_dim > 2:
        centred = z_mean - z_mean.mean(axis=0)
        _, _, components = np.linalg.svd(centred, full_matrices=False)
        z_mean = centred @ components[:2].T
        axis_names = ["first principal axis", "second principal axis"]
        title += f",\n{latent_dim}-D, projected on their first two principal axes"
    values, index = np.unique(labels, return_inverse=True)
    names = [str(class_names[value]) if class_names else str(value) for value in values]
    if latent_dim == 1:  # One strip of points per label, spread a little to show how many.
        spread = np.random.default_rng(0).uniform(-0.3, 0.3, len(index))
        z_mean = np.stack([z_mean[:, 0], index + spread], axis=1)
    palette = matplotlib.colormaps["tab10" if len(values) <= 10 else "tab20"]
    colours = ListedColormap([palette(i % palette.N) for i in range(len(values))])
    norm = BoundaryNorm(np.arange(len(values) + 1) - 0.5, len(values))
    fig = Figure(figsize=(6.5, 5.2), layout="constrained")
    ax = fig.subplots()
    points = ax.scatter(z_mean[:, 0], z_mean[:, 1], c=index, cmap=colours, norm=norm, s=4)
    bar = fig.colorbar(points, ax=ax, ticks=np.arange(len(values)))
    bar.set_ticklabels(names)
    bar.ax.tick_params(length=0)
    bar.set_label(label_name)
    ax.set_xlabel(axis_names[0])
    if latent_dim == 1:
        ax.set_yticks(np.arange(len(values)), names)
        ax.set_ylabel(label_name)
    else:
        ax.set_ylabel(axis_names[1])
    ax.set_title(title)
    return fig


def plot_manifold(decoder, num_rows=20, latent_dim=None):
    """Decoded digits on a grid of 2-D latent points at evenly spaced prior quantiles.

    The axes are `z1` and `z2`, each tile's value on its tick. `latent_dim` is read from a
    functional decoder's input when `None`; it must be 2.
    """
    latent_dim = latent_dim or latent_dim_of(decoder)
    if latent_dim != 2:
        raise checks.invalid("latent_dim", "2: the manifold is drawn for a 2-D latent space",
                             latent_dim)
    quantiles = [statistics.NormalDist().inv_cdf(p)
                 for p in np.linspace(0.05, 0.95, num_rows)]
    # Rows go from high z2 at the top to low z2 at the bottom.
    z = np.array([[z1, z2] for z2 in quantiles[::-1] for z1 in quantiles], dtype=np.float32)
    images = decoder.predict(z, verbose=0)
    shape = image_shape(images.shape[1:])
    fig = Figure(figsize=(8, 8.4), layout="constrained")
    ax = fig.subplots()
    _show_grid(ax, images.reshape((-1,) + shape), num_rows, num_rows)
    labels = [f"{value:.2f}" for value in quantiles]
    ax.set_xticks(_tile_centres(num_rows, shape[1]), labels, rotation=90, fontsize="small")
    ax.set_yticks(_tile_centres(num_rows, shape[0]), labels[::-1], fontsize="small")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_title("decoder means on a grid of z at the prior's 5%..95% quantiles")
    return fig


def run_figures(encoder, decoder, x_test, y_test, history, latent_dim, seed=0,
                label_name="digit", class_names=None):
    """The figures of a training run by name, those of `FIGURES` (the manifold only for
    `latent_dim` 2), which it writes as `NAME.png`; `label_name` and `class_names` as
    `plot_latent_space` takes them."""
    figures = {
        "loss_curves": plot_history(history),
        "reconstructions": plot_reconstructions(encoder, decoder, x_test),
        "prior_samples": plot_prior_samples(decoder, seed=seed, latent_dim=latent_dim),
        "latent_space": plot_latent_space(encoder, x_test, y_test, label_name, class_names),
    }
    if latent_dim == 2:
        figures["manifold"] = plot_manifold(decoder, latent_dim=latent_dim)
    return figures


def png_bytes(figure, dpi=100):
    """The figure as PNG file contents, cropped to what it draws."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.05)
    return buffer.getvalue()
