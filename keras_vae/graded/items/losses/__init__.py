"""Graded: the KL divergence and the two reconstruction negative log-likelihoods (the
reference's `losses.py`).

Pixel counts, image sizes and latent sizes come from the grading seed, never MNIST's alone:
code that hard-codes 784 pixels or one latent size loses these points.
"""

from keras_vae.graded.items.losses import bernoulli, gaussian, kl, pixels

CONFIGS = {"kl_divergence": kl.kl_config, "bernoulli_nll": pixels.pixel_config,
           "gaussian_nll": pixels.pixel_config}
ITEMS = kl.ITEMS + bernoulli.ITEMS + gaussian.ITEMS
