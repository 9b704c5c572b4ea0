"""Graded: the KL divergence and the two reconstruction negative log-likelihoods."""

import numpy as np
import pytest
import tensorflow_probability as tfp

from keras_vae.graded import witness
from keras_vae.graded.witness import as_numpy, expect_close, expect_shape

tfd = tfp.distributions
RNG = np.random.default_rng(1)
Z_MEAN = RNG.normal(scale=2.0, size=(8, 5)).astype(np.float32)
Z_LOG_VAR = RNG.normal(scale=1.5, size=(8, 5)).astype(np.float32)
PROBS = RNG.uniform(0.02, 0.98, size=(4, 784)).astype(np.float32)
X_BINARY = (RNG.uniform(size=(4, 784)) < 0.3).astype(np.float32)
X_SOFT = RNG.uniform(size=(4, 784)).astype(np.float32)


@pytest.mark.graded(id="kl.closed_form", points=2)
def test_kl_closed_form(impl):
    """kl_divergence equals 0.5 * sum(z_mean**2 + exp(z_log_var) - z_log_var - 1) per example."""
    expect_close(impl.kl_divergence(Z_MEAN, Z_LOG_VAR),
                 witness.kl_divergence(Z_MEAN, Z_LOG_VAR), "kl_divergence(z_mean, z_log_var)",
                 "check the sign, the '- 1', that z_log_var is log(sigma**2) (not log sigma), "
                 "and that the latent axis is summed, not averaged.")


@pytest.mark.graded(id="kl.zero_at_prior", points=1)
def test_kl_zero_at_prior(impl):
    """KL divergence is zero when q equals the prior N(0, I)."""
    zeros = np.zeros((3, 4), np.float32)
    expect_close(impl.kl_divergence(zeros, zeros), np.zeros(3), "kl_divergence(0, 0)",
                 "the '- 1' term is missing, or the formula is not the Gaussian KL.", atol=1e-6)


@pytest.mark.graded(id="kl.non_negative", points=1)
def test_kl_non_negative(impl):
    """KL divergence is never negative."""
    kl = as_numpy(impl.kl_divergence(Z_MEAN, Z_LOG_VAR))
    assert np.all(kl >= -1e-5), (
        f"kl_divergence: expected values >= 0, received minimum {kl.min():.4f}.\n"
        "Likely mistake: the sign is flipped (that is -KL, the term of the ELBO).")


@pytest.mark.graded(id="kl.per_example", points=1)
def test_kl_per_example(impl):
    """kl_divergence returns one value per example, shape (batch_size,)."""
    expect_shape(impl.kl_divergence(Z_MEAN, Z_LOG_VAR), (8,), "kl_divergence(z_mean, z_log_var)")


@pytest.mark.graded(id="kl.tfp", points=1)
def test_kl_tfp(impl):
    """kl_divergence agrees with tfp.distributions.kl_divergence of diagonal Gaussians."""
    q = tfd.MultivariateNormalDiag(np.float64(Z_MEAN), np.exp(0.5 * np.float64(Z_LOG_VAR)))
    prior = tfd.MultivariateNormalDiag(np.zeros(5), np.ones(5))
    expect_close(impl.kl_divergence(Z_MEAN, Z_LOG_VAR), tfd.kl_divergence(q, prior),
                 "kl_divergence vs tfd.kl_divergence", "see kl.closed_form.")


@pytest.mark.graded(id="bernoulli.sum_over_pixels", points=2)
def test_bernoulli_sum_over_pixels(impl):
    """bernoulli_nll is binary cross-entropy summed (not averaged) over pixels."""
    expect_close(impl.bernoulli_nll(X_SOFT, PROBS), witness.bernoulli_nll(X_SOFT, PROBS),
                 "bernoulli_nll(x, probs) for x in [0, 1] of shape (4, 784)",
                 "sum over the 784 pixels (keras' binary_crossentropy takes the mean), and keep "
                 "both terms: x * log(probs) + (1 - x) * log(1 - probs).")


