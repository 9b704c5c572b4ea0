"""The figures, drawn for functional and subclassed models alike."""

import matplotlib.figure
import numpy as np
import pytest

from keras_vae import plots
from tests.solutions import subclassed

X = (np.random.default_rng(0).uniform(size=(40, 784)) < 0.3).astype(np.float32)
LABELS = np.arange(40) % 10


@pytest.mark.parametrize("latent_dim", [2, 3])
def test_run_figures_draw_subclassed_models_with_tuple_outputs(latent_dim):
    """Subclassed encoder and decoder (no `inputs`, tuple outputs): every run figure is drawn."""
    encoder = subclassed.build_encoder((784,), latent_dim, (8,))
    decoder = subclassed.build_decoder(latent_dim, (784,), (8,))
    history = {"loss": [3.0, 2.0], "val_loss": [3.5, 2.5]}
    figures = plots.run_figures(encoder, decoder, X, LABELS, history, latent_dim)
    expected = set(plots.FIGURES) - ({"manifold"} if latent_dim != 2 else set())
    assert set(figures) == expected, f"expected {sorted(expected)}, received {sorted(figures)}"
    assert all(isinstance(figure, matplotlib.figure.Figure) for figure in figures.values())
    assert plots.png_bytes(figures["prior_samples"]).startswith(b"\x89PNG")


def test_a_subclassed_decoder_needs_its_latent_dim_said():
    """Without `inputs` to read it from, a missing latent_dim is a ValueError naming it."""
    decoder = subclassed.build_decoder(2, (784,), (8,))
    with pytest.raises(ValueError, match=r"Invalid value for `latent_dim`"):
        plots.plot_prior_samples(decoder)


def test_importing_the_plots_leaves_matplotlib_as_the_user_set_it():
    """A notebook's backend stays its own: the module makes its figures without pyplot."""
    import subprocess
    import sys

    code = ("import matplotlib, sys\n"
            "matplotlib.use('svg')\n"
            "import keras_vae.plots\n"
            "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "svg False\n", "")


class ArrayEncoder:
    """An encoder standing in for a model: `z_mean` is the first `latent_dim` pixels, scaled."""

    def __init__(self, latent_dim):
        self.latent_dim = latent_dim

    def predict(self, x, verbose=0):
        z_mean = 4 * x.reshape(len(x), -1)[:, :self.latent_dim] - 2
        return [z_mean, np.zeros_like(z_mean)]


class ArrayDecoder:
    """A decoder standing in for a model: each image is a constant, the sigmoid of `z`'s sum."""

    def __init__(self, latent_dim, example_shape=(784,)):
        self.latent_dim, self.example_shape = latent_dim, example_shape

    def predict(self, z, verbose=0):
        values = 1 / (1 + np.exp(-z.sum(axis=1)))
        return np.broadcast_to(values[:, None], (len(z), int(np.prod(self.example_shape)))
                               ).reshape((-1,) + self.example_shape)


def white_margins(png):
    """The fractions of the PNG's height and width that are empty canvas at its edges: white
    rows above and below everything drawn, white columns left and right of it."""
    import io

    import matplotlib.image

    white = np.all(matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3] > 0.99,
                   axis=2)
    margins = []
    for lines in (white.all(axis=1), white.all(axis=0)):
        drawn = np.flatnonzero(~lines)
        margins.append((drawn[0] + len(lines) - 1 - drawn[-1]) / len(lines))
    return margins


def test_loss_curves_have_a_labelled_panel_per_term():
    """loss, reconstruction_loss and kl_loss: one panel each, epochs against nats, training and
    validation in the legend."""
    history = {name: [3.0, 2.0] for name in ("loss", "reconstruction_loss", "kl_loss",
                                             "val_loss", "val_reconstruction_loss", "val_kl_loss")}
    axes = plots.plot_history(history).axes
    titles = [ax.get_title() for ax in axes]
    assert [title.split(" ")[0] for title in titles] == ["loss", "reconstruction", "KL"], titles
    for ax in axes:
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "nats per example")
        assert [text.get_text().split(" ")[0] for text in ax.get_legend().get_texts()] == [
            "training", "validation"]


