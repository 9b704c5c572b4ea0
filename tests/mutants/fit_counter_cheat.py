"""Never trains (a learning rate of 1e-9), and its decoder answers near-zero probabilities to
its first call: a negative ELBO measured first on a fresh copy and then on the same copy
would fall without any training."""
import keras
import tensorflow as tf
from keras import ops
from keras_vae import *  # noqa: F401,F403
import keras_vae
from tests.mutants import _vae_variants as vae_variants

MUST_FAIL = ("vae.fit_lowers_loss",)


class FirstCallWrong(keras.layers.Layer):
    def build(self, input_shape):
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                     name="calls")

    def call(self, probs):
        if tf.executing_eagerly():  # calls while the model is built and exported do not count
            return probs
        self.calls.assign(self.calls + 1.0)
        return ops.where(self.calls <= 1.0, 1e-3 * ops.ones_like(probs), probs)


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    decoder = keras_vae.build_decoder(latent_dim, output_shape, hidden_units, likelihood)
    return keras.Model(decoder.inputs, FirstCallWrong()(decoder.outputs[0]))


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    return vae_variants.build(encoder, decoder, likelihood, sigma, beta, 1e-9)
