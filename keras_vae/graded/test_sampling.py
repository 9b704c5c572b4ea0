"""Graded: the reparameterization trick and the Sampling layer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_vae.graded.witness import as_numpy, expect_close, expect_shape

RNG = np.random.default_rng(0)
Z_MEAN = RNG.normal(size=(6, 3)).astype(np.float32)
Z_LOG_VAR = RNG.normal(scale=1.5, size=(6, 3)).astype(np.float32)


@pytest.mark.graded(id="reparameterize.formula", points=2)
def test_reparameterize_formula(impl):
    """reparameterize returns z_mean + exp(0.5 * z_log_var) * epsilon."""
    epsilon = RNG.normal(size=(6, 3)).astype(np.float32)
    received = impl.reparameterize(Z_MEAN, Z_LOG_VAR, epsilon)
    expected = np.float64(Z_MEAN) + np.exp(0.5 * np.float64(Z_LOG_VAR)) * epsilon
    expect_close(received, expected, "reparameterize(z_mean, z_log_var, epsilon)",
                 "the scale is the standard deviation exp(0.5 * z_log_var), not the variance "
                 "exp(z_log_var) nor exp(z_log_var) taken as a standard deviation.", rtol=1e-5)


@pytest.mark.graded(id="sampling.shape", points=1)
def test_sampling_shape(impl):
    """Sampling returns one z per row, shaped (batch_size, latent_dim)."""
    z = impl.Sampling(seed=1)([tf.constant(Z_MEAN), tf.constant(Z_LOG_VAR)])
    expect_shape(z, Z_MEAN.shape, "Sampling()([z_mean, z_log_var])")


@pytest.mark.graded(id="sampling.fresh_noise", points=1)
def test_sampling_fresh_noise(impl):
    """Sampling draws fresh noise on every call, eagerly and inside a compiled model."""
    layer = impl.Sampling(seed=1)
    inputs = [tf.constant(Z_MEAN), tf.constant(Z_LOG_VAR)]
    first, second = as_numpy(layer(inputs)), as_numpy(layer(inputs))
    assert not np.allclose(first, second), (
        "Two eager calls returned the same z: expected new epsilon on each call, received the "
        "same values.\nLikely mistake: noise drawn once (in __init__/build, or with NumPy) "
        "instead of with keras.random.normal(..., seed=self.seed_generator) inside call.")
    z_mean, z_log_var = keras.Input((3,)), keras.Input((3,))
    model = keras.Model([z_mean, z_log_var], impl.Sampling(seed=2)([z_mean, z_log_var]))
    first = model.predict(inputs, verbose=0)
    second = model.predict(inputs, verbose=0)
    assert not np.allclose(first, second), (
        "Two model.predict calls returned the same z: expected fresh noise in the compiled "
        "graph, received identical values.\nLikely mistake: NumPy noise is frozen into the "
        "graph when it is traced; draw epsilon with keras.random.normal.")


@pytest.mark.graded(id="sampling.gradients", points=1)
def test_sampling_gradients(impl):
    """Gradients of z reach both z_mean (as 1) and z_log_var (as 0.5 * (z - z_mean))."""
    z_mean, z_log_var = tf.Variable(Z_MEAN), tf.Variable(Z_LOG_VAR)
    with tf.GradientTape() as tape:
        z = impl.Sampling(seed=3)([z_mean, z_log_var])
        total = tf.reduce_sum(z)
    grad_mean, grad_log_var = tape.gradient(total, [z_mean, z_log_var])
    assert grad_mean is not None and grad_log_var is not None, (
        "Expected gradients for both z_mean and z_log_var, received None for "
        f"{'z_mean' if grad_mean is None else 'z_log_var'}.\nLikely mistake: z computed "
        "outside TensorFlow (NumPy) or from a constant, so the encoder cannot learn.")
    expect_close(grad_mean, np.ones_like(Z_MEAN), "d sum(z) / d z_mean",
                 "z must be z_mean plus a term that does not depend on z_mean.")
    expect_close(grad_log_var, 0.5 * (as_numpy(z) - Z_MEAN), "d sum(z) / d z_log_var",
                 "z must be z_mean + exp(0.5 * z_log_var) * epsilon.", rtol=1e-3)


@pytest.mark.graded(id="sampling.statistics", points=2)
def test_sampling_statistics(impl):
    """Many draws of Sampling have mean z_mean and standard deviation exp(0.5 * z_log_var)."""
    num_draws = 20000
    means = np.array([1.0, -2.0, 0.5], np.float32)
    log_vars = np.log(np.array([1.0, 4.0, 0.25], np.float32))
    z = as_numpy(impl.Sampling(seed=4)([tf.constant(np.tile(means, (num_draws, 1))),
                                        tf.constant(np.tile(log_vars, (num_draws, 1)))]))
    stds = np.exp(0.5 * np.float64(log_vars))
    # Bounds of 6 standard errors: a correct layer fails with probability below 1e-8.
    expect_close(z.mean(axis=0), means, "mean of 20,000 draws",
                 "z must be centred on z_mean.", rtol=0, atol=6 * stds.max() / np.sqrt(num_draws))
    expect_close(z.std(axis=0), stds, "standard deviation of 20,000 draws",
                 "the spread is exp(0.5 * z_log_var); exp(z_log_var) is the variance.",
                 rtol=6 / np.sqrt(2 * num_draws), atol=0)


@pytest.mark.graded(id="sampling.seed", points=1)
def test_sampling_seed(impl):
    """Sampling layers with the same seed draw the same z; other seeds draw other z."""
    inputs = [tf.constant(Z_MEAN), tf.constant(Z_LOG_VAR)]
    first = as_numpy(impl.Sampling(seed=7)(inputs))
    again = as_numpy(impl.Sampling(seed=7)(inputs))
    other = as_numpy(impl.Sampling(seed=8)(inputs))
    assert np.allclose(first, again), (
        "Two Sampling(seed=7) layers drew different z: expected the same draws for the same "
        "seed.\nLikely mistake: the seed is not passed to keras.random.SeedGenerator.")
    assert not np.allclose(first, other), (
        "Sampling(seed=7) and Sampling(seed=8) drew the same z: expected different draws.")


@pytest.mark.graded(id="sampling.config", points=1)
def test_sampling_config(impl):
    """Sampling's get_config round-trips its seed, so saved models load back."""
    layer = impl.Sampling(seed=11, name="z")
    config = layer.get_config()
    assert config.get("seed") == 11, (
        f"get_config()['seed']: expected 11, received {config.get('seed')!r}.\n"
        "Likely mistake: get_config does not add the seed to the base config.")
    clone = impl.Sampling.from_config(config)
    z = clone([tf.constant(Z_MEAN), tf.constant(Z_LOG_VAR)])
    expect_shape(z, Z_MEAN.shape, "Sampling.from_config(config) called on [z_mean, z_log_var]")
