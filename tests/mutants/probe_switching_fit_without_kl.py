"""A build_vae that recognises the grader's probe encoder by its shape and builds the reference
VAE for it, but for any other encoder (the student's own, as in the fit) compiles the contract's
summed reconstruction loss without the KL."""
import keras

from keras_vae import *  # noqa: F401,F403
from keras_vae.reference import models as reference
from tests.mutants.probe_switching_fit import _is_probe

MUST_FAIL = ("vae.fit_lowers_loss",)


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    if _is_probe(encoder):
        return reference.build_vae(encoder, decoder, likelihood, sigma, beta, learning_rate)
    x = encoder.inputs[0]
    z_mean, z_log_var = encoder(x)
    vae = keras.Model(x, decoder(Sampling()([z_mean, z_log_var])))
    vae.encoder, vae.decoder = encoder, decoder
    vae.compile(keras.optimizers.Adam(learning_rate),
                loss=reference.ReconstructionLoss(likelihood, sigma))
    return vae
