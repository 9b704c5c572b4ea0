"""Shared builder for the VAE mutants: the reference wiring with one part swapped."""
import keras
import keras_vae
from keras_vae.reference.models import ReconstructionLoss


def build(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3,
          loss=None, with_kl=True, decode_mean=False, optimizer=None):
    inputs = keras.Input(encoder.inputs[0].shape[1:])
    z_mean, z_log_var = encoder(inputs)
    if with_kl:
        z_mean, z_log_var = keras_vae.KLDivergenceLayer(beta)([z_mean, z_log_var])
    z = z_mean if decode_mean else keras_vae.Sampling()([z_mean, z_log_var])
    vae = keras.Model(inputs, decoder(z))
    vae.encoder, vae.decoder = encoder, decoder
    vae.compile(optimizer or keras.optimizers.Adam(learning_rate),
                loss=loss or ReconstructionLoss(likelihood, sigma))
    return vae
