"""The reference loss terms beyond the graded checks: dtypes, extremes, agreement with fit."""

import numpy as np

import keras_vae
from keras_vae.graded import witness


def test_kl_divergence_keeps_float64_precision():
    """kl_divergence computes in the inputs' float64 when given float64."""
    rng = np.random.default_rng(0)
    z_mean, z_log_var = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    received = np.asarray(keras_vae.kl_divergence(z_mean, z_log_var))
    np.testing.assert_allclose(received, witness.kl_divergence(z_mean, z_log_var), rtol=1e-12)


def test_bernoulli_nll_of_confident_wrong_prediction_is_bounded():
    """A certain but wrong pixel costs -log(1e-7) ~ 16.1 nats, not infinity."""
    received = float(keras_vae.bernoulli_nll(np.ones((1, 1), np.float32),
                                             np.zeros((1, 1), np.float32))[0])
    assert abs(received - 16.118) < 0.01, f"expected ~16.118 nats, received {received}"


def test_gaussian_nll_sigma_scaling():
    """Halving sigma multiplies the squared-error part by 4 and lowers the constant by D log 2."""
    x = np.zeros((1, 10), np.float32)
    mean = np.ones((1, 10), np.float32)
    at_one = float(keras_vae.gaussian_nll(x, mean, 1.0)[0])
    at_half = float(keras_vae.gaussian_nll(x, mean, 0.5)[0])
    expected = at_one + 3 * 10 / 2 - 10 * np.log(2)
    assert abs(at_half - expected) < 1e-4, f"expected {expected}, received {at_half}"
