"""Scales the noise by the variance exp(z_log_var) instead of the standard deviation."""
import keras
from keras import ops
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = (
    "reparameterize.formula",
    "sampling.shape",
    "sampling.fresh_noise",
    "sampling.gradients",
    "sampling.statistics",
    "sampling.seed",
    "sampling.config",
)


def reparameterize(z_mean, z_log_var, epsilon):
    return z_mean + ops.exp(z_log_var) * epsilon


class Sampling(keras_vae.Sampling):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return reparameterize(z_mean, z_log_var, epsilon)
