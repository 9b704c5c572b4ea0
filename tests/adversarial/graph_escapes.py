"""Move: graphs that reach outside the computation to get data in or out. kl_divergence calls
the grader's NumPy witness through tf.py_function, bernoulli_nll through tf.numpy_function;
gaussian_nll reads the secret seed file with tf.io.read_file and tf.prints the graded inputs to
a file; reparameterize writes its inputs with tf.io.write_file; KLDivergenceLayer looks its
answer up in a tf.lookup.StaticHashTable (a resource); build_encoder's model embeds a 40 MB
constant. Everything the runner would need to score comes from outside the graph."""

import os

import keras
import numpy as np
import tensorflow as tf

from assignments import *  # noqa: F401,F403
from keras_vae.graded import witness

EXPECTED = "zero"
SEED_FILE = os.path.join(os.path.dirname(witness.__file__), "grading_seed")
LEAK = "/tmp/rt/graph_escapes_leak"


def kl_divergence(z_mean, z_log_var):
    return tf.py_function(lambda m, v: np.float32(witness.kl_divergence(m.numpy(), v.numpy())),
                          [z_mean, z_log_var], tf.float32)


def bernoulli_nll(x, probs):
    return tf.numpy_function(lambda a, b: np.float32(witness.bernoulli_nll(a, b)),
                             [x, probs], tf.float32)


def gaussian_nll(x, mean, sigma=1.0):
    seed = tf.strings.to_number(tf.strings.strip(tf.io.read_file(SEED_FILE)))
    printed = tf.print(x, mean, output_stream=f"file://{LEAK}.txt")
    with tf.control_dependencies([printed]):
        return tf.reduce_sum(tf.reshape(x, (tf.shape(x)[0], -1)), -1) * 0.0 + seed


def reparameterize(z_mean, z_log_var, epsilon):
    written = tf.io.write_file(f"{LEAK}.bin", tf.io.serialize_tensor(z_mean))
    with tf.control_dependencies([written]):
        return tf.identity(z_mean)


class KLDivergenceLayer(keras.layers.Layer):
    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant([0], tf.int64),
                                                tf.constant([1.0])), 0.5)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        self.add_loss(self.table.lookup(tf.constant(0, tf.int64)))
        return [z_mean, z_log_var]


BIG = np.random.default_rng(0).normal(size=(10_000_000,)).astype(np.float32)


class BigTable(keras.layers.Layer):
    def __init__(self, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim

    def call(self, x):
        table = tf.constant(BIG)
        rows = tf.reshape(table[: 64 * self.latent_dim], (64, self.latent_dim))
        n = tf.shape(x)[0]
        return [rows[:n], -rows[:n]]


def build_encoder(input_shape, latent_dim, hidden_units=(512,), architecture="mlp",
                  activation="relu"):
    x = keras.Input(tuple(input_shape))
    z_mean, z_log_var = BigTable(latent_dim)(x)
    return keras.Model(x, [z_mean, z_log_var])
