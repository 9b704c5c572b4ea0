"""Sampling returns z_mean: no noise at all."""
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = (
    "sampling.shape",
    "sampling.fresh_noise",
    "sampling.statistics",
    "sampling.seed",
    "sampling.config",
    "sampling.gradients",
)


class Sampling(keras_vae.Sampling):
    def call(self, inputs):
        return inputs[0] + 0.0 * inputs[1]
