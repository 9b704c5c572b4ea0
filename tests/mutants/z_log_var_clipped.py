"""Clips the log-variance head to [-10, 10]: bounded where the contract says neither head is."""
import keras
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = ("encoder.heads_unbounded",)


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    encoder = keras_vae.build_encoder(input_shape, latent_dim, hidden_units)
    z_mean, z_log_var = encoder.outputs
    clipped = keras.layers.Lambda(lambda t: keras.ops.clip(t, -10.0, 10.0))(z_log_var)
    return keras.Model(encoder.inputs, [z_mean, clipped])
