"""Puts an L2 kernel_regularizer on every Dense layer of the encoder: the training loss gets
a term beyond reconstruction + beta * KL."""
import keras
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("vae.fit_lowers_loss",)


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    inputs = keras.Input(input_shape)
    h = keras.layers.Flatten()(inputs)
    for units in hidden_units:
        h = keras.layers.Dense(units, activation="relu", kernel_regularizer="l2")(h)
    z_mean = keras.layers.Dense(latent_dim, kernel_regularizer="l2")(h)
    z_log_var = keras.layers.Dense(latent_dim, kernel_regularizer="l2")(h)
    return keras.Model(inputs, [z_mean, z_log_var])
