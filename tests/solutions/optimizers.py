"""Correct solutions that differ from the reference only in the optimizer `build_vae`
compiles with: one per built-in Keras optimizer, each given `learning_rate`.

`solution(name)` returns a module with the reference's contract names and a `build_vae` that
compiles with `keras.optimizers.<name>(learning_rate)` (`SGDMomentum`: `SGD` with momentum 0.9;
`AdamAccumulating`: `Adam` with `gradient_accumulation_steps=2`, whose first call moves no
weight).
Optimizers keep variables of their own (Nadam a trainable scalar): none of them is a weight
the VAE adds. The first step of Ftrl and ScheduleFreeAdamW is not proportional to the rate (it
also moves the weights toward what the optimizer's state assumed when it was built); every one
of them passes every VAE item.
"""

import types

import keras

import keras_vae
from keras_vae.reference.models import ReconstructionLoss

OPTIMIZERS = ("Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lamb",
              "Lion", "Muon", "Nadam", "RMSprop", "ScheduleFreeAdamW", "SGD", "SGDMomentum",
              "AdamAccumulating")


def optimizer(name, learning_rate):
    if name == "SGDMomentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    if name == "AdamAccumulating":
        return keras.optimizers.Adam(learning_rate, gradient_accumulation_steps=2)
    return getattr(keras.optimizers, name)(learning_rate=learning_rate)


def solution(name):
    """The reference with `build_vae` compiling with the optimizer `name`."""
    module = types.ModuleType(f"tests.solutions.optimizers.{name}")
    module.__dict__.update({key: getattr(keras_vae, key) for key in keras_vae.__all__})

    def build_vae(encoder, decoder, likelihood="bernoulli", sigma=1.0, beta=1.0,
                  learning_rate=1e-3):
        inputs = keras.Input(encoder.inputs[0].shape[1:])
        z_mean, z_log_var = keras_vae.KLDivergenceLayer(beta)(encoder(inputs))
        z = keras_vae.Sampling()([z_mean, z_log_var])
        vae = keras.Model(inputs, decoder(z))
        vae.encoder, vae.decoder = encoder, decoder
        vae.compile(optimizer(name, learning_rate), loss=ReconstructionLoss(likelihood, sigma))
        return vae

    module.build_vae = build_vae
    return module
