"""Computes the KL but never calls add_loss."""
from keras_vae import *  # noqa: F401,F403
import keras_vae


class KLDivergenceLayer(keras_vae.KLDivergenceLayer):
    def call(self, inputs):
        keras_vae.kl_divergence(*inputs)
        return inputs
