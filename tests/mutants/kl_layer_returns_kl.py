"""Returns the KL divergence from KLDivergenceLayer instead of passing its inputs through."""
from keras import ops
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = ("kl_layer.identity",)


class KLDivergenceLayer(keras_vae.KLDivergenceLayer):
    def call(self, inputs):
        kl = keras_vae.kl_divergence(*inputs)
        self.add_loss(self.beta * ops.mean(kl))
        return kl
