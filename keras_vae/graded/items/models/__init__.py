"""Graded: the encoder, the decoder and the assembled VAE (the reference's `models.py`).

Pixel counts, hidden sizes, latent sizes, `beta`, `sigma` and the learning rate come from the
grading seed, so every argument of the contract decides an outcome.
"""

from keras_vae.graded.items.models import decoder, encoder, vae


CONFIGS = {"encoder": encoder.encoder_config, "decoder": decoder.decoder_config,
           "vae": vae.vae_config, "fit": vae.fit_config}
ITEMS = encoder.ITEMS + decoder.ITEMS + vae.ITEMS
