"""The loss terms `fit` reports for any implementation: `reconstruction_loss` and `kl_loss`.

The reference's VAE reports both itself. A VAE built to the contract alone (the reconstruction
term as the compiled loss, a `KLDivergenceLayer` adding `beta * mean(kl)` with `add_loss`)
reports only `loss`. `report_loss_terms` adds the terms it lacks, computed with the
implementation's own functions in the same forward pass as the loss:

    reconstruction_loss = mean(nll(x, reconstruction))      # a compiled metric of y_pred
    kl_loss = mean(impl.kl_divergence(z_mean, z_log_var))   # the KL layer's own inputs

so that `loss = reconstruction_loss + beta * kl_loss` holds for every epoch's logged values,
training and validation alike, and every implementation gets the same curves and history.csv.
"""

import keras

from keras_vae.likelihood import negative_log_likelihood
from keras_vae.training.callbacks import kl_layers

LOSS_TERMS = ("reconstruction_loss", "kl_loss")


class KLTracker(keras.metrics.Mean):
    """The mean of `kl_divergence(z_mean, z_log_var)` that the KL layers add with `update_kl`
    as they run; compiled as a metric only to be reported and reset, it ignores
    `(y_true, y_pred)`."""

    def update_state(self, y_true=None, y_pred=None, sample_weight=None):
        return None

    def update_kl(self, kl):
        """Adds the per-example `kl`, shape `(batch_size,)`."""
        return super().update_state(kl)


def _name(metric):
    """The name Keras reports a compiled metric under: an object's `name`, a function's
    `__name__`, or the string given."""
    if isinstance(metric, str):
        return metric
    return getattr(metric, "name", getattr(metric, "__name__", None))


def reported_names(vae):
    """The metrics a compiled `vae`'s `fit` reports, as far as they are known before training:
    its own and its layers' metrics, and those given to `compile`."""
    compiled = vae._compile_config.config.get("metrics") or []  # Keras keeps compile's arguments.
    if not isinstance(compiled, (list, tuple)):  # A dict of metrics per output.
        compiled = []
    return {metric.name for metric in vae.metrics} | {_name(metric) for metric in compiled}


def report_loss_terms(impl, vae, likelihood, sigma):
    """Makes `vae.fit` and `vae.evaluate` report the loss terms that it does not report yet.

    The VAE is compiled again with its own optimizer, loss and settings and the missing terms
    as further metrics, and each `impl.KLDivergenceLayer` inside it adds
    `impl.kl_divergence` of its inputs to `kl_loss` before its own `call` runs. Call it in the
    strategy's scope, before the first `fit`.

    Args:
        impl: module with the contract functions.
        vae: a VAE compiled by `impl.build_vae`.
        likelihood: `"bernoulli"` or `"gaussian"`, as the VAE was built with.
        sigma: the Gaussian decoder's standard deviation.

    Returns:
        A function that compiles the VAE with its own arguments again and takes the KL layers'
        updates away (the optimizer keeps its state), so that its saved file holds the compile
        its `build_vae` gave it. It does nothing where nothing was added: the reference reports
        both terms itself.
    """
    original = dict(vae._compile_config.config)
    missing = [name for name in LOSS_TERMS if name not in reported_names(vae)]
    layers = kl_layers(impl, vae)
    if not layers and "kl_loss" in missing:
        missing.remove("kl_loss")  # No KL layer to read z_mean and z_log_var from.
    if not missing or not isinstance(original.get("metrics") or [], (list, tuple)):
        return lambda: None
    added = []
    if "reconstruction_loss" in missing:
        added.append(keras.metrics.MeanMetricWrapper(
            negative_log_likelihood(impl, likelihood, sigma), name="reconstruction_loss"))
    tracked = layers if "kl_loss" in missing else []
    if tracked:
        added.append(KLTracker(name="kl_loss"))
        for layer in tracked:
            _add_kl_to(added[-1], layer, impl)
    # The optimizer compile made, a mixed precision LossScaleOptimizer included, as it is.
    own = dict(original, optimizer=vae.optimizer, auto_scale_loss=False)
    vae.compile(**dict(own, metrics=list(original.get("metrics") or []) + added))

    def restore():
        for layer in tracked:
            object.__delattr__(layer, "call")  # Back to its class's `call`.
        vae.compile(**own)

    return restore


def _add_kl_to(tracker, layer, impl):
    """Has `layer`, a KL layer already built into the VAE, add `impl.kl_divergence` of its
    inputs `[z_mean, z_log_var]` to `tracker` each time it is called."""
    call = layer.call

    def call_and_track(inputs, *args, **kwargs):
        z_mean, z_log_var = inputs
        tracker.update_kl(impl.kl_divergence(z_mean, z_log_var))
        return call(inputs, *args, **kwargs)

    object.__setattr__(layer, "call", call_and_track)  # This instance's own, not tracked.
