"""Always ends the decoder with a linear output layer, whatever the likelihood."""
import math

import keras
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("decoder.bernoulli_range",)


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    x = inputs = keras.Input((latent_dim,))
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    x = keras.layers.Dense(math.prod(output_shape))(x)
    return keras.Model(inputs, keras.layers.Reshape(output_shape)(x))
