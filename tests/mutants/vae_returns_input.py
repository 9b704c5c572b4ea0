"""A compiled VAE that returns its input: it computes nothing but has every reported fact."""
import keras
from keras_vae import *  # noqa: F401,F403
from keras_vae.reference.models import ReconstructionLoss

MUST_FAIL = ("vae.compiled", "vae.bernoulli_loss", "vae.samples_z")


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    inputs = keras.Input(encoder.inputs[0].shape[1:])
    encoder(inputs)
    outputs = keras.layers.Identity()(inputs)
    vae = keras.Model(inputs, outputs)
    vae.encoder, vae.decoder = encoder, decoder
    vae.compile(keras.optimizers.Adam(learning_rate), loss=ReconstructionLoss(likelihood, sigma))
    return vae
