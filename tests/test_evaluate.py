"""Evaluation against a linear-Gaussian VAE, whose log p(x) and ELBO have closed forms.

With decoder mean `z @ W + b` and fixed `sigma`, `p(x) = N(b, W.T @ W + sigma**2 I)`. When the
rows of `W` are orthogonal, the exact posterior is diagonal, so an encoder can equal it.
"""

import os

import keras
import pytest
import numpy as np

import keras_vae
from keras_vae.likelihood import importance_weighted_nll, negative_elbo
from keras_vae.graded import witness
from tests.grading import ROOT

SIGMA = 0.7
W = np.array([[1.5, 0.5, 0.0, -0.5, 0.2, 0.0], [0.0, 0.4, 1.0, 0.4, 0.0, -0.6]])
W[1] -= W[1] @ W[0] / (W[0] @ W[0]) * W[0]  # orthogonal rows
B = np.linspace(-0.5, 0.5, 6)
POSTERIOR_VAR = 1 / (1 + (W**2).sum(axis=1) / SIGMA**2)
X = (np.random.default_rng(0).normal(size=(200, 2)) @ W + B
     + SIGMA * np.random.default_rng(1).normal(size=(200, 6))).astype(np.float32)


def exact_nll(x):
    covariance = W.T @ W + SIGMA**2 * np.eye(6)
    centred = np.float64(x) - B
    _, logdet = np.linalg.slogdet(covariance)
    mahalanobis = np.einsum("nd,de,ne->n", centred, np.linalg.inv(covariance), centred)
    return 0.5 * (mahalanobis + logdet + 6 * np.log(2 * np.pi))


def linear_models(mean_shift=0.0, log_var_shift=0.0):
    """Encoder equal to the exact posterior (plus shifts) and the linear decoder."""
    kernel = W.T * POSTERIOR_VAR / SIGMA**2
    x = keras.Input((6,))
    z_mean = keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant(kernel),
                                bias_initializer=keras.initializers.Constant(
                                    -B @ kernel + mean_shift))(x)
    z_log_var = keras.layers.Dense(2, kernel_initializer="zeros",
                                   bias_initializer=keras.initializers.Constant(
                                       np.log(POSTERIOR_VAR) + log_var_shift))(x)
    z = keras.Input((2,))
    mean = keras.layers.Dense(6, kernel_initializer=keras.initializers.Constant(W),
                              bias_initializer=keras.initializers.Constant(B))(z)
    encoder = keras.Model(x, [z_mean, z_log_var])
    return encoder, keras.Model(z, mean), (np.float64(X) - B) @ kernel + mean_shift


def test_importance_weighted_nll_is_exact_with_the_true_posterior():
    """With q equal to the true posterior every weight is p(x), so even k=2 is exact."""
    encoder, decoder, _ = linear_models()
    received = importance_weighted_nll(keras_vae, encoder, decoder, X, num_iw_samples=2,
                                       likelihood="gaussian", sigma=SIGMA)
    expected = exact_nll(X).mean()
    assert abs(received - expected) < 1e-3, f"expected {expected:.5f}, received {received:.5f}"


def test_importance_weighted_nll_converges_from_above_with_a_wrong_posterior():
    """With a mismatched q, k=1 gives the ELBO bound and k=2000 lands within 0.05 nats of exact."""
    encoder, decoder, z_mean = linear_models(mean_shift=0.3, log_var_shift=0.8)
    expected = exact_nll(X).mean()
    single = importance_weighted_nll(keras_vae, encoder, decoder, X, num_iw_samples=1,
                                     likelihood="gaussian", sigma=SIGMA, seed=1)
    many = importance_weighted_nll(keras_vae, encoder, decoder, X, num_iw_samples=2000,
                                   likelihood="gaussian", sigma=SIGMA, chunk_size=500, seed=2)
    assert single > expected + 0.2, f"k=1: expected above {expected:.3f} + 0.2, got {single:.3f}"
    assert abs(many - expected) < 0.05, f"k=2000: expected {expected:.3f}, received {many:.3f}"


def test_negative_elbo_matches_its_closed_form():
    """The Monte Carlo negative ELBO agrees with its closed form for the linear-Gaussian model."""
    encoder, decoder, z_mean = linear_models(mean_shift=0.3, log_var_shift=0.8)
    variance = POSTERIOR_VAR * np.exp(0.8)
    x = np.tile(X, (25, 1))  # 5,000 draws: a standard error of about 0.02 nats
    reconstruction = (((np.float64(X) - B - z_mean @ W) ** 2).sum(axis=1)
                      + (variance[:, None] * W**2).sum()) / (2 * SIGMA**2)
    reconstruction += 6 * np.log(SIGMA) + 3 * np.log(2 * np.pi)
    kl = witness.kl_divergence(z_mean, np.log(variance) + 0 * z_mean)
    received = negative_elbo(keras_vae, encoder, decoder, x, "gaussian", SIGMA, seed=3)
    assert abs(received["kl_loss"] - kl.mean()) < 1e-4
    assert abs(received["reconstruction_loss"] - reconstruction.mean()) < 0.1, (
        f"expected {reconstruction.mean():.3f}, received {received['reconstruction_loss']:.3f}")
    assert abs(received["loss"] - received["reconstruction_loss"] - received["kl_loss"]) < 1e-9


