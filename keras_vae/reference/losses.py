"""Per-example loss terms of the negative ELBO.

Every function returns shape `(batch_size,)`: the term is summed over the latent axis or over
every pixel axis, never averaged. The batch mean is taken once, by Keras' loss reduction in
`compile` for the reconstruction term and by `KLDivergenceLayer` for the KL term.
"""

import math

import keras
from keras import ops

# The module, not its names: this module may run while Keras is first imported from inside
# a sibling still half-imported (see keras_vae/__init__.py).
from keras_vae import precision


def _sum_over_example(values):
    """Sums `values` over every axis but the first (the batch axis)."""
    return ops.sum(values, axis=tuple(range(1, len(values.shape))))


def kl_divergence(z_mean, z_log_var):
    """KL divergence from the approximate posterior to the standard normal prior.

    `KL(N(z_mean, diag(exp(z_log_var))) || N(0, I))` in closed form
    (Kingma & Welling 2013, appendix B):

        kl = 0.5 * sum(z_mean**2 + exp(z_log_var) - z_log_var - 1, axis=-1)

    Float16 or bfloat16 inputs give a float32 result: `exp(z_log_var)` overflows float16
    beyond `z_log_var ~ 11`.

    Args:
        z_mean: tensor of shape `(batch_size, latent_dim)`, the posterior means.
        z_log_var: tensor of shape `(batch_size, latent_dim)`, the posterior
            log-variances `log(sigma**2)`.

    Returns:
        Tensor of shape `(batch_size,)`, in nats, summed over the latent axis.
    """
    z_mean = precision.at_least_float32(z_mean)
    z_log_var = ops.cast(z_log_var, z_mean.dtype)
    return 0.5 * ops.sum(
        ops.square(z_mean) + ops.exp(z_log_var) - z_log_var - 1.0, axis=-1
    )


def bernoulli_nll(x, probs):
    """Negative log-likelihood of binary pixels under independent Bernoulli distributions.

        nll = -sum(x * log(probs) + (1 - x) * log(1 - probs))

    summed over every non-batch axis: binary cross-entropy summed over pixels (Keras'
    `binary_crossentropy` averages over the last axis instead). `probs` is clipped to
    `[1e-7, 1 - 1e-7]`, so probabilities of exactly 0 or 1 give a finite result near the exact
    one: under 1e-4 nats per pixel where `probs == x`, and over 5 nats per pixel where
    `probs == 1 - x`. Float16 or bfloat16 `probs` give a float32 result (`1 - 1e-7` rounds to
    1 in float16).

    Args:
        x: tensor of shape `(batch_size, ...)` with values in [0, 1], the data.
        probs: tensor of the same shape, the Bernoulli probabilities `p(x_d = 1 | z)`.

    Returns:
        Tensor of shape `(batch_size,)`, in nats.
    """
    probs = precision.at_least_float32(probs)
    x = ops.cast(x, probs.dtype)
    epsilon = keras.config.epsilon()
    probs = ops.clip(probs, epsilon, 1.0 - epsilon)
    log_likelihood = x * ops.log(probs) + (1.0 - x) * ops.log(1.0 - probs)
    return -_sum_over_example(log_likelihood)


def gaussian_nll(x, mean, sigma=1.0):
    """Negative log-likelihood of pixels under independent Gaussians with a fixed `sigma`.

        nll = sum((x - mean)**2) / (2 * sigma**2) + D * log(sigma) + D / 2 * log(2 * pi)

    where `D` is the number of pixels in one example. Up to the scale `1 / (2 * sigma**2)` and
    a constant this is the summed squared error. Float16 or bfloat16 `mean` gives a float32
    result.

    Args:
        x: tensor of shape `(batch_size, ...)`, the data.
        mean: tensor of the same shape, the decoder's means.
        sigma: positive float, the standard deviation shared by every pixel.

    Returns:
        Tensor of shape `(batch_size,)`, in nats, the normalizing constant included.
    """
    mean = precision.at_least_float32(mean)
    x = ops.cast(x, mean.dtype)
    num_pixels = math.prod(mean.shape[1:])
    squared_error = _sum_over_example(ops.square(x - mean))
    return (
        squared_error / (2.0 * sigma**2)
        + num_pixels * math.log(sigma)
        + 0.5 * num_pixels * math.log(2.0 * math.pi)
    )