@pytest.mark.parametrize("latent_dim, axis_names", [
    (2, ("z1", "z2")), (16, ("first principal axis", "second principal axis")),
    (1, ("z1", "digit"))])
def test_latent_space_axes_are_labelled(latent_dim, axis_names):
    """Both axes say what they show: z1 and z2, or the principal axes of a larger z_mean."""
    figure = plots.plot_latent_space(ArrayEncoder(latent_dim), X, LABELS)
    ax = figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == axis_names
    assert ax.get_title(), "expected a title"


@pytest.mark.parametrize("labels, names, expected", [
    (LABELS, None, [str(d) for d in range(10)]),
    (np.arange(40) % 3 + 4, None, ["4", "5", "6"]),
    (LABELS, plots.FASHION_MNIST_CLASSES, list(plots.FASHION_MNIST_CLASSES))])
def test_latent_space_colorbar_ticks_sit_at_the_centre_of_each_labels_band(labels, names,
                                                                         expected):
    """One colour band per label value, its tick (the label or its name) at the band's centre,
    and each point coloured with its label's band."""
    figure = plots.plot_latent_space(ArrayEncoder(2), X, labels, "digit", names)
    ax, colorbar_ax = figure.axes
    points = ax.collections[0]
    boundaries = np.asarray(points.norm.boundaries)
    centres = (boundaries[:-1] + boundaries[1:]) / 2
    np.testing.assert_allclose(colorbar_ax.get_yticks(), centres)
    assert [tick.get_text() for tick in colorbar_ax.get_yticklabels()] == expected
    assert colorbar_ax.get_ylabel() == "digit"
    colours = points.cmap(points.norm(points.get_array()))
    for value, name in zip(np.unique(labels), expected):
        band = points.cmap(points.norm(centres[expected.index(name)]))
        assert np.all(colours[labels == value] == band), f"points of {value} in another colour"


def test_manifold_axes_are_z1_and_z2_with_each_tiles_value():
    """z1 across, z2 up: a tick at each tile's centre with its latent value, z2 highest at the
    top row."""
    import statistics

    num_rows = 5
    figure = plots.plot_manifold(ArrayDecoder(2), num_rows=num_rows, latent_dim=2)
    ax = figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("z1", "z2")
    values = [statistics.NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, num_rows)]
    x_labels = [float(tick.get_text()) for tick in ax.get_xticklabels()]
    y_labels = [float(tick.get_text()) for tick in ax.get_yticklabels()]
    np.testing.assert_allclose(x_labels, values, atol=0.005)
    np.testing.assert_allclose(y_labels, values[::-1], atol=0.005)  # Image rows go down.
    tile = 28 + 2  # pixels and the gap after them
    np.testing.assert_allclose(ax.get_xticks(), np.arange(num_rows) * tile + 13.5)
    np.testing.assert_allclose(ax.get_yticks(), np.arange(num_rows) * tile + 13.5)


def test_reconstructions_fill_their_canvas_with_labelled_rows():
    """The two rows of images fill the PNG (no band of empty canvas) and are named."""
    figure = plots.plot_reconstructions(ArrayEncoder(2), ArrayDecoder(2), X)
    ax = figure.axes[0]
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["input", "reconstruction"]
    height, width = white_margins(plots.png_bytes(figure))
    assert height < 0.08 and width < 0.08, (
        f"expected under 8% empty canvas, received {height:.0%} of the height and {width:.0%} "
        "of the width")


def test_prior_samples_name_their_seed():
    """The same seed draws the same figure, and the title says which seed it was."""
    decoder = ArrayDecoder(2)
    figure = plots.plot_prior_samples(decoder, num_rows=3, seed=1234, latent_dim=2)
    assert "seed 1234" in figure.axes[0].get_title()
    again = plots.plot_prior_samples(decoder, num_rows=3, seed=1234, latent_dim=2)
    other = plots.plot_prior_samples(decoder, num_rows=3, seed=1235, latent_dim=2)
    assert plots.png_bytes(figure) == plots.png_bytes(again) != plots.png_bytes(other)
