"""Writes the encoder's hidden sizes into the code: always one Dense(512) layer."""
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = ("encoder.hidden_units",)


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    return keras_vae.build_encoder(input_shape, latent_dim, (512,))
