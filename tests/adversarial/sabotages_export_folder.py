"""Move: crash or hang the runner through what the exporter writes. After each SavedModel is
written (the exporter's `exports.EXPORTS` are wrapped so that each archive's write_out is), the submission damages it:
kl_divergence's saved_model.pb becomes garbage bytes; bernoulli_nll's saved_model.pb becomes a
symlink to /proc/self/mem and its variables folder a symlink to /; gaussian_nll's archive folder
becomes a symlink to the filesystem root; the encoder's archives are replaced by a FIFO. Its
graphs: reparameterize loops forever (tf.while_loop), Sampling allocates a 2**40-element
tensor, KLDivergenceLayer's loss is a 4 GB Fill."""

import functools
import os
import shutil

import keras
import tensorflow as tf

from assignments import *  # noqa: F401,F403
from assignments import build_decoder, build_vae  # noqa: F401

EXPECTED = "zero"

def write_out(original, filepath, **kwargs):
    original(filepath, **kwargs)
    export = os.path.basename(os.path.dirname(filepath))
    if export == "kl_divergence":
        with open(os.path.join(filepath, "saved_model.pb"), "wb") as file:
            file.write(os.urandom(4096))
    elif export == "bernoulli_nll":
        os.remove(os.path.join(filepath, "saved_model.pb"))
        os.symlink("/proc/self/mem", os.path.join(filepath, "saved_model.pb"))
        shutil.rmtree(os.path.join(filepath, "variables"))
        os.symlink("/", os.path.join(filepath, "variables"))
    elif export == "gaussian_nll":
        shutil.rmtree(filepath)
        os.symlink("/", filepath)
    elif export == "encoder":
        shutil.rmtree(filepath)
        os.mkfifo(filepath)


from keras_vae.graded import exports  # noqa: E402


def _wrapped(make):
    def export(impl, config):
        archives, facts = make(impl, config)
        for archive in archives.values():
            archive.write_out = functools.partial(write_out, archive.write_out)
        return archives, facts
    return export


for _name in list(exports.EXPORTS):
    exports.EXPORTS[_name] = _wrapped(exports.EXPORTS[_name])


def reparameterize(z_mean, z_log_var, epsilon):
    _, z = tf.while_loop(lambda i, z: tf.constant(True), lambda i, z: (i + 1, z + 0.0),
                         (tf.constant(0), z_mean))
    return z


class Sampling(keras.layers.Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed

    def call(self, inputs):
        z_mean, _ = inputs
        big = tf.fill(tf.stack([tf.constant(2**20), tf.constant(2**20)]), 1.0)
        return z_mean + tf.reduce_sum(big) * 0.0


def kl_divergence(z_mean, z_log_var):
    return tf.reduce_sum(z_mean, -1)


def bernoulli_nll(x, probs):
    return tf.reduce_sum(tf.reshape(x, (tf.shape(x)[0], -1)), -1)


def gaussian_nll(x, mean, sigma=1.0):
    return tf.reduce_sum(tf.reshape(x, (tf.shape(x)[0], -1)), -1)


class KLDivergenceLayer(keras.layers.Layer):
    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        big = tf.fill(tf.stack([tf.shape(z_mean)[0] * 0 + 2**30]), 1.0)
        self.add_loss(tf.reduce_mean(big))
        return [z_mean, z_log_var]


def build_encoder(input_shape, latent_dim, hidden_units=(512,), architecture="mlp",
                  activation="relu"):
    x = keras.Input(tuple(input_shape))
    flat = keras.layers.Flatten()(x)
    return keras.Model(x, [keras.layers.Dense(latent_dim)(flat),
                           keras.layers.Dense(latent_dim)(flat)])
