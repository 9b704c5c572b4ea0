"""Graded: `kl_divergence` (the reference's `losses.py`)."""

import numpy as np

from keras_vae.graded import diagnosis, witness
from keras_vae.graded.item import Item
from keras_vae.graded.witness import array, expect_close, expect_shape


KL_HINT = ("check the sign, the '- 1', that z_log_var is log(sigma**2) (not log sigma), and "
           "that the latent axis is summed, not averaged.")


def kl_config(rng):
    return {"latent_dim": int(rng.integers(2, 10)), "prior_dim": int(rng.integers(1, 6))}


def kl_inputs(rng, config):
    batch_size, latent_dim = int(rng.integers(4, 10)), config["latent_dim"]
    return {"z_mean": rng.normal(scale=2.0, size=(batch_size, latent_dim)).astype(np.float32),
            "z_log_var": rng.normal(scale=1.5, size=(batch_size, latent_dim)).astype(np.float32),
            "z_mean_1": rng.normal(scale=2.0, size=(batch_size, 1)).astype(np.float32),
            "z_log_var_1": rng.normal(scale=1.5, size=(batch_size, 1)).astype(np.float32)}


def kl_run(graphs, inputs):
    observed = {suffix: graphs.call("functions", inputs["z_mean" + suffix],
                                    inputs["z_log_var" + suffix], endpoint=endpoint)
                for suffix, endpoint in (("", "wide"), ("_1", "narrow"))}
    # The same examples in reverse order: each row's KL must depend on that row only.
    observed["reversed"] = graphs.call("functions", inputs["z_mean"][::-1],
                                       inputs["z_log_var"][::-1], endpoint="wide")
    return observed


def kl_closed_form_judge(inputs, observed):
    for suffix in ("", "_1"):
        z_mean, z_log_var = inputs["z_mean" + suffix], inputs["z_log_var" + suffix]
        expect_close(observed[suffix], witness.kl_divergence(z_mean, z_log_var),
                     f"kl_divergence(z_mean, z_log_var) with latent_dim={z_mean.shape[1]}",
                     diagnosis.kl_divergence(observed[suffix], z_mean, z_log_var) or KL_HINT)


def zero_at_prior_inputs(rng, config):
    batch_size, latent_dim = int(rng.integers(2, 6)), config["prior_dim"]
    return {"z_mean": rng.normal(scale=2.0, size=(batch_size, latent_dim)).astype(np.float32),
            "z_log_var": rng.normal(scale=1.5, size=(batch_size, latent_dim)).astype(np.float32)}


def zero_at_prior_run(graphs, inputs):
    zeros = np.zeros_like(inputs["z_mean"])
    return {"kl": graphs.call("functions", zeros, zeros, endpoint="prior"),
            "away": graphs.call("functions", inputs["z_mean"], inputs["z_log_var"],
                                endpoint="prior")}


def zero_at_prior_judge(inputs, observed):
    zeros = np.zeros_like(inputs["z_mean"])
    expect_close(observed["kl"], np.zeros(len(zeros)), "kl_divergence(0, 0)",
                 diagnosis.kl_divergence(observed["kl"], zeros, zeros)
                 or "the formula is not the Gaussian KL, which vanishes there.", atol=1e-6)
    away = array(observed["away"], "kl_divergence away from the prior")
    assert away.size and np.all(away > 1e-3), (
        f"kl_divergence of posteriors away from the prior: expected positive values, received "
        f"minimum {away.min() if away.size else 'nothing'}.\nLikely mistake: a KL that is zero "
        "(or constant) everywhere is zero at the prior too; it must grow as q moves away.")


def non_negative_judge(inputs, observed):
    for suffix in ("", "_1"):
        kl = array(observed[suffix], "kl_divergence")
        assert kl.size and np.all(kl >= -1e-5), (
            f"kl_divergence: expected values >= 0, received minimum "
            f"{kl.min() if kl.size else 'nothing'}.\n"
            "Likely mistake: the sign is flipped (that is -KL, the term of the ELBO).")
        assert np.all(kl > 1e-3), (
            f"kl_divergence of posteriors that differ from the prior: expected positive "
            f"values, received minimum {kl.min():.4g}.\nLikely mistake: a KL that returns "
            "zeros (or clips at zero) is never negative, and never right.")


def per_example_judge(inputs, observed):
    for suffix in ("", "_1"):
        expect_shape(observed[suffix], (len(inputs["z_mean" + suffix]),),
                     f"kl_divergence(z_mean, z_log_var) with latent_dim="
                     f"{inputs['z_mean' + suffix].shape[1]}")
    kl, reversed_kl = array(observed[""], "kl"), array(observed["reversed"], "kl")
    assert np.allclose(reversed_kl, kl[::-1], rtol=1e-5, atol=1e-5) and np.ptp(kl) > 1e-3, (
        f"kl_divergence of the batch in reverse order: expected each example's value to move "
        f"with it (and examples to differ), received {np.round(reversed_kl[:4], 4)} for "
        f"{np.round(kl[::-1][:4], 4)}.\nLikely mistake: a reduction over the batch axis "
        "(axis=0) instead of the latent axis (axis=-1).")


def kl_reference_judge(inputs, observed):
    # Written per latent dimension, as tfp.distributions.kl_divergence(Normal, Normal) is;
    # tests/test_witness.py checks this form against TFP.
    for suffix in ("", "_1"):
        mean = np.float64(inputs["z_mean" + suffix])
        scale = np.exp(0.5 * np.float64(inputs["z_log_var" + suffix]))
        per_dimension = np.log(1.0 / scale) + (scale**2 + mean**2) / 2.0 - 0.5
        expect_close(observed[suffix], per_dimension.sum(axis=1),
                     "kl_divergence vs the KL of diagonal Gaussians",
                     diagnosis.kl_divergence(observed[suffix], mean,
                                             inputs["z_log_var" + suffix])
                     or "see kl.closed_form.")


ITEMS = [
    Item("kl.closed_form", 2, "kl_divergence equals 0.5 * sum(z_mean**2 + exp(z_log_var) - "
         "z_log_var - 1) per example.", ("kl_divergence",), "kl_divergence", kl_inputs, kl_run,
         kl_closed_form_judge),
    Item("kl.zero_at_prior", 1, "KL divergence is zero when q equals the prior N(0, I), and only "
         "there.", ("kl_divergence",), "kl_divergence", zero_at_prior_inputs, zero_at_prior_run,
         zero_at_prior_judge),
    Item("kl.non_negative", 1, "KL divergence is never negative, and positive when q differs "
         "from the prior.", ("kl_divergence",), "kl_divergence", kl_inputs, kl_run,
         non_negative_judge),
    Item("kl.per_example", 1, "kl_divergence returns one value per example, shape "
         "(batch_size,), for latent_dim 1 and more.", ("kl_divergence",), "kl_divergence",
         kl_inputs, kl_run, per_example_judge),
    Item("kl.tfp", 1, "kl_divergence agrees with the KL of diagonal Gaussians as "
         "tfp.distributions computes it.", ("kl_divergence",), "kl_divergence", kl_inputs, kl_run,
         kl_reference_judge),
]