def test_evaluate_refuses_an_unfinished_run_and_bad_flags_in_one_line(tmp_path, capsys):
    """A run directory without models, or --iw-samples 0: exit 2, one line naming it."""
    from keras_vae import evaluate

    (tmp_path / "backup").mkdir()
    (tmp_path / "config.json").write_text('{"hidden_units": [64]}')
    assert evaluate.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: Invalid value for `RUN_DIR`: expected a ")
    for name in ("encoder.keras", "decoder.keras"):
        (tmp_path / name).write_text("{}")
    assert evaluate.main([str(tmp_path), "--iw-samples", "0"]) == 2
    assert capsys.readouterr().err == (
        "error: Invalid value for `--iw-samples`: expected a positive integer, received 0.\n")
    # A run whose implementation is gone: named before any model is read.
    (tmp_path / "config.json").write_text('{"hidden_units": [64], "impl": "no_such_module"}')
    assert evaluate.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "error: Invalid value for `impl`: expected an importable module with the contract "
        "names, received 'no_such_module', which was not found.\n")


def test_an_error_in_the_runs_implementation_is_its_traceback_not_bad_input(tmp_path,
                                                                            monkeypatch):
    """evaluate names a missing implementation in one line, but lets a ValueError raised by the
    implementation's own code end in its traceback, exit status 1."""
    import json
    import shutil

    from keras_vae import evaluate

    run_dir = shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "release_77633a5",
                                           "finished"), tmp_path / "run")
    (tmp_path / "broken_impl.py").write_text("raise ValueError('a bug in the student code')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps(dict(config, impl="broken_impl")))
    with pytest.raises(ValueError, match="a bug in the student code"):
        evaluate.main([str(run_dir)])


def test_evaluate_names_data_of_the_wrong_shape_before_tensorflow_loads(tmp_path):
    """--data-path with RGB images: one line naming --data-path and the shapes, exit 2, in a
    second, as a terminal runs the command."""
    import shutil
    import subprocess
    import sys
    import time

    run_dir = shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "release_77633a5",
                                           "finished"), tmp_path / "run")
    path = tmp_path / "rgb.npz"
    np.savez(path, x_train=np.zeros((3, 28, 28, 3), np.uint8), y_train=np.arange(3),
             x_test=np.zeros((3, 28, 28, 3), np.uint8), y_test=np.arange(3))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "keras_vae.evaluate", str(run_dir),
                             "--data-path", str(path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    seconds = time.perf_counter() - start
    assert (result.returncode, result.stdout, result.stderr) == (2, "", (
        "error: Invalid value for `--data-path`: expected an .npz file of 28x28 grayscale "
        "images: x_train and x_test of shape (num_images, 28, 28), (num_images, 28, 28, 1) or "
        "(num_images, 784), y_train and y_test of shape (num_images,), received "
        f"'{path}', whose x_train has shape (3, 28, 28, 3).\n"))
    assert seconds < 2.0, f"expected under 2 s, received {seconds:.2f} s"


def test_the_density_note_gives_the_gaussian_constant_for_the_runs_sigma():
    """The note's constant is D * log(sigma * sqrt(2 pi)) for D = 784 pixels."""
    from keras_vae.evaluate import density_note
    from keras_vae.training.config import TrainConfig

    expected = 784 * (np.log(0.1) + 0.5 * np.log(2 * np.pi))
    note = density_note(TrainConfig(likelihood="gaussian", sigma=0.1, binarize="none"))
    assert f"is {expected:.1f} nats for --sigma 0.1," in note, note
    assert f"{expected:.1f}" == "-1084.8"


def test_evaluate_names_a_data_file_numpy_cannot_read(tmp_path):
    """--data-path to a file that is not an .npz: one line naming --data-path, exit 2, before
    TensorFlow loads."""
    import shutil
    import subprocess
    import sys

    run_dir = shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "release_77633a5",
                                           "finished"), tmp_path / "run")
    bad = tmp_path / "bad.npz"
    bad.write_text("not an archive")
    result = subprocess.run([sys.executable, "-m", "keras_vae.evaluate", str(run_dir),
                             "--data-path", str(bad)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", (
        "error: Invalid value for `--data-path`: expected an .npz file with the arrays x_train, "
        f"y_train, x_test, y_test, received '{bad}', which NumPy cannot read "
        "(ValueError).\n"))


@pytest.mark.slow
def test_evaluate_prints_only_json_on_stdout_when_offline(tmp_path, monkeypatch, capsys):
    """Offline, evaluate's stdout is pure JSON; stderr says in one line why the download failed
    and what is used instead (Keras' "Downloading" line of a download that failed is not
    shown)."""
    import json
    import os

    from keras_vae import evaluate, train

    from keras_vae import atomic

    def fail():
        print("Downloading data from https://example.invalid/mnist.npz")
        raise Exception("URL fetch failure")

    out = str(tmp_path / "run")
    assert train.main(["--hidden-units", "32", "--iw-samples", "2", "--epochs", "1",
                       "--out", out, "--dataset", "sample"]) == 0
    config = atomic.read_json(os.path.join(out, "config.json"))
    atomic.write_json(os.path.join(out, "config.json"), dict(config, dataset="mnist"))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", fail)
    capsys.readouterr()
    assert evaluate.main([out, "--iw-samples", "2"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["num_test_images"] == 1000
    assert printed.err == ("Could not download mnist (URL fetch failure); using the embedded "
                           "MNIST sample (5,000 training and 1,000 test images) instead.\n"), (
        printed.err)
