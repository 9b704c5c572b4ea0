"""Ends the decoder with a flat Dense(prod(output_shape)) layer and never reshapes it."""
import math

import keras
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("decoder.image_output",)


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    x = inputs = keras.Input((latent_dim,))
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    activation = "sigmoid" if likelihood == "bernoulli" else None
    outputs = keras.layers.Dense(math.prod(output_shape), activation=activation)(x)
    return keras.Model(inputs, outputs)
