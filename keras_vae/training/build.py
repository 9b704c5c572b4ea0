"""Builds a run's encoder, decoder and compiled VAE with the run's implementation."""

import inspect

from keras_vae import checks, cli
from keras_vae.training.config import TrainConfig

BUILDERS = ("build_encoder", "build_decoder")


def builder_options(config):
    """The keyword arguments beyond the contract's that a run passes to the builders: the
    options of `config` other than their defaults (the contract's builders take none)."""
    return {option: getattr(config, option) for option in ("architecture", "activation")
            if getattr(config, option) != getattr(TrainConfig, option)}


def check_builder_options(config, impl):
    """Raises `ValueError` naming the first option of `config` that a builder of the module
    `impl` has no argument for; a builder taking `**kwargs` passes, to be tried when called.

    Reads the builders' signatures, so that the training command refuses the option before it
    loads the data or moves anything in the run directory.
    """
    for option, value in builder_options(config).items():
        for name in BUILDERS:
            if not _takes(getattr(impl, name), option):
                raise checks.invalid(
                    option, f"{getattr(TrainConfig, option)!r} (the default)", value,
                    f"which {impl.__name__}.{name} does not take (it has no {option} argument)")


def _takes(function, argument):
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # No signature to read: the call will tell.
        return True
    return any(parameter.name == argument or parameter.kind is parameter.VAR_KEYWORD
               for parameter in parameters)


def build_models(config, impl):
    """Builds the encoder, decoder and compiled VAE of `config` with the module `impl`."""
    options = builder_options(config)
    try:
        encoder = impl.build_encoder(config.example_shape, config.latent_dim,
                                     config.hidden_units, **options)
        decoder = impl.build_decoder(config.latent_dim, config.example_shape,
                                     config.hidden_units[::-1], config.likelihood, **options)
    except TypeError as error:
        if not options or "argument" not in str(error):
            raise
        raise cli.UsageError(checks.invalid(
            "impl", "builders accepting " + ", ".join(options), f"{impl.__name__}: {error}"))
    vae = impl.build_vae(encoder, decoder, config.likelihood, config.sigma, config.beta,
                         config.learning_rate)
    return encoder, decoder, vae
