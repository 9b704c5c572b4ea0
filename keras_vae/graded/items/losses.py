"""Graded: the KL divergence and the two reconstruction negative log-likelihoods (the
reference's `losses.py`).

Pixel counts, image sizes and latent sizes come from the grading seed, never MNIST's alone:
code that hard-codes 784 pixels or one latent size loses these points.
"""

import numpy as np

from keras_vae.graded import witness
from keras_vae.graded.item import Item
from keras_vae.graded.witness import array, expect_close, expect_shape

KL_HINT = ("check the sign, the '- 1', that z_log_var is log(sigma**2) (not log sigma), and "
           "that the latent axis is summed, not averaged.")
BERNOULLI_HINT = ("sum over every pixel (keras' binary_crossentropy takes the mean, and the "
                  "pixel count is not always 784), and keep both terms: x * log(probs) + "
                  "(1 - x) * log(1 - probs).")
GAUSSIAN_HINT = ("the squared error is divided by 2 * sigma**2 and the normalizing constant "
                 "D * log(sigma) + D / 2 * log(2 * pi) counts D, the pixels of one example "
                 "(not always 784).")


def _num_pixels(rng):
    return int(rng.choice([n for n in range(40, 400) if n != 784]))


def _image_shape(rng):
    return (int(rng.integers(3, 12)), int(rng.integers(3, 12)), int(rng.integers(1, 4)))


def kl_config(rng):
    return {"latent_dim": int(rng.integers(2, 10)), "prior_dim": int(rng.integers(1, 6))}


def pixel_config(rng):
    return {"num_pixels": _num_pixels(rng), "image_shape": list(_image_shape(rng)),
            "sigmas": [float(rng.uniform(0.3, 0.8)), float(rng.uniform(1.5, 3.0))]}


CONFIGS = {"kl_divergence": kl_config, "bernoulli_nll": pixel_config,
           "gaussian_nll": pixel_config}


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
                     KL_HINT)


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
    expect_close(observed["kl"], np.zeros(len(inputs["z_mean"])), "kl_divergence(0, 0)",
                 "the '- 1' term is missing, or the formula is not the Gaussian KL.", atol=1e-6)
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
                     "kl_divergence vs the KL of diagonal Gaussians", "see kl.closed_form.")


def _pixel_inputs(rng, config, name, low, high):
    """Data `x` in [0, 1] and parameters `name` in [low, high], flat and as images."""
    batch_size = int(rng.integers(3, 7))
    flat, images = (batch_size, config["num_pixels"]), (batch_size,) + tuple(config["image_shape"])
    return {"x": rng.uniform(size=flat).astype(np.float32),
            name: rng.uniform(low, high, size=flat).astype(np.float32),
            "x_image": rng.uniform(size=images).astype(np.float32),
            f"{name}_image": rng.uniform(low, high, size=images).astype(np.float32)}


def bernoulli_inputs(rng, config):
    inputs = _pixel_inputs(rng, config, "probs", 0.02, 0.98)
    inputs["x_binary"] = (rng.uniform(size=inputs["x"].shape) < 0.3).astype(np.float32)
    return inputs


def bernoulli_flat_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x"], inputs["probs"], endpoint="flat")}


def bernoulli_flat_judge(inputs, observed):
    expect_close(observed["nll"], witness.bernoulli_nll(inputs["x"], inputs["probs"]),
                 f"bernoulli_nll(x, probs) for x in [0, 1] of shape {inputs['x'].shape}",
                 BERNOULLI_HINT)


def bernoulli_image_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x_image"], inputs["probs_image"],
                               endpoint="image")}


def bernoulli_image_judge(inputs, observed):
    expect_close(observed["nll"], witness.bernoulli_nll(inputs["x_image"], inputs["probs_image"]),
                 f"bernoulli_nll on images of shape {inputs['x_image'].shape}",
                 "reduce over all axes but the first (e.g. axis=(1, 2, 3)), not only the last.")


