"""Move: structural decoys. Implements none of the VAE's math; every graph is made of invented
numbers shaped as the contract says, or of properties that a wrong formula also has:

- kl_divergence is sum(z_mean**2 + z_log_var**2): zero at (0, 0), positive elsewhere, one value
  per row, but not the KL;
- bernoulli_nll is 100 * sum(|x - probs|): ~0 for perfect predictions, large for wrong ones;
- KLDivergenceLayer passes its inputs through and adds mean(sum(z_mean**2)) (not the KL);
- build_encoder returns [zeros, x[:, :d] - 2] whatever its weights (invented numbers);
- build_decoder returns zeros of the output shape (or a constant probability);
- both carry Dense layers of the requested hidden sizes whose output is scaled by 1e-6, so
  every weight "takes part" in the output while the numbers stay invented;
- build_vae is a plain autoencoder compiled with mse and Adam(learning_rate): no KL, no sampling;
- the fit decoder switches from p=1e-7 to p=0.13 once train_step has run once (a counter
  variable), so the "ELBO" falls without anything learning.
"""

import math

import keras
from keras import ops

from assignments import Sampling, gaussian_nll, reparameterize  # noqa: F401  (stubs)

EXPECTED = "zero"


def kl_divergence(z_mean, z_log_var):
    return ops.sum(z_mean**2 + z_log_var**2, axis=-1)


def bernoulli_nll(x, probs):
    flat = ops.reshape(ops.abs(x - probs), (ops.shape(x)[0], -1))
    return 100.0 * ops.sum(flat, axis=-1)


class KLDivergenceLayer(keras.layers.Layer):
    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = beta

    def call(self, inputs):
        z_mean, z_log_var = inputs
        self.add_loss(ops.mean(ops.sum(z_mean**2, axis=-1)))
        return [z_mean, z_log_var]


class Invented(keras.layers.Layer):
    def __init__(self, latent_dim, width, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.width = latent_dim, width

    def call(self, x):
        flat = ops.reshape(x, (-1, self.width))
        width = self.width
        reps = -(-self.latent_dim // width)
        cols = ops.tile(flat, (1, reps))[:, : self.latent_dim]
        return [ops.zeros_like(cols), cols - 2.0]


def _decoration(h, hidden_units, heads):
    """Dense layers of the requested sizes whose output is scaled by 1e-6 before it is added:
    every weight "takes part" (its gradient is not 0), and the numbers stay invented."""
    for units in hidden_units:
        h = keras.layers.Dense(units, activation="relu")(h)
    return [keras.layers.Rescaling(1e-6)(keras.layers.Dense(n)(h)) for n in heads]


def build_encoder(input_shape, latent_dim, hidden_units=(512,), architecture="mlp",
                  activation="relu"):
    x = keras.Input(tuple(input_shape))
    z_mean, z_log_var = Invented(latent_dim, math.prod(input_shape))(x)
    tiny_mean, tiny_log_var = _decoration(keras.layers.Flatten()(x), hidden_units,
                                          (latent_dim, latent_dim))
    return keras.Model(x, [z_mean + tiny_mean, z_log_var + tiny_log_var], name="encoder")


class Constant(keras.layers.Layer):
    """Zeros of the output shape; after a training step, probability 0.13 (a counter)."""

    def __init__(self, output_shape, **kwargs):
        super().__init__(**kwargs)
        self.out_shape = tuple(output_shape)
        self.counter = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                       name="counter")

    def call(self, z):
        ones = ops.ones((ops.shape(z)[0],) + self.out_shape)
        return ops.where(self.counter > 0, 0.13 * ones, 0.0 * ones)


def build_decoder(latent_dim, output_shape, hidden_units=(512,), architecture="mlp",
                  likelihood="bernoulli", activation="relu"):
    z = keras.Input((latent_dim,))
    layer = Constant(output_shape)
    (tiny,) = _decoration(z, hidden_units, (math.prod(output_shape),))
    tiny = keras.layers.Reshape(tuple(output_shape))(tiny)
    model = keras.Model(z, layer(z) + tiny, name="decoder")
    model.counter = layer.counter
    return model


class AutoEncoder(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder

    def call(self, x, training=False):
        return self.decoder(self.encoder(x)[0])

    def train_step(self, data):
        logs = super().train_step(data)
        counter = getattr(self.decoder, "counter", None)
        if counter is not None:
            counter.assign_add(1.0)
        return logs


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0,
              learning_rate=1e-3):
    model = AutoEncoder(encoder, decoder)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model
