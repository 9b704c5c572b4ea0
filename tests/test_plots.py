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
