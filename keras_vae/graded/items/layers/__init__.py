"""Graded: the reparameterization trick, the Sampling layer and the KL layer (the reference's
`layers.py`).

`run` functions import TensorFlow inside their bodies: this module is also read by the grading
process, which judges without it.
"""

from keras_vae.graded.items.layers import kl_layer, sampling

CONFIGS = {"reparameterize": sampling.reparameterize_config, "sampling": sampling.sampling_config,
           "kl_layer": kl_layer.kl_layer_config}
ITEMS = sampling.ITEMS + kl_layer.ITEMS
