"""Implements nothing; every contract function raises SystemExit(0) or KeyboardInterrupt."""
from assignments import *  # noqa: F401,F403
import assignments


def _exit(*args, **kwargs):
    raise SystemExit(0)


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


reparameterize = kl_divergence = gaussian_nll = build_encoder = _exit
bernoulli_nll = build_decoder = build_vae = _interrupt


class Sampling(assignments.Sampling):
    def __init__(self, *args, **kwargs):
        raise SystemExit(0)
