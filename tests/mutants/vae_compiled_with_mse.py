"""Compiles the VAE with loss='mse'."""
from keras_vae import *  # noqa: F401,F403
from keras_vae.reference.models import ReconstructionLoss  # noqa: F401
from tests.mutants import _vae_variants as vae_variants

MUST_FAIL = ("vae.bernoulli_loss", "vae.gaussian_loss", "vae.beta")


def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0, learning_rate=1e-3):
    return vae_variants.build(encoder, decoder, likelihood, sigma, beta, learning_rate, loss="mse")
