"""Each known mistake in a loss or a sample is named alone when the received values show it,
and none is named when they show another mistake."""

import numpy as np
import pytest

from keras_vae.graded import diagnosis

RNG = np.random.default_rng(3)
Z_MEAN, Z_LOG_VAR = RNG.normal(scale=2.0, size=(6, 5)), RNG.normal(scale=1.5, size=(6, 5))
EPSILON = RNG.normal(size=(6, 5))
X, PROBS = RNG.uniform(size=(4, 97)), RNG.uniform(0.02, 0.98, size=(4, 97))
IMAGES, MEANS = RNG.uniform(size=(3, 5, 4, 2)), RNG.uniform(size=(3, 5, 4, 2))
SIGMA = 0.6


def _flat(values):
    return values.reshape(len(values), -1)


TERMS = Z_MEAN**2 + np.exp(Z_LOG_VAR) - Z_LOG_VAR - 1
KL = [
    (0.5 * np.sum(TERMS + 1, axis=-1), "'- 1'"),
    (-0.5 * np.sum(TERMS, axis=-1), "sign is flipped"),
    (0.5 * np.sum(Z_MEAN**2 + np.exp(2 * Z_LOG_VAR) - 2 * Z_LOG_VAR - 1, axis=-1),
     "log(sigma)"),
    (0.5 * np.mean(TERMS, axis=-1), "averaged"),
]
BCE = X * np.log(PROBS) + (1 - X) * np.log1p(-PROBS)
BERNOULLI = [
    (-BCE.mean(axis=1), "pixels are averaged"),
    (-784 * BCE.mean(axis=1), "784"),
    (-(X * np.log(PROBS)).sum(axis=1), "(1 - x) * log(1 - probs) term is missing"),
    (-((1 - X) * np.log1p(-PROBS)).sum(axis=1), "x * log(probs) term is missing"),
]
SSE, D = _flat((IMAGES - MEANS) ** 2).sum(axis=1), 40
GAUSSIAN = [
    (SSE / (2 * SIGMA**2), "normalizing constant"),
    (SSE, "plain sum of squared errors"),
    (SSE / (2 * SIGMA**2) + 784 * np.log(SIGMA) + 392 * np.log(2 * np.pi), "D = 784"),
    (SSE / (2 * SIGMA) + D / 2 * np.log(SIGMA) + D / 2 * np.log(2 * np.pi), "variance"),
    (SSE / 2 + D / 2 * np.log(2 * np.pi), "sigma is ignored"),
    (SSE / (2 * SIGMA**2) + D * np.log(SIGMA**2) + D / 2 * np.log(2 * np.pi),
     "log(sigma**2) per pixel"),
]
REPARAMETERIZE = [
    (Z_MEAN + np.exp(Z_LOG_VAR) * EPSILON, "variance exp(z_log_var)"),
    (Z_MEAN + Z_LOG_VAR * EPSILON, "z_log_var itself"),
    (Z_MEAN, "epsilon is not added"),
    (np.exp(0.5 * Z_LOG_VAR) * EPSILON, "z_mean is not added"),
]
CASES = ([(lambda r: diagnosis.kl_divergence(r, Z_MEAN, Z_LOG_VAR), v, w) for v, w in KL]
         + [(lambda r: diagnosis.bernoulli_nll(r, X, PROBS), v, w) for v, w in BERNOULLI]
         + [(lambda r: diagnosis.gaussian_nll(r, IMAGES, MEANS, SIGMA), v, w)
            for v, w in GAUSSIAN]
         + [(lambda r: diagnosis.reparameterize(r, Z_MEAN, Z_LOG_VAR, EPSILON), v, w)
            for v, w in REPARAMETERIZE])


@pytest.mark.parametrize("diagnose, received, words", CASES,
                         ids=[words for _, _, words in CASES])
def test_a_known_mistake_is_named(diagnose, received, words):
    """Values computed with one known mistake get that mistake's hint."""
    hint = diagnose(np.float32(received))
    assert hint is not None and words in hint, f"expected a hint with {words!r}, received {hint!r}"


@pytest.mark.parametrize("diagnose, received, words", CASES,
                         ids=[words for _, _, words in CASES])
def test_other_values_name_no_mistake(diagnose, received, words):
    """Values off by an unknown mistake, or of another shape, get no named mistake."""
    assert diagnose(1.37 * received + 0.2) is None
    assert diagnose(received[:-1]) is None
    assert diagnose("not an array") is None


def test_a_mistake_that_matches_the_witness_is_not_named():
    """At sigma = 1 a Gaussian that ignores sigma is right, so its values name nothing."""
    sse = _flat((IMAGES - MEANS) ** 2).sum(axis=1)
    assert diagnosis.gaussian_nll(sse / 2 + D / 2 * np.log(2 * np.pi), IMAGES, MEANS, 1.0) is None
