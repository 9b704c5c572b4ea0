"""Draws epsilon of shape (1, latent_dim): one noise vector shared by every example."""
import keras
from keras import ops
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = (
    "sampling.shape",
    "sampling.fresh_noise",
    "sampling.statistics",
    "sampling.seed",
    "sampling.config",
)


class Sampling(keras_vae.Sampling):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal((1, ops.shape(z_mean)[1]), seed=self.seed_generator)
        return keras_vae.reparameterize(z_mean, z_log_var, epsilon)