@pytest.mark.graded(id="bernoulli.image_shape", points=1)
def test_bernoulli_image_shape(impl):
    """bernoulli_nll sums over every non-batch axis of (batch_size, 28, 28, 1) images."""
    shape = (4, 28, 28, 1)
    expect_close(impl.bernoulli_nll(X_SOFT.reshape(shape), PROBS.reshape(shape)),
                 witness.bernoulli_nll(X_SOFT, PROBS), "bernoulli_nll on (4, 28, 28, 1) images",
                 "reduce over all axes but the first (e.g. axis=(1, 2, 3)), not only the last.")


@pytest.mark.graded(id="bernoulli.finite_at_bounds", points=1)
def test_bernoulli_finite_at_bounds(impl):
    """bernoulli_nll stays finite for probabilities of exactly 0 and 1."""
    x = np.array([[0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0]], np.float32)
    probs = np.array([[0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0]], np.float32)
    nll = as_numpy(impl.bernoulli_nll(x, probs))
    assert np.all(np.isfinite(nll)), (
        f"bernoulli_nll at probabilities 0 and 1: expected finite values, received {nll}.\n"
        "Likely mistake: log(0); clip probs to [epsilon, 1 - epsilon] before taking logs.")
    assert nll[0] < 1e-3 and nll[1] > 10, (
        f"bernoulli_nll: expected ~0 for perfect predictions and a large value for wrong "
        f"ones, received {nll}.")


@pytest.mark.graded(id="bernoulli.tfp", points=1)
def test_bernoulli_tfp(impl):
    """bernoulli_nll agrees with -tfd.Bernoulli(probs).log_prob(x) summed over pixels."""
    log_prob = tfd.Bernoulli(probs=np.float64(PROBS)).log_prob(np.float64(X_BINARY))
    expect_close(impl.bernoulli_nll(X_BINARY, PROBS), -np.sum(log_prob, axis=1),
                 "bernoulli_nll vs tfd.Bernoulli", "see bernoulli.sum_over_pixels.")


MEAN = RNG.uniform(size=(4, 784)).astype(np.float32)


@pytest.mark.graded(id="gaussian.closed_form", points=2)
def test_gaussian_closed_form(impl):
    """gaussian_nll is sum((x - mean)**2) / 2 + D/2 log(2 pi) at sigma = 1, constant included."""
    expect_close(impl.gaussian_nll(X_SOFT, MEAN, 1.0), witness.gaussian_nll(X_SOFT, MEAN, 1.0),
                 "gaussian_nll(x, mean, sigma=1.0)",
                 "the squared error is divided by 2 * sigma**2 and the normalizing constant "
                 "D * log(sigma) + D / 2 * log(2 * pi) is part of -log N(x; mean, sigma**2).")


@pytest.mark.graded(id="gaussian.sigma", points=2)
def test_gaussian_sigma(impl):
    """gaussian_nll uses sigma as a standard deviation, for sigma = 0.5 and sigma = 2."""
    for sigma in (0.5, 2.0):
        expect_close(impl.gaussian_nll(X_SOFT, MEAN, sigma),
                     witness.gaussian_nll(X_SOFT, MEAN, sigma), f"gaussian_nll(sigma={sigma})",
                     "sigma is ignored, or used as a variance: the density has sigma**2 in the "
                     "exponent's denominator and log(sigma) per pixel.")


@pytest.mark.graded(id="gaussian.image_shape", points=1)
def test_gaussian_image_shape(impl):
    """gaussian_nll sums over every non-batch axis of (batch_size, 28, 28, 1) images."""
    shape = (4, 28, 28, 1)
    expect_close(impl.gaussian_nll(X_SOFT.reshape(shape), MEAN.reshape(shape), 0.5),
                 witness.gaussian_nll(X_SOFT, MEAN, 0.5), "gaussian_nll on (4, 28, 28, 1)",
                 "reduce over all non-batch axes, and count D = 784 pixels in the constant.")


@pytest.mark.graded(id="gaussian.tfp", points=1)
def test_gaussian_tfp(impl):
    """gaussian_nll agrees with -tfd.Normal(mean, sigma).log_prob(x) summed over pixels."""
    log_prob = tfd.Normal(np.float64(MEAN), 0.7).log_prob(np.float64(X_SOFT))
    expect_close(impl.gaussian_nll(X_SOFT, MEAN, 0.7), -np.sum(log_prob, axis=1),
                 "gaussian_nll vs tfd.Normal", "see gaussian.closed_form.")
