"""Computes the z_log_var head from z_mean instead of from the last hidden layer."""
import keras
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("encoder.hidden_units",)


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    inputs = keras.Input(input_shape)
    h = keras.layers.Flatten()(inputs)
    for units in hidden_units:
        h = keras.layers.Dense(units, activation="relu")(h)
    z_mean = keras.layers.Dense(latent_dim)(h)
    z_log_var = keras.layers.Dense(latent_dim)(z_mean)
    return keras.Model(inputs, [z_mean, z_log_var])
