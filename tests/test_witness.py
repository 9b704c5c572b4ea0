"""The grader's float64 NumPy witnesses agree with tfp.distributions."""

import numpy as np
import tensorflow_probability as tfp

from keras_vae.graded import witness

tfd = tfp.distributions
RNG = np.random.default_rng(11)


def test_kl_witness_matches_tfp():
    """The KL closed form equals tfd.kl_divergence of diagonal Gaussians, latent sizes 1 to 7."""
    for latent_dim in (1, 3, 7):
        z_mean = RNG.normal(scale=2, size=(5, latent_dim))
        z_log_var = RNG.normal(scale=1.5, size=(5, latent_dim))
        q = tfd.MultivariateNormalDiag(z_mean, np.exp(0.5 * z_log_var))
        prior = tfd.MultivariateNormalDiag(np.zeros(latent_dim), np.ones(latent_dim))
        np.testing.assert_allclose(witness.kl_divergence(z_mean, z_log_var),
                                   tfd.kl_divergence(q, prior).numpy(), rtol=1e-10)


def test_bernoulli_witness_matches_tfp():
    """The Bernoulli NLL equals -tfd.Bernoulli(probs).log_prob(x) summed, on images too."""
    probs = RNG.uniform(0.01, 0.99, size=(4, 5, 6, 2))
    x = (RNG.uniform(size=probs.shape) < 0.4).astype(np.float64)
    log_prob = tfd.Bernoulli(probs=probs).log_prob(x).numpy()  # TFP computes this in float32
    expected = -log_prob.reshape(4, -1).sum(axis=1)
    np.testing.assert_allclose(witness.bernoulli_nll(x, probs), expected, rtol=1e-6)


def test_gaussian_witness_matches_tfp():
    """The Gaussian NLL equals -tfd.Normal(mean, sigma).log_prob(x) summed, for several sigma."""
    x, mean = RNG.uniform(size=(3, 97)), RNG.uniform(size=(3, 97))
    for sigma in (0.3, 1.0, 2.5):
        expected = -tfd.Normal(mean, sigma).log_prob(x).numpy().sum(axis=1)
        np.testing.assert_allclose(witness.gaussian_nll(x, mean, sigma), expected, rtol=1e-10)
