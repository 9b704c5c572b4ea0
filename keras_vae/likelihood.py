"""Test-set metrics of a trained VAE: the negative ELBO and an importance-weighted `-log p(x)`.

Both are written against the contract (`impl.kl_divergence`, `impl.bernoulli_nll`,
`impl.gaussian_nll`, `impl.reparameterize`), the same functions training minimizes; fit,
`python -m keras_vae.evaluate` and the benchmarks use them.
"""

import math
import time

from keras_vae import checks


def negative_log_likelihood(impl, likelihood, sigma):
    """The function `(x, reconstruction) -> -log p(x|z)` per example of `likelihood`."""
    if likelihood == "bernoulli":
        return impl.bernoulli_nll
    return lambda x, mean: impl.gaussian_nll(x, mean, sigma)


def negative_elbo(impl, encoder, decoder, x, likelihood="bernoulli", sigma=1.0,
                  batch_size=500, seed=0):
    """Single-sample Monte Carlo estimate of the negative ELBO, averaged over `x`.

        -ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) || p(z))

    Args:
        impl: module with the contract functions.
        encoder: model `x -> [z_mean, z_log_var]`.
        decoder: model `z -> reconstruction`.
        x: array of shape `(num_images,) + example_shape`.
        likelihood: `"bernoulli"` or `"gaussian"`.
        sigma: the Gaussian decoder's standard deviation.
        batch_size: images per forward pass.
        seed: integer seed of the noise.

    Returns:
        Dict with `loss`, `reconstruction_loss` and `kl_loss`, in nats per example.
    """
    import numpy as np
    import tensorflow as tf

    nll = negative_log_likelihood(impl, likelihood, sigma)
    generator = tf.random.Generator.from_seed(seed)
    totals = np.zeros(2)
    for start in range(0, len(x), batch_size):
        batch = tf.constant(x[start:start + batch_size])
        z_mean, z_log_var = encoder(batch, training=False)
        epsilon = generator.normal(tf.shape(z_mean))
        reconstruction = decoder(impl.reparameterize(z_mean, z_log_var, epsilon), training=False)
        totals += [
            float(tf.reduce_sum(nll(batch, reconstruction))),
            float(tf.reduce_sum(impl.kl_divergence(z_mean, z_log_var))),
        ]
    reconstruction_loss, kl_loss = totals / len(x)
    return {
        "loss": reconstruction_loss + kl_loss,
        "reconstruction_loss": reconstruction_loss,
        "kl_loss": kl_loss,
    }


def _standard_normal_log_prob(values):
    """`log N(values; 0, I)` summed over the last axis."""
    import tensorflow as tf

    return -0.5 * tf.reduce_sum(tf.square(values) + math.log(2 * math.pi), axis=-1)


def importance_weighted_nll(impl, encoder, decoder, x, num_iw_samples=100,
                            likelihood="bernoulli", sigma=1.0, batch_size=100, chunk_size=100,
                            seed=0):
    """Importance-weighted estimate of `-log p(x)` (Burda et al. 2015), averaged over `x`.

        log p(x) ~= logsumexp_k(log p(x|z_k) + log p(z_k) - log q(z_k|x)) - log(num_iw_samples)

    with `z_k ~ q(z|x)`. It never exceeds the ELBO bound on average and tends to `log p(x)`
    as `num_iw_samples` grows. The samples are drawn `chunk_size` at a time and combined with a
    running log-sum-exp, so memory does not grow with `num_iw_samples`. The log-weights are
    summed in float32 (or float64) even for models built under a mixed precision policy,
    whose float16 outputs would lose the log-sum-exp's precision.

    Args:
        impl: module with the contract functions.
        encoder: model `x -> [z_mean, z_log_var]`.
        decoder: model `z -> reconstruction`.
        x: array of shape `(num_images,) + example_shape`.
        num_iw_samples: positive integer `k`, importance samples per image.
        likelihood: `"bernoulli"` or `"gaussian"`.
        sigma: the Gaussian decoder's standard deviation.
        batch_size: images per step.
        chunk_size: importance samples per step.
        seed: integer seed of the noise.

    Returns:
        Float, the mean estimate of `-log p(x)` in nats.
    """
    import numpy as np
    import tensorflow as tf

    from keras_vae.precision import at_least_float32

    num_iw_samples = checks.positive_int("num_iw_samples", num_iw_samples)
    nll = negative_log_likelihood(impl, likelihood, sigma)
    generator = tf.random.Generator.from_seed(seed)
    example_shape = tuple(x.shape[1:])

    @tf.function
    def log_weights(batch, z_mean, z_log_var, epsilon):
        # epsilon: (chunk, batch_size, latent_dim)
        z = impl.reparameterize(z_mean[None], z_log_var[None], epsilon)
        flat_z = tf.reshape(z, (-1, z.shape[-1]))
        reconstruction = decoder(flat_z, training=False)
        repeated = tf.reshape(
            tf.broadcast_to(batch[None], (tf.shape(epsilon)[0],) + tuple(batch.shape)),
            (-1,) + example_shape,
        )
        log_px_given_z = -tf.cast(tf.reshape(nll(repeated, reconstruction),
                                             tf.shape(epsilon)[:2]), epsilon.dtype)
        # log q(z|x) with (z - z_mean)**2 / exp(z_log_var) = epsilon**2.
        log_qz = _standard_normal_log_prob(epsilon) - 0.5 * tf.reduce_sum(z_log_var, axis=-1)
        return log_px_given_z + _standard_normal_log_prob(z) - log_qz

    total = 0.0
    for start in range(0, len(x), batch_size):
        batch = tf.constant(x[start:start + batch_size])
        z_mean, z_log_var = (at_least_float32(t) for t in encoder(batch, training=False))
        running = None
        for chunk_start in range(0, num_iw_samples, chunk_size):
            chunk = min(chunk_size, num_iw_samples - chunk_start)
            epsilon = generator.normal((chunk,) + tuple(z_mean.shape), dtype=z_mean.dtype)
            chunk_lse = tf.reduce_logsumexp(log_weights(batch, z_mean, z_log_var, epsilon), 0)
            running = chunk_lse if running is None else tf.reduce_logsumexp(
                tf.stack([running, chunk_lse]), axis=0
            )
        log_px = running.numpy().astype(np.float64) - math.log(num_iw_samples)
        total -= log_px.sum()
    return total / len(x)


def evaluate_model(config, impl, encoder, decoder, x_test, num_iw_samples=None):
    """Test-set negative ELBO (with its parts) and importance-weighted `-log p(x)` of a run.

    Args:
        config: the run's `TrainConfig`.
        impl: the run's implementation module.
        encoder, decoder: the run's models.
        x_test: array of shape `(num_images,) + example_shape`.
        num_iw_samples: importance samples k per image; `config.num_iw_samples` when `None`.

    Returns:
        Dict with `test_loss`, `test_reconstruction_loss`, `test_kl_loss`, `test_iw_nll` (nats
        per example), `num_iw_samples`, `num_test_images` and `evaluation_seconds`.
    """
    num_iw_samples = num_iw_samples or config.num_iw_samples
    start = time.perf_counter()
    metrics = negative_elbo(impl, encoder, decoder, x_test, config.likelihood, config.sigma)
    metrics = {f"test_{key}": value for key, value in metrics.items()}
    metrics["test_iw_nll"] = importance_weighted_nll(
        impl, encoder, decoder, x_test, num_iw_samples, config.likelihood, config.sigma)
    metrics.update(num_iw_samples=num_iw_samples, num_test_images=len(x_test),
                   evaluation_seconds=time.perf_counter() - start)
    return metrics
