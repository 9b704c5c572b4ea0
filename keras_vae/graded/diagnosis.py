"""Names the one known mistake that a loss's or a sample's received values show.

Each known mistake (those of `tests/mutants/`) is written as a float64 NumPy closed form on the
item's own inputs. When the received values match exactly one of them, within the tolerance of
`witness.expect_close`, that mistake is the hint; when none or several match, the item keeps
its general hint. NumPy only: the grading process never imports TensorFlow.
"""

import numpy as np

SUM_PIXELS = "sum over every pixel, however many there are"


def _flat(values):
    return values.reshape(len(values), -1)


def only_match(received, expected, variants, rtol=1e-4, atol=1e-4):
    """The hint of the one variant `received` matches, or `None`.

    Args:
        received: the submission's values.
        expected: the witness' values; a variant equal to them on these inputs tells nothing.
        variants: pairs `(values, hint)`, each the closed form of one known mistake, the more
            general first: where several give the same values on these inputs (at sigma = 1
            the whole Gaussian constant is its log(2 * pi) part), the first is named.
    """
    try:
        received = np.asarray(received, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    expected = np.asarray(expected, dtype=np.float64)
    matches = [(values, hint) for values, hint in variants
               if values.shape == received.shape == expected.shape
               and not np.allclose(values, expected, rtol=rtol, atol=atol)
               and np.allclose(received, values, rtol=rtol, atol=atol)]
    if matches and all(np.allclose(values, matches[0][0], rtol=rtol, atol=atol)
                       for values, _ in matches):
        return matches[0][1]
    return None


def kl_divergence(received, z_mean, z_log_var):
    """The mistake in `kl_divergence(z_mean, z_log_var)` that `received` shows, or `None`."""
    z_mean, z_log_var = np.float64(z_mean), np.float64(z_log_var)
    terms = z_mean**2 + np.exp(z_log_var) - z_log_var - 1.0
    log_std_terms = z_mean**2 + np.exp(2 * z_log_var) - 2 * z_log_var - 1.0
    expected = 0.5 * terms.sum(axis=-1)
    return only_match(received, expected, [
        (0.5 * (terms + 1.0).sum(axis=-1),
         "the '- 1' inside the sum is missing (the values are latent_dim / 2 too large)."),
        (-expected, "the sign is flipped: that is -KL, the ELBO's term, not the loss's."),
        (0.5 * log_std_terms.sum(axis=-1),
         "z_log_var is taken as log(sigma); it is log(sigma**2), so the variance is "
         "exp(z_log_var)."),
        (0.5 * terms.mean(axis=-1), "the latent axis is averaged; sum it (axis=-1)."),
    ])


def bernoulli_nll(received, x, probs):
    """The mistake in `bernoulli_nll(x, probs)` that `received` shows, or `None`."""
    x, probs = np.float64(x), np.float64(probs)
    ones, zeros = _flat(x * np.log(probs)), _flat((1.0 - x) * np.log1p(-probs))
    expected = -(ones + zeros).sum(axis=1)
    return only_match(received, expected, [
        (-(ones + zeros).mean(axis=1),
         f"the pixels are averaged (as keras' binary_crossentropy does); {SUM_PIXELS}."),
        (-784.0 * (ones + zeros).mean(axis=1),
         f"784 (MNIST's pixel count) times the pixel mean; {SUM_PIXELS}."),
        (-ones.sum(axis=1), "the (1 - x) * log(1 - probs) term is missing."),
        (-zeros.sum(axis=1), "the x * log(probs) term is missing."),
        (-expected, "the sign is flipped: that is the log-likelihood, not its negative."),
    ])


def gaussian_nll(received, x, mean, sigma):
    """The mistake in `gaussian_nll(x, mean, sigma)` that `received` shows, or `None`."""
    x, mean = np.float64(x), np.float64(mean)
    squared_error = _flat((x - mean) ** 2).sum(axis=1)
    pixels = np.prod(x.shape[1:])
    half_log_two_pi = 0.5 * np.log(2 * np.pi)

    def nll(error_scale, log_scale, count=pixels):
        return squared_error / (2 * error_scale) + count * (log_scale + half_log_two_pi)

    expected = nll(sigma**2, np.log(sigma))
    return only_match(received, expected, [
        (squared_error / (2 * sigma**2),
         "the normalizing constant D * log(sigma) + D / 2 * log(2 * pi) is missing."),
        (squared_error, "the plain sum of squared errors: divide it by 2 * sigma**2 and add "
                        "D * log(sigma) + D / 2 * log(2 * pi)."),
        (nll(sigma**2, np.log(sigma), 784),
         "D = 784 is written into the constant; D is the pixel count of one example."),
        (nll(sigma, 0.5 * np.log(sigma)),
         "sigma is used as a variance; it is the standard deviation, so the error is divided "
         "by 2 * sigma**2."),
        (nll(1.0, 0.0), "sigma is ignored (these are the values at sigma = 1)."),
        (nll(sigma**2, 2 * np.log(sigma)),
         "the constant counts log(sigma**2) per pixel; it is log(sigma)."),
        (nll(sigma**2, 0.0), "the D * log(sigma) part of the constant is missing."),
        (nll(sigma**2, np.log(sigma)) - pixels * half_log_two_pi,
         "the D / 2 * log(2 * pi) part of the constant is missing."),
        (nll(sigma**2 / 2, np.log(sigma)),
         "the squared error is not halved: divide it by 2 * sigma**2."),
        (expected / pixels, f"the pixels are averaged; {SUM_PIXELS}."),
    ])


def reparameterize(received, z_mean, z_log_var, epsilon, rtol=1e-5, atol=1e-4):
    """The mistake in `reparameterize(z_mean, z_log_var, epsilon)` that `received` shows, or
    `None`."""
    z_mean, z_log_var, epsilon = (np.float64(v) for v in (z_mean, z_log_var, epsilon))
    std = np.exp(0.5 * z_log_var)
    return only_match(received, z_mean + std * epsilon, [
        (z_mean + np.exp(z_log_var) * epsilon,
         "the noise is scaled by the variance exp(z_log_var); the standard deviation is "
         "exp(0.5 * z_log_var)."),
        (z_mean + z_log_var * epsilon,
         "z_log_var itself scales the noise; the standard deviation is exp(0.5 * z_log_var)."),
        (z_mean + np.exp(-0.5 * z_log_var) * epsilon,
         "the noise is scaled by 1 / sigma; the standard deviation is exp(0.5 * z_log_var)."),
        (z_mean, "epsilon is not added: z is z_mean."),
        (std * epsilon, "z_mean is not added."),
    ], rtol=rtol, atol=atol)
