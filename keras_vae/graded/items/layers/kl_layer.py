"""Graded: the KL layer, `KLDivergenceLayer` (the reference's `layers.py`)."""

import numpy as np

from keras_vae.graded import witness
from keras_vae.graded.item import Item
from keras_vae.graded.witness import array, expect_close, expect_pair


def kl_layer_config(rng):
    return {"latent_dim": int(rng.integers(1, 6)), "beta": float(np.round(rng.uniform(0.1, 0.9), 3))}


def _kl_posterior(rng, config):
    batch_size, latent_dim = int(rng.integers(4, 9)), config["latent_dim"]
    return {"z_mean": rng.normal(size=(batch_size, latent_dim)).astype(np.float32),
            "z_log_var": rng.normal(size=(batch_size, latent_dim)).astype(np.float32)}


def kl_layer_run(graphs, inputs):
    pair = [inputs["z_mean"], inputs["z_log_var"]]
    repeated = [np.tile(value, (4, 1)) for value in pair]
    zeros = [np.zeros_like(value) for value in pair]
    return {"default": graphs.call("default", *pair), "beta": graphs.call("beta", *pair),
            "repeated": graphs.call("default", *repeated),
            "prior": graphs.call("default", *zeros)}


def _added(observed, what):
    return float(np.sum(array(observed["loss"], what)))


def kl_layer_identity_judge(inputs, observed):
    default = observed["default"]
    outputs = expect_pair([default[k] for k in sorted(default) if k.startswith("output_")],
                          "KLDivergenceLayer output")
    expect_close(outputs[0], inputs["z_mean"], "KLDivergenceLayer output 0",
                 "return the inputs as they are.")
    expect_close(outputs[1], inputs["z_log_var"], "KLDivergenceLayer output 1",
                 "return the inputs as they are.")
    added = _added(observed["default"], "added loss")
    prior = _added(observed["prior"], "added loss")
    if added <= 1e-3:
        hint = "the layer passes its inputs through but adds no KL with self.add_loss."
    else:
        hint = ("the added loss is not 0 where q equals the prior (z_mean and z_log_var all 0): "
                "the KL it adds must vanish there.")
    assert added > 1e-3 > abs(prior), (
        f"KLDivergenceLayer's added loss: expected a positive loss for a posterior away from the "
        f"prior and 0 at the prior, received {added:.4g} and {prior:.4g}.\nLikely mistake: "
        f"{hint}")


def kl_layer_mean_judge(inputs, observed):
    expect_close(_added(observed["default"], "sum of layer.losses"),
                 witness.kl_divergence(inputs["z_mean"], inputs["z_log_var"]).mean(),
                 "sum of layer.losses", "self.add_loss(beta * mean(kl)) must be called in "
                 "call(); 0 means nothing was added, batch_size times too much means the batch "
                 "was summed instead of averaged.")


def kl_layer_beta_judge(inputs, observed):
    beta = inputs["beta"]
    default = _added(observed["default"], "added loss")
    received = _added(observed["beta"], "added loss")
    if np.isclose(received, default, rtol=1e-4, atol=1e-6):
        hint = "the layer adds the same loss whatever its beta: multiply the KL by beta."
    elif np.isclose(received, beta**2 * default, rtol=1e-4, atol=1e-6):
        hint = "beta is applied twice (beta**2 times the KL): multiply by beta once."
    elif np.isclose(received, beta * default, rtol=1e-4, atol=1e-6):
        hint = ("the added loss is beta times the loss the layer adds with beta=1, which is "
                "itself wrong: see kl_layer.adds_batch_mean.")
    else:
        hint = "add beta * mean(kl_divergence(z_mean, z_log_var)) with add_loss."
    expect_close(received,
                 beta * witness.kl_divergence(inputs["z_mean"], inputs["z_log_var"]).mean(),
                 f"added loss with beta={beta}", hint)


def kl_layer_batch_judge(inputs, observed):
    once = _added(observed["default"], "added loss")
    assert once > 1e-3, (f"KLDivergenceLayer's added loss: expected a positive KL term, "
                         f"received {once:.4g}.\nLikely mistake: no loss is added.")
    expect_close(_added(observed["repeated"], "added loss"), once,
                 "added loss for the batch repeated 4 times",
                 "Keras 3 sums a non-scalar added loss: add the batch mean, not the sum.")


KL_LAYER = ("KLDivergenceLayer", "kl_divergence")


ITEMS = [
    Item("kl_layer.identity", 1, "KLDivergenceLayer returns [z_mean, z_log_var] unchanged, "
         "beside the KL it adds.", KL_LAYER, "kl_layer", _kl_posterior, kl_layer_run,
         kl_layer_identity_judge),
    Item("kl_layer.adds_batch_mean", 2, "KLDivergenceLayer adds the batch mean of the KL "
         "divergence with add_loss.", KL_LAYER, "kl_layer", _kl_posterior, kl_layer_run,
         kl_layer_mean_judge),
    Item("kl_layer.beta", 1, "KLDivergenceLayer(beta) adds beta times the batch mean KL.",
         KL_LAYER, "kl_layer", _kl_posterior, kl_layer_run, kl_layer_beta_judge),
    Item("kl_layer.batch_size_independent", 1, "The added KL loss does not grow when the same "
         "examples are repeated in a bigger batch.", KL_LAYER, "kl_layer", _kl_posterior,
         kl_layer_run, kl_layer_batch_judge),
]
