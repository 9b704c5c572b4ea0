"""Adds one hidden Dense layer more than hidden_units lists."""
import keras
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("encoder.hidden_units",)


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    inputs = keras.Input(input_shape)
    h = keras.layers.Flatten()(inputs)
    for units in tuple(hidden_units) + (hidden_units[-1],):
        h = keras.layers.Dense(units, activation="relu")(h)
    return keras.Model(inputs, [keras.layers.Dense(latent_dim)(h), keras.layers.Dense(latent_dim)(h)])
