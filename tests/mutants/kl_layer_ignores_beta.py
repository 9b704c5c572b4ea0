"""Adds the KL without its weight beta."""
from keras import ops
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = ("kl_layer.beta",)


class KLDivergenceLayer(keras_vae.KLDivergenceLayer):
    def call(self, inputs):
        self.add_loss(ops.mean(keras_vae.kl_divergence(*inputs)))
        return inputs
