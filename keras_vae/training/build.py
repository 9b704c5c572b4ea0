"""Builds a run's encoder, decoder and compiled VAE with the run's implementation."""

from keras_vae import checks, cli


def build_models(config, impl):
    """Builds the encoder, decoder and compiled VAE of `config` with the module `impl`."""
    options = {}
    if config.architecture != "mlp":
        options["architecture"] = config.architecture
    if config.activation != "relu":
        options["activation"] = config.activation
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
