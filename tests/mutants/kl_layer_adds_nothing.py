"""Computes the KL but never calls add_loss."""
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = ("kl_layer.adds_batch_mean", "kl_layer.beta")


class KLDivergenceLayer(keras_vae.KLDivergenceLayer):
    def call(self, inputs):
        keras_vae.kl_divergence(*inputs)
        return inputs
