"""Uses one Dense head for both outputs, so z_log_var is always equal to z_mean."""
import keras
from keras_vae import *  # noqa: F401,F403

MUST_FAIL = ("encoder.outputs",)


def build_encoder(input_shape, latent_dim, hidden_units=(512,)):
    x = inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(x)
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    head = keras.layers.Dense(latent_dim)(x)
    return keras.Model(inputs, [head, head])
