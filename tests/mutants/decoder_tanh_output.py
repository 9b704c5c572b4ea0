"""Builds the Bernoulli decoder with tanh in place of the output layer's sigmoid."""
from keras_vae import *  # noqa: F401,F403
import keras
import keras_vae

MUST_FAIL = ("decoder.bernoulli_range",)


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    linear = keras_vae.build_decoder(latent_dim, output_shape, hidden_units, "gaussian")
    if likelihood == "gaussian":
        return linear
    return keras.Model(linear.inputs, keras.layers.Activation("tanh")(linear.outputs[0]),
                       name="decoder")
