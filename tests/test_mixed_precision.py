"""The layers, losses and models under the mixed_float16 policy, checked on CPU against float32."""

import contextlib

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae import impl as impl_module
from keras_vae.likelihood import importance_weighted_nll
from keras_vae.graded import witness

RNG = np.random.default_rng(0)
X = (RNG.uniform(size=(64, 784)) < 0.3).astype(np.float32)


@contextlib.contextmanager
def mixed_precision():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy("float32")


def build(architecture, likelihood="bernoulli", beta=1.0, seed=1):
    shape = (28, 28, 1) if architecture == "conv" else (784,)
    keras.utils.set_random_seed(seed)
    encoder = keras_vae.build_encoder(shape, 4, (32,), architecture=architecture)
    decoder = keras_vae.build_decoder(4, shape, (32,), likelihood, architecture=architecture)
    return shape, encoder, decoder, keras_vae.build_vae(encoder, decoder, likelihood,
                                                        beta=beta, seed=seed)


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_float32_where_precision_matters(architecture, likelihood):
    """Under mixed_float16 the heads, the decoder's output, the KL and the likelihood are float32."""
    with mixed_precision():
        shape, encoder, decoder, vae = build(architecture, likelihood)
    hidden = [layer for layer in decoder.layers if isinstance(layer, keras.layers.Dense)][0]
    assert hidden.compute_dtype == "float16", (
        f"expected float16 hidden layers, received {hidden.compute_dtype}")
    z_mean, z_log_var = encoder(X[:4].reshape((-1,) + shape))
    reconstruction = decoder(z_mean)
    received = {"z_mean": z_mean.dtype, "z_log_var": z_log_var.dtype,
                "reconstruction": reconstruction.dtype,
                "kl_divergence": keras_vae.kl_divergence(z_mean, z_log_var).dtype}
    received = {name: keras.backend.standardize_dtype(dtype) for name, dtype in received.items()}
    assert set(received.values()) == {"float32"}, (
        f"expected float32, received {received}")
    nll = keras_vae.bernoulli_nll(X[:4].reshape((-1,) + shape),
                                  keras.ops.cast(reconstruction, "float16"))
    assert keras.backend.standardize_dtype(nll.dtype) == "float32", (
        f"expected a float32 likelihood, received {nll.dtype}")
    assert type(vae.optimizer).__name__ == "LossScaleOptimizer", (
        f"expected compile to scale the loss, received {type(vae.optimizer).__name__}")


def test_float16_probabilities_give_finite_bernoulli_nll():
    """Certain but wrong float16 probabilities cost about 16 nats a pixel, as in float32."""
    probs = np.array([[0.0, 1.0]], np.float16)
    # The clip is [1e-7, 1 - 1e-7] in float32, where 1 - 1e-7 rounds to 1 - 2**-23.
    expected = -np.log(1e-7) - np.log(2.0**-23)
    received = float(keras_vae.bernoulli_nll(np.array([[1.0, 0.0]], np.float32), probs)[0])
    assert abs(received - expected) < 1e-3, f"expected {expected:.4f} nats, received {received}"


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_fit_under_mixed_precision_reports_finite_exact_parts(architecture):
    """fit in mixed_float16 gives finite losses with loss = reconstruction_loss + beta * kl_loss."""
    with mixed_precision():
        shape, _, _, vae = build(architecture, beta=0.3)
        images = X.reshape((-1,) + shape)
        history = vae.fit(images, images, epochs=2, batch_size=16, validation_data=(images, images),
                          verbose=0).history
    for prefix in ("", "val_"):
        loss = np.array(history[prefix + "loss"])
        parts = (np.array(history[prefix + "reconstruction_loss"])
                 + 0.3 * np.array(history[prefix + "kl_loss"]))
        assert np.all(np.isfinite(loss)), f"expected finite {prefix}loss, received {loss}"
        np.testing.assert_allclose(loss, parts, rtol=1e-5, err_msg=f"{prefix}loss vs parts")


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_likelihood_and_kl_match_float32_on_the_same_weights(architecture):
    """On float32's weights, mixed precision's -log p(x|z_mean), KL and IW -log p(x) agree to 0.5%."""
    shape, encoder, decoder, _ = build(architecture)
    with mixed_precision():
        _, mixed_encoder, mixed_decoder, _ = build(architecture, seed=2)
    mixed_encoder.set_weights(encoder.get_weights())
    mixed_decoder.set_weights(decoder.get_weights())
    images = X.reshape((-1,) + shape)
    figures = {}
    for name, (enc, dec) in {"float32": (encoder, decoder),
                             "mixed": (mixed_encoder, mixed_decoder)}.items():
        z_mean, z_log_var = enc(images)
        figures[name] = {
            "nll": witness.bernoulli_nll(images, np.asarray(dec(z_mean), np.float64)).mean(),
            "kl": witness.kl_divergence(np.asarray(z_mean), np.asarray(z_log_var)).mean(),
            "iw_nll": importance_weighted_nll(impl_module.load_impl("keras_vae"), enc, dec,
                                              images, num_iw_samples=20, batch_size=32),
        }
    for key, expected in figures["float32"].items():
        received = figures["mixed"][key]
        assert np.isfinite(received) and abs(received - expected) < 5e-3 * abs(expected), (
            f"{key}: expected {expected:.4f} (float32), received {received:.4f} (mixed)")


def test_kl_metric_sums_beyond_float16_range():
    """The kl_loss metric averages an epoch whose running sum passes float16's 65,504."""
    with mixed_precision():
        layer = keras_vae.KLDivergenceLayer()
        z_mean = np.full((1000, 4), 6.0, np.float32)  # KL of 72 nats per example
        for _ in range(5):
            layer([z_mean, np.zeros_like(z_mean)])
        received = float(layer.kl_tracker.result())
    expected = float(witness.kl_divergence(z_mean[:1], np.zeros((1, 4)))[0])
    assert np.isclose(received, expected, rtol=1e-5), (
        f"kl_loss after 5,000 examples: expected {expected}, received {received}")
