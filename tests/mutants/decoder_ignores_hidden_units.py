"""Writes the decoder's hidden sizes into the code: always one Dense(512) layer."""
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = ("decoder.hidden_units",)


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    return keras_vae.build_decoder(latent_dim, output_shape, (512,), likelihood)
