"""Puts a tanh activation on the z_mean head of the encoder."""
import keras
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = ("encoder.heads_unbounded",)


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    encoder = keras_vae.build_encoder(input_shape, latent_dim, hidden_units)
    z_mean, z_log_var = encoder.outputs
    return keras.Model(encoder.inputs, [keras.layers.Activation("tanh")(z_mean), z_log_var])