def bernoulli_bounds_inputs(rng, config):
    inputs = bernoulli_inputs(rng, config)
    x, probs = inputs["x_binary"], inputs["probs"]
    inputs["match"] = rng.uniform(size=x.shape) < 0.3
    inputs["miss"] = ~inputs["match"] & (rng.uniform(size=x.shape) < 0.2)
    inputs["probs_match"] = np.where(inputs["match"], x, probs).astype(np.float32)
    inputs["probs_miss"] = np.where(inputs["miss"], 1 - x, inputs["probs_match"]).astype(np.float32)
    return inputs


def bernoulli_bounds_run(graphs, inputs):
    return {name: graphs.call("functions", inputs["x_binary"], inputs[f"probs_{name}"],
                              endpoint="flat") for name in ("match", "miss")}


def bernoulli_bounds_judge(inputs, observed):
    x, probs = np.float64(inputs["x_binary"]), np.float64(inputs["probs"])
    match, miss = inputs["match"], inputs["miss"]
    terms = -(x * np.log(probs) + (1 - x) * np.log1p(-probs))
    others = np.where(match, 0.0, terms).sum(axis=1)
    for name in ("match", "miss"):
        nll = array(observed[name], "bernoulli_nll")
        expect_shape(nll, others.shape, "bernoulli_nll at probabilities 0 and 1")
        assert np.all(np.isfinite(nll)), (
            f"bernoulli_nll with some probabilities exactly 0 or 1: expected finite values, "
            f"received {nll[:4]}.\nLikely mistake: log(0); clip probs to [epsilon, 1 - epsilon] "
            "before taking logs.")
    tolerance = 1e-4 * match.sum(axis=1) + 2e-5 * np.abs(others) + 1e-4
    received = array(observed["match"], "bernoulli_nll")
    assert np.all(np.abs(received - others) <= tolerance), (
        f"bernoulli_nll where some probs equal x exactly (0 or 1): expected those pixels to "
        f"add under 1e-4 nats each, giving {np.round(others[:3], 4)}, received "
        f"{np.round(received[:3], 4)}.\nLikely mistake: a clip or an epsilon far larger than "
        "keras.config.epsilon() (1e-7).")
    missed = np.where(miss, 0.0, np.where(match, 0.0, terms)).sum(axis=1)
    received = array(observed["miss"], "bernoulli_nll")
    assert np.all(received - missed > 5 * miss.sum(axis=1)), (
        f"bernoulli_nll where some probs equal 1 - x exactly: expected over 5 nats for each "
        f"such pixel, received {np.round(received[:3] - missed[:3], 3)} nats for "
        f"{miss.sum(axis=1)[:3]} pixels.\nLikely mistake: the wrong pixels are penalized, or "
        "the clip is so wide that a certain mistake costs little.")


def bernoulli_binary_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x_binary"], inputs["probs"],
                               endpoint="flat")}


def bernoulli_binary_judge(inputs, observed):
    probs, x = np.float64(inputs["probs"]), inputs["x_binary"]
    # log_prob of a Bernoulli written by cases, as tfp.distributions.Bernoulli computes it.
    log_prob = np.where(x == 1, np.log(probs), np.log1p(-probs))
    expect_close(observed["nll"], -log_prob.sum(axis=1), "bernoulli_nll on binary x",
                 BERNOULLI_HINT)


def gaussian_inputs(rng, config):
    return _pixel_inputs(rng, config, "mean", 0.0, 1.0)


def gaussian_unit_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x"], inputs["mean"], endpoint="unit")}


def gaussian_unit_judge(inputs, observed):
    expect_close(observed["nll"], witness.gaussian_nll(inputs["x"], inputs["mean"], 1.0),
                 f"gaussian_nll(x, mean, sigma=1.0) for x of shape {inputs['x'].shape}",
                 GAUSSIAN_HINT)


def gaussian_sigma_run(graphs, inputs):
    return {str(s): graphs.call("functions", inputs["x"], inputs["mean"], endpoint=f"sigma_{i}")
            for i, s in enumerate(inputs["sigmas"])}


