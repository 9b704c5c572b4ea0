"""Applies the Dense layers to the input without flattening it first."""
import keras
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("encoder.image_input",)


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    x = inputs = keras.Input(input_shape)
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    z_mean, z_log_var = keras.layers.Dense(latent_dim)(x), keras.layers.Dense(latent_dim)(x)
    return keras.Model(inputs, [z_mean, z_log_var])
