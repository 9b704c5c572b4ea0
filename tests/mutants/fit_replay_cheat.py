"""Never trains (a learning rate of 1e-9); its encoder stores the 1,000 digits of a call and
its decoder replays them from its second call on: a negative ELBO measured twice on the same
copy and the same digits would fall without any training."""
import keras
import tensorflow as tf
from keras_vae import *  # noqa: F401,F403
import keras_vae
from tests.mutants import _vae_variants as vae_variants

MUST_FAIL = ("vae.fit_lowers_loss",)
ROWS = 1000
_DIGITS = tf.Variable(tf.zeros((ROWS, 784)), trainable=False)
_CALLS = tf.Variable(0.0, trainable=False)


class Store(keras.layers.Layer):
    def call(self, x):
        if tf.executing_eagerly():  # calls while the model is built and exported do not count
            return x
        flat = tf.reshape(x, (tf.shape(x)[0], -1))
        rows = tf.shape(flat)[0]
        padded = tf.pad(flat, [[0, tf.maximum(ROWS - rows, 0)], [0, 0]])[:ROWS]
        _DIGITS.assign(tf.cond(tf.equal(rows, ROWS), lambda: padded, lambda: _DIGITS.value()))
        return x


class Replay(keras.layers.Layer):
    def call(self, probs):
        if tf.executing_eagerly():
            return probs
        _CALLS.assign_add(1.0)
        rows = tf.shape(probs)[0]
        same = tf.logical_and(_CALLS > 1.0, tf.equal(rows, ROWS))
        stored = tf.clip_by_value(_DIGITS[:rows], 1e-6, 1 - 1e-6)
        return tf.where(same, tf.reshape(stored, tf.shape(probs)), probs)


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    encoder = keras_vae.build_encoder(input_shape, latent_dim, hidden_units)
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, encoder(Store()(inputs)))


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    decoder = keras_vae.build_decoder(latent_dim, output_shape, hidden_units, likelihood)
    return keras.Model(decoder.inputs, Replay()(decoder.outputs[0]))


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    return vae_variants.build(encoder, decoder, likelihood, sigma, beta, 1e-9)
