"""A correct solution whose output layers start at 0: both encoder heads and the decoder's
output layer are `Dense(..., kernel_initializer="zeros")` (q(z|x) starts at the prior, the
decoder at probabilities of one half). Those layers output constants at the start, yet take
part in the outputs: it must pass every encoder and decoder item."""
import keras

from keras_vae import *  # noqa: F401,F403


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    x = keras.Input(input_shape)
    h = keras.layers.Flatten()(x)
    for units in hidden_units:
        h = keras.layers.Dense(units, activation="relu")(h)
    heads = [keras.layers.Dense(latent_dim, kernel_initializer="zeros")(h) for _ in range(2)]
    return keras.Model(x, heads, name="encoder")


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    z = keras.Input((latent_dim,))
    h = z
    for units in hidden_units:
        h = keras.layers.Dense(units, activation="relu")(h)
    size = 1
    for dim in output_shape:
        size *= dim
    activation = "sigmoid" if likelihood == "bernoulli" else None
    h = keras.layers.Dense(size, activation=activation, kernel_initializer="zeros")(h)
    return keras.Model(z, keras.layers.Reshape(output_shape)(h), name="decoder")
