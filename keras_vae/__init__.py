"""keras_vae: a small, exact variational autoencoder in Keras 3, and an assignment built on it.

The names in `__all__` are the graded contract: students implement the same names in
`assignments/`, and every command takes the implementation to use as `--impl MODULE`.
"""

from keras_vae.layers import KLDivergenceLayer, Sampling, reparameterize
from keras_vae.losses import bernoulli_nll, gaussian_nll, kl_divergence
from keras_vae.models import build_decoder, build_encoder, build_vae

__all__ = [
    "reparameterize",
    "Sampling",
    "kl_divergence",
    "bernoulli_nll",
    "gaussian_nll",
    "KLDivergenceLayer",
    "build_encoder",
    "build_decoder",
    "build_vae",
]
