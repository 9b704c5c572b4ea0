"""Graded: the KL layer, the encoder, the decoder and the assembled VAE."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_vae.graded import witness
from keras_vae.graded.witness import as_numpy, expect_close, expect_shape

RNG = np.random.default_rng(2)
Z_MEAN = RNG.normal(size=(6, 4)).astype(np.float32)
Z_LOG_VAR = RNG.normal(size=(6, 4)).astype(np.float32)


def added_loss(layer, inputs):
    outputs = layer([tf.constant(v) for v in inputs])
    losses = [float(np.sum(as_numpy(loss))) for loss in layer.losses]
    return outputs, sum(losses)


@pytest.mark.graded(id="kl_layer.identity", points=1)
def test_kl_layer_identity(impl):
    """KLDivergenceLayer returns [z_mean, z_log_var] unchanged."""
    outputs, _ = added_loss(impl.KLDivergenceLayer(), [Z_MEAN, Z_LOG_VAR])
    assert len(outputs) == 2, f"Expected 2 outputs [z_mean, z_log_var], received {len(outputs)}."
    expect_close(outputs[0], Z_MEAN, "KLDivergenceLayer output 0", "return the inputs as they are.")
    expect_close(outputs[1], Z_LOG_VAR, "KLDivergenceLayer output 1", "return the inputs as they are.")


@pytest.mark.graded(id="kl_layer.adds_batch_mean", points=2)
def test_kl_layer_adds_batch_mean(impl):
    """KLDivergenceLayer adds the batch mean of the KL divergence with add_loss."""
    _, loss = added_loss(impl.KLDivergenceLayer(), [Z_MEAN, Z_LOG_VAR])
    expect_close(loss, witness.kl_divergence(Z_MEAN, Z_LOG_VAR).mean(), "sum of layer.losses",
                 "self.add_loss(beta * mean(kl)) must be called in call(); 0 means nothing was "
                 "added, 6 times too much means the batch was summed instead of averaged.")


@pytest.mark.graded(id="kl_layer.beta", points=1)
def test_kl_layer_beta(impl):
    """KLDivergenceLayer(beta=0.25) adds 0.25 times the batch mean KL."""
    _, loss = added_loss(impl.KLDivergenceLayer(beta=0.25), [Z_MEAN, Z_LOG_VAR])
    expect_close(loss, 0.25 * witness.kl_divergence(Z_MEAN, Z_LOG_VAR).mean(),
                 "added loss with beta=0.25", "multiply the KL by beta before add_loss.")


@pytest.mark.graded(id="kl_layer.batch_size_independent", points=1)
def test_kl_layer_batch_size_independent(impl):
    """The added KL loss does not grow when the same examples are repeated in a bigger batch."""
    _, small = added_loss(impl.KLDivergenceLayer(), [Z_MEAN, Z_LOG_VAR])
    _, big = added_loss(impl.KLDivergenceLayer(), [np.tile(Z_MEAN, (4, 1)),
                                                   np.tile(Z_LOG_VAR, (4, 1))])
    expect_close(big, small, "added loss for the batch repeated 4 times",
                 "Keras 3 sums a non-scalar added loss: add the batch mean, not the sum.")


@pytest.mark.graded(id="encoder.outputs", points=1)
def test_encoder_outputs(impl):
    """build_encoder returns a keras.Model mapping x to [z_mean, z_log_var]."""
    encoder = impl.build_encoder((784,), 5)
    assert isinstance(encoder, keras.Model), (
        f"Expected a keras.Model, received {type(encoder).__name__}.")
    outputs = encoder.predict(RNG.uniform(size=(3, 784)).astype(np.float32), verbose=0)
    assert isinstance(outputs, (list, tuple)) and len(outputs) == 2, (
        "Expected two outputs [z_mean, z_log_var], received "
        f"{len(outputs) if isinstance(outputs, (list, tuple)) else 'one tensor'}.")
    expect_shape(outputs[0], (3, 5), "z_mean")
    expect_shape(outputs[1], (3, 5), "z_log_var")


@pytest.mark.graded(id="encoder.latent_dim", points=1)
def test_encoder_latent_dim(impl):
    """build_encoder respects latent_dim (3 and 7) and hidden_units."""
    for latent_dim in (3, 7):
        encoder = impl.build_encoder((784,), latent_dim, hidden_units=(32, 16))
        z_mean, z_log_var = encoder.predict(np.zeros((2, 784), np.float32), verbose=0)
        expect_shape(z_mean, (2, latent_dim), f"z_mean with latent_dim={latent_dim}")
        expect_shape(z_log_var, (2, latent_dim), f"z_log_var with latent_dim={latent_dim}")


@pytest.mark.graded(id="encoder.log_var_signed", points=1)
def test_encoder_log_var_signed(impl):
    """The z_log_var head is unconstrained: a log-variance can be negative."""
    encoder = impl.build_encoder((784,), 8)
    _, z_log_var = encoder.predict(RNG.uniform(size=(256, 784)).astype(np.float32), verbose=0)
    assert np.min(z_log_var) < 0, (
        f"z_log_var: expected some negative values, received minimum {np.min(z_log_var):.4f}."
        "\nLikely mistake: a ReLU (or softplus) on the log-variance head; log(sigma**2) < 0 "
        "whenever sigma < 1, so the head must be linear.")


@pytest.mark.graded(id="encoder.image_input", points=1)
def test_encoder_image_input(impl):
    """build_encoder accepts (28, 28, 1) images."""
    encoder = impl.build_encoder((28, 28, 1), 4)
    z_mean, z_log_var = encoder.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    expect_shape(z_mean, (2, 4), "z_mean for image input")
    expect_shape(z_log_var, (2, 4), "z_log_var for image input")


@pytest.mark.graded(id="decoder.flat_output", points=1)
def test_decoder_flat_output(impl):
    """build_decoder returns a keras.Model mapping z to (batch_size, 784)."""
    decoder = impl.build_decoder(5, (784,))
    assert isinstance(decoder, keras.Model), (
        f"Expected a keras.Model, received {type(decoder).__name__}.")
    expect_shape(decoder.predict(np.zeros((3, 5), np.float32), verbose=0), (3, 784),
                 "decoder output")


@pytest.mark.graded(id="decoder.image_output", points=1)
def test_decoder_image_output(impl):
    """build_decoder produces (batch_size, 28, 28, 1) for output_shape (28, 28, 1)."""
    decoder = impl.build_decoder(5, (28, 28, 1))
    expect_shape(decoder.predict(np.zeros((3, 5), np.float32), verbose=0), (3, 28, 28, 1),
                 "decoder output for image shape")


@pytest.mark.graded(id="decoder.bernoulli_range", points=1)
def test_decoder_bernoulli_range(impl):
    """A Bernoulli decoder outputs probabilities in [0, 1], even for far-out z."""
    decoder = impl.build_decoder(5, (784,), likelihood="bernoulli")
    z = (30.0 * RNG.normal(size=(64, 5))).astype(np.float32)
    probs = decoder.predict(z, verbose=0)
    assert probs.min() >= 0.0 and probs.max() <= 1.0, (
        f"Bernoulli probabilities: expected values in [0, 1], received [{probs.min():.3f}, "
        f"{probs.max():.3f}].\nLikely mistake: no sigmoid on the output layer.")


def probe_models(latent_dim=4, num_pixels=784, log_var=-30.0, decoder_scale=0.05,
                 output_activation="sigmoid"):
    """A linear encoder with a constant z_log_var and a one-layer decoder, with known weights.

    With z_log_var = -30 the sampled z equals z_mean to 1e-6, so the loss has a closed form.
    """
    rng = np.random.default_rng(3)
    enc_kernel = rng.normal(scale=0.05, size=(num_pixels, latent_dim))
    dec_kernel = rng.normal(scale=decoder_scale, size=(latent_dim, num_pixels))
    dec_bias = rng.normal(scale=0.5, size=num_pixels)
    x = keras.Input((num_pixels,))
    z_mean = keras.layers.Dense(latent_dim, kernel_initializer=keras.initializers.Constant(
        enc_kernel))(x)
    z_log_var = keras.layers.Dense(latent_dim, kernel_initializer="zeros",
                                   bias_initializer=keras.initializers.Constant(log_var))(x)
    encoder = keras.Model(x, [z_mean, z_log_var])
    z = keras.Input((latent_dim,))
    out = keras.layers.Dense(num_pixels, activation=output_activation,
                             kernel_initializer=keras.initializers.Constant(dec_kernel),
                             bias_initializer=keras.initializers.Constant(dec_bias))(z)
    decoder = keras.Model(z, out)

    def forward(x_value):
        z_mean_value = np.float64(x_value) @ enc_kernel
        logits = z_mean_value @ dec_kernel + dec_bias
        mean = 1 / (1 + np.exp(-logits)) if output_activation == "sigmoid" else logits
        return z_mean_value, np.full_like(z_mean_value, log_var), mean

    return encoder, decoder, forward


X_BINARY = (RNG.uniform(size=(32, 784)) < 0.3).astype(np.float32)
X_SOFT = RNG.uniform(size=(32, 784)).astype(np.float32)


def evaluated_loss(vae, x):
    return vae.evaluate(x, x, batch_size=len(x), verbose=0, return_dict=True)["loss"]


@pytest.mark.graded(id="vae.compiled", points=1)
def test_vae_compiled(impl):
    """build_vae returns a compiled keras.Model with .encoder, .decoder and x-shaped output."""
    encoder, decoder, _ = probe_models()
    vae = impl.build_vae(encoder, decoder)
    assert isinstance(vae, keras.Model) and vae.compiled, (
        "Expected a compiled keras.Model, received "
        f"{type(vae).__name__} (compiled={getattr(vae, 'compiled', None)}).")
    assert getattr(vae, "encoder", None) is encoder and getattr(vae, "decoder", None) is decoder, (
        "Expected vae.encoder and vae.decoder to be the models passed in.")
    expect_shape(vae(X_BINARY[:3]), (3, 784), "vae(x)")


@pytest.mark.graded(id="vae.bernoulli_loss", points=3)
def test_vae_bernoulli_loss(impl):
    """The VAE's loss is mean(bernoulli_nll) + mean(KL) for likelihood='bernoulli'."""
    encoder, decoder, forward = probe_models()
    z_mean, z_log_var, probs = forward(X_BINARY)
    expected = (witness.bernoulli_nll(X_BINARY, probs).mean()
                + witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(evaluated_loss(impl.build_vae(encoder, decoder, "bernoulli"), X_BINARY),
                 expected, "vae.evaluate loss (Bernoulli, beta=1)",
                 "compile with loss=bernoulli_nll (summed over pixels, not 'mse' nor keras' "
                 "averaged binary_crossentropy) and add the KL with KLDivergenceLayer.",
                 rtol=1e-4, atol=1e-2)


@pytest.mark.graded(id="vae.gaussian_loss", points=2)
def test_vae_gaussian_loss(impl):
    """The VAE's loss is mean(gaussian_nll with sigma) + mean(KL) for likelihood='gaussian'."""
    encoder, decoder, forward = probe_models(output_activation=None)
    z_mean, z_log_var, mean = forward(X_SOFT)
    expected = (witness.gaussian_nll(X_SOFT, mean, 0.5).mean()
                + witness.kl_divergence(z_mean, z_log_var).mean())
    vae = impl.build_vae(encoder, decoder, likelihood="gaussian", sigma=0.5)
    expect_close(evaluated_loss(vae, X_SOFT), expected,
                 "vae.evaluate loss (Gaussian, sigma=0.5)",
                 "build_vae must pick gaussian_nll(x, mean, sigma) when likelihood='gaussian' "
                 "and pass sigma on.", rtol=1e-4, atol=1e-2)


@pytest.mark.graded(id="vae.beta", points=1)
def test_vae_beta(impl):
    """With beta=0.5 the VAE's loss is mean(nll) + 0.5 * mean(KL)."""
    encoder, decoder, forward = probe_models()
    z_mean, z_log_var, probs = forward(X_BINARY)
    expected = (witness.bernoulli_nll(X_BINARY, probs).mean()
                + 0.5 * witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(evaluated_loss(impl.build_vae(encoder, decoder, beta=0.5), X_BINARY), expected,
                 "vae.evaluate loss (beta=0.5)", "pass beta to KLDivergenceLayer(beta).",
                 rtol=1e-4, atol=1e-2)


@pytest.mark.graded(id="vae.kl_present", points=1)
def test_vae_kl_present(impl):
    """The VAE's loss contains the KL term: moving z_mean away from 0 raises it by the KL."""
    encoder, decoder, forward = probe_models(decoder_scale=0.0)
    vae = impl.build_vae(encoder, decoder)
    scaled = np.float32(3.0) * X_BINARY
    z_mean, z_log_var, _ = forward(X_BINARY)
    z_mean3, _, _ = forward(scaled)
    # The decoder ignores z, so only the KL differs between the two inputs.
    x_loss = vae.evaluate(X_BINARY, X_BINARY, batch_size=32, verbose=0, return_dict=True)["loss"]
    scaled_loss = vae.evaluate(scaled, X_BINARY, batch_size=32, verbose=0,
                               return_dict=True)["loss"]
    expected = (witness.kl_divergence(z_mean3, z_log_var).mean()
                - witness.kl_divergence(z_mean, z_log_var).mean())
    expect_close(scaled_loss - x_loss, expected, "loss difference due to the KL term",
                 "the KL divergence is missing from the loss: the model needs a "
                 "KLDivergenceLayer on [z_mean, z_log_var].", rtol=1e-3, atol=1e-2)


@pytest.mark.graded(id="vae.samples_z", points=2)
def test_vae_samples_z(impl):
    """In training the VAE decodes a sample z ~ q(z|x), not z_mean."""
    x = keras.Input((2,))
    z_mean = keras.layers.Dense(2, kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant([1.0, -1.0]))(x)
    z_log_var = keras.layers.Dense(2, kernel_initializer="zeros",
                                   bias_initializer=keras.initializers.Constant(np.log(4.0)))(x)
    z = keras.Input((2,))
    identity = keras.layers.Dense(2, kernel_initializer="identity")(z)
    vae = impl.build_vae(keras.Model(x, [z_mean, z_log_var]), keras.Model(z, identity),
                         likelihood="gaussian")
    samples = as_numpy(vae(np.zeros((5000, 2), np.float32), training=True))
    std = samples.std(axis=0)
    assert np.all(np.abs(std - 2.0) < 0.15), (
        f"Spread of decoded z (identity decoder, z_log_var = log 4): expected standard "
        f"deviation 2, received {np.round(std, 3)}.\nLikely mistake: the decoder is fed "
        "z_mean (std 0) instead of the Sampling layer's z, or the variance is used as the "
        "standard deviation (std 4).")
    expect_close(samples.mean(axis=0), [1.0, -1.0], "mean of decoded z",
                 "z must be centred on z_mean.", rtol=0, atol=0.2)


@pytest.mark.graded(id="vae.fit_lowers_loss", points=2)
def test_vae_fit_lowers_loss(impl):
    """Three epochs of fit on 1,000 embedded MNIST digits lower the VAE's loss."""
    from keras_vae.data import embedded_sample_path

    with np.load(embedded_sample_path()) as data:
        x = (data["x_train"][:1000].reshape(-1, 784) > 127).astype(np.float32)
    keras.utils.set_random_seed(0)
    encoder = impl.build_encoder((784,), 4, hidden_units=(64,))
    decoder = impl.build_decoder(4, (784,), hidden_units=(64,))
    vae = impl.build_vae(encoder, decoder)
    before = vae.evaluate(x, x, batch_size=500, verbose=0, return_dict=True)["loss"]
    vae.fit(x, x, epochs=3, batch_size=50, verbose=0)
    after = vae.evaluate(x, x, batch_size=500, verbose=0, return_dict=True)["loss"]
    assert np.isfinite(after) and after < 0.8 * before, (
        f"Loss after 3 epochs: expected below 80% of {before:.1f}, received {after:.1f}.\n"
        "Likely mistake: gradients do not reach the weights, or the loss has the wrong sign.")
