"""Puts a ReLU on the encoder's log-variance head."""
import keras
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = ("encoder.log_var_signed",)


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    encoder = keras_vae.build_encoder(input_shape, latent_dim, hidden_units)
    z_mean, z_log_var = encoder.outputs
    return keras.Model(encoder.inputs, [z_mean, keras.layers.ReLU()(z_log_var)])
