"""Creates the layer's SeedGenerator(None), dropping the seed it was given."""
import keras
from keras_vae import *  # noqa: F401,F403
import keras_vae

MUST_FAIL = ("sampling.seed",)


class Sampling(keras_vae.Sampling):
    def __init__(self, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.seed_generator = keras.random.SeedGenerator(None)
