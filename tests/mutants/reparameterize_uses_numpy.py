"""Draws epsilon with np.random inside Sampling.call: fresh eagerly, but no part of the graph
(model.predict traces a None batch size, so the NumPy draw cannot run there)."""
import numpy as np
from keras import ops
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = ("sampling.fresh_noise", "sampling.seed")


class Sampling(keras_vae.Sampling):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = np.random.normal(size=tuple(ops.shape(z_mean))).astype("float32")
        return keras_vae.reparameterize(z_mean, z_log_var, epsilon)
