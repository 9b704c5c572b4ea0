"""The reference, compiled with a loss that is NaN, to test the training command's NaN stop."""
import keras
from keras import ops

import keras_vae
from keras_vae import *  # noqa: F401,F403


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    vae = keras_vae.build_vae(encoder, decoder, likelihood, sigma, beta, learning_rate)
    vae.compile(keras.optimizers.Adam(learning_rate),
                loss=lambda x, reconstruction: ops.log(ops.mean(reconstruction, axis=-1) - 2.0))
    return vae