def gaussian_sigma_judge(inputs, observed):
    for sigma in inputs["sigmas"]:
        expect_close(observed[str(sigma)], witness.gaussian_nll(inputs["x"], inputs["mean"], sigma),
                     f"gaussian_nll(sigma={sigma:.3f})",
                     "sigma is ignored, or used as a variance: the density has sigma**2 in the "
                     "exponent's denominator and log(sigma) per pixel.")


def gaussian_image_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x_image"], inputs["mean_image"],
                               endpoint="image")}


def gaussian_image_judge(inputs, observed):
    expect_close(observed["nll"], witness.gaussian_nll(inputs["x_image"], inputs["mean_image"],
                                                       inputs["sigmas"][0]),
                 f"gaussian_nll on images of shape {inputs['x_image'].shape}",
                 "reduce over all non-batch axes, and count D = height * width * channels "
                 "pixels in the constant.")


def gaussian_reference_run(graphs, inputs):
    return {"nll": graphs.call("functions", inputs["x"], inputs["mean"], endpoint="sigma_1")}


def gaussian_reference_judge(inputs, observed):
    # Summed per-pixel log densities, as tfp.distributions.Normal(mean, sigma).log_prob gives.
    sigma = inputs["sigmas"][1]
    log_prob = (-0.5 * ((np.float64(inputs["x"]) - inputs["mean"]) / sigma) ** 2
                - np.log(sigma) - 0.5 * np.log(2 * np.pi))
    expect_close(observed["nll"], -log_prob.sum(axis=1), "gaussian_nll vs per-pixel Normal "
                 "log densities", GAUSSIAN_HINT)


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
    Item("bernoulli.sum_over_pixels", 2, "bernoulli_nll is binary cross-entropy summed (not "
         "averaged) over however many pixels there are.", ("bernoulli_nll",), "bernoulli_nll", bernoulli_inputs,
         bernoulli_flat_run, bernoulli_flat_judge),
    Item("bernoulli.image_shape", 1, "bernoulli_nll sums over every non-batch axis of "
         "(batch_size, height, width, channels) images.", ("bernoulli_nll",), "bernoulli_nll", bernoulli_inputs,
         bernoulli_image_run, bernoulli_image_judge),
    Item("bernoulli.finite_at_bounds", 1, "bernoulli_nll stays finite for probabilities of "
         "exactly 0 and 1, near the exact values.", ("bernoulli_nll",), "bernoulli_nll",
         bernoulli_bounds_inputs, bernoulli_bounds_run,
         bernoulli_bounds_judge),
    Item("bernoulli.tfp", 1, "bernoulli_nll agrees with -tfd.Bernoulli(probs).log_prob(x) "
         "summed over pixels.", ("bernoulli_nll",), "bernoulli_nll", bernoulli_inputs, bernoulli_binary_run,
         bernoulli_binary_judge),
    Item("gaussian.closed_form", 2, "gaussian_nll is sum((x - mean)**2) / 2 + D/2 log(2 pi) "
         "at sigma = 1, constant included.", ("gaussian_nll",), "gaussian_nll", gaussian_inputs,
         gaussian_unit_run, gaussian_unit_judge),
    Item("gaussian.sigma", 2, "gaussian_nll uses sigma as a standard deviation, for sigma "
         "below and above 1.", ("gaussian_nll",), "gaussian_nll", gaussian_inputs, gaussian_sigma_run,
         gaussian_sigma_judge),
    Item("gaussian.image_shape", 1, "gaussian_nll sums over every non-batch axis of images.",
         ("gaussian_nll",), "gaussian_nll", gaussian_inputs, gaussian_image_run, gaussian_image_judge),
    Item("gaussian.tfp", 1, "gaussian_nll agrees with -tfd.Normal(mean, sigma).log_prob(x) "
         "summed over pixels.", ("gaussian_nll",), "gaussian_nll", gaussian_inputs, gaussian_reference_run,
         gaussian_reference_judge),
]
