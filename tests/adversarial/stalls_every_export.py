"""Implements nothing; every contract name stalls when it is used, so that each export takes
just under its time and all of them together far more than the grading's deadline."""
import time

from assignments import *  # noqa: F401,F403


def _stall(*args, **kwargs):
    time.sleep(10_000)


reparameterize = kl_divergence = bernoulli_nll = gaussian_nll = _stall
build_encoder = build_decoder = build_vae = _stall
Sampling = KLDivergenceLayer = _stall
