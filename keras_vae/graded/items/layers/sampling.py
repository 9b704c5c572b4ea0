"""Graded: the reparameterization trick and the Sampling layer (the reference's `layers.py`).

`run` functions import TensorFlow inside their bodies: the grading process, which judges
without it, reads this module too.
"""

import numpy as np

from keras_vae.graded import diagnosis
from keras_vae.graded.item import Item
from keras_vae.graded.witness import array, expect_close, expect_shape


def reparameterize_config(rng):
    return {"latent_dim": int(rng.integers(2, 8))}


def sampling_config(rng):
    seeds = [int(s) for s in rng.integers(1, 2**30, size=5)]
    return {"latent_dim": int(rng.integers(2, 8)), "stats_dim": int(rng.integers(3, 6)),
            "seeds": seeds[:3], "same_seed": seeds[3], "config_seed": seeds[4]}


def _posterior(rng, latent_dim):
    batch_size = int(rng.integers(200, 300))
    return {"z_mean": rng.normal(size=(batch_size, latent_dim)).astype(np.float32),
            "z_log_var": rng.normal(scale=1.5, size=(batch_size, latent_dim)).astype(np.float32)}


def _wide_and_narrow(rng, config):
    wide, narrow = _posterior(rng, config["latent_dim"]), _posterior(rng, 1)
    return dict(wide, z_mean_1=narrow["z_mean"], z_log_var_1=narrow["z_log_var"])


def _wide(rng, config):
    return _posterior(rng, config["latent_dim"])


def _expect_posterior_draws(z, inputs, what, suffix=""):
    """Asserts `z` looks like draws of N(z_mean, exp(z_log_var)): standardized, mean 0 and
    standard deviation 1 within 6 standard errors."""
    z = array(z, what)
    z_mean = np.float64(inputs["z_mean" + suffix])
    expect_shape(z, z_mean.shape, what)
    epsilon = (z - z_mean) / np.exp(0.5 * np.float64(inputs["z_log_var" + suffix]))
    size = epsilon.size
    assert abs(epsilon.mean()) < 6 / np.sqrt(size) and abs(epsilon.std() - 1) < 6 / np.sqrt(2 * size), (
        f"{what}: expected draws of N(z_mean, exp(z_log_var)), whose standardized noise "
        f"(z - z_mean) / exp(0.5 * z_log_var) has mean 0 and standard deviation 1; received "
        f"mean {epsilon.mean():.3f} and standard deviation {epsilon.std():.3f}.\nLikely "
        "mistake: z is not z_mean + exp(0.5 * z_log_var) * epsilon with epsilon ~ N(0, I).")


def reparameterize_inputs(rng, config):
    inputs = _wide_and_narrow(rng, config)
    inputs["epsilon"] = rng.normal(size=inputs["z_mean"].shape).astype(np.float32)
    inputs["epsilon_1"] = rng.normal(size=inputs["z_mean_1"].shape).astype(np.float32)
    return inputs


def reparameterize_run(graphs, inputs):
    return {suffix: graphs.call("functions", inputs["z_mean" + suffix],
                                inputs["z_log_var" + suffix], inputs["epsilon" + suffix],
                                endpoint=endpoint)
            for suffix, endpoint in (("", "wide"), ("_1", "narrow"))}


def reparameterize_judge(inputs, observed):
    for suffix in ("", "_1"):
        z_mean, z_log_var, epsilon = (inputs[name + suffix]
                                      for name in ("z_mean", "z_log_var", "epsilon"))
        expected = np.float64(z_mean) + np.exp(0.5 * np.float64(z_log_var)) * epsilon
        expect_close(observed[suffix], expected,
                     f"reparameterize(z_mean, z_log_var, epsilon), latent_dim="
                     f"{expected.shape[1]}",
                     diagnosis.reparameterize(observed[suffix], z_mean, z_log_var, epsilon)
                     or "z is not z_mean + exp(0.5 * z_log_var) * epsilon.",
                     rtol=1e-5)


def shape_run(graphs, inputs):
    return {suffix: graphs.call(name, inputs["z_mean" + suffix], inputs["z_log_var" + suffix])
            for suffix, name in (("", "wide"), ("_1", "narrow"))}


def shape_judge(inputs, observed):
    for suffix in ("", "_1"):
        _expect_posterior_draws(observed[suffix], inputs,
                                f"Sampling()([z_mean, z_log_var]) with latent_dim="
                                f"{inputs['z_mean' + suffix].shape[1]}", suffix)


def fresh_noise_run(graphs, inputs):
    pair = (inputs["z_mean"], inputs["z_log_var"])
    return {"layer": [graphs.call("wide", *pair), graphs.call("wide", *pair)],
            "model": [graphs.call("model", *pair), graphs.call("model", *pair)]}


def fresh_noise_judge(inputs, observed):
    for z in observed["layer"] + observed["model"]:
        _expect_posterior_draws(z, inputs, "Sampling output")
    first, second = (array(z, "Sampling output") for z in observed["layer"])
    assert not np.allclose(first, second), (
        "Two calls of one Sampling layer returned the same z: expected new epsilon on each "
        "call, received the same values.\nLikely mistake: noise drawn once (in __init__/build, "
        "or with NumPy) instead of with keras.random.normal(..., seed=self.seed_generator) "
        "inside call.")
    first, second = (array(z, "model output") for z in observed["model"])
    assert not np.allclose(first, second), (
        "Two calls of a keras.Model around Sampling returned the same z: expected fresh noise "
        "in the compiled graph, received identical values.\nLikely mistake: NumPy noise is "
        "frozen into the graph when it is traced; draw epsilon with keras.random.normal.")


def gradients_run(graphs, inputs):
    import tensorflow as tf

    layer = graphs.load("wide")
    z_mean, z_log_var = tf.Variable(inputs["z_mean"]), tf.Variable(inputs["z_log_var"])
    with tf.GradientTape() as tape:
        z = layer.call(z_mean, z_log_var)
        total = tf.reduce_sum(z)
    grad_mean, grad_log_var = tape.gradient(total, [z_mean, z_log_var])
    return {"z": z.numpy(), "grad_mean": None if grad_mean is None else grad_mean.numpy(),
            "grad_log_var": None if grad_log_var is None else grad_log_var.numpy()}


def gradients_judge(inputs, observed):
    missing = [name for name in ("z_mean", "z_log_var")
               if observed["grad_" + name.removeprefix("z_")] is None]
    if missing == ["z_log_var"]:
        hint = ("the noise term exp(0.5 * z_log_var) * epsilon is cut from the gradient (a "
                "tf.stop_gradient, or a value computed outside TensorFlow), so the encoder "
                "cannot learn the variance.")
    else:
        hint = ("z computed outside TensorFlow (NumPy) or from a constant, so the encoder "
                "cannot learn.")
    assert not missing, (
        f"Expected gradients for both z_mean and z_log_var, received None for "
        f"{' and '.join(missing)}.\nLikely mistake: {hint}")
    # Gradients of a layer that draws no noise (z = z_mean + 0 * z_log_var) match the closed
    # forms trivially: the draws themselves come first.
    _expect_posterior_draws(observed["z"], inputs, "Sampling output")
    expect_close(observed["grad_mean"], np.ones_like(inputs["z_mean"]), "d sum(z) / d z_mean",
                 "z must be z_mean plus a term that does not depend on z_mean.")
    z = array(observed["z"], "Sampling output")
    expect_close(observed["grad_log_var"], 0.5 * (z - inputs["z_mean"]), "d sum(z) / d z_log_var",
                 "z must be z_mean + exp(0.5 * z_log_var) * epsilon.", rtol=1e-3)


NUM_DRAWS = 20000


def statistics_inputs(rng, config):
    latent_dim = config["stats_dim"]
    return {"means": rng.uniform(-2, 2, size=latent_dim).astype(np.float32),
            "log_vars": rng.uniform(-1.5, 1.5, size=latent_dim).astype(np.float32)}


def statistics_run(graphs, inputs):
    tiled = [np.tile(inputs[name], (NUM_DRAWS, 1)) for name in ("means", "log_vars")]
    return {"z": graphs.call("stats", *tiled)}


def statistics_judge(inputs, observed):
    latent_dim = len(inputs["means"])
    z = array(observed["z"], "Sampling output")
    expect_shape(z, (NUM_DRAWS, latent_dim), "Sampling output for 20,000 rows")
    stds = np.exp(0.5 * np.float64(inputs["log_vars"]))
    # Bounds of 6 standard errors: a correct layer fails with probability below 1e-8.
    expect_close(z.mean(axis=0), inputs["means"], "mean of 20,000 draws",
                 "z must be centred on z_mean.", rtol=0, atol=6 * stds.max() / np.sqrt(NUM_DRAWS))
    expect_close(z.std(axis=0), stds, "standard deviation of 20,000 draws",
                 "the spread is exp(0.5 * z_log_var); exp(z_log_var) is the variance.",
                 rtol=6 / np.sqrt(2 * NUM_DRAWS), atol=0)
    correlation = np.corrcoef(z, rowvar=False)
    off_diagonal = np.abs(correlation - np.diag(np.diag(correlation))).max()
    assert off_diagonal < 6 / np.sqrt(NUM_DRAWS), (
        f"Correlation between latent dimensions of 20,000 draws: expected about 0, received "
        f"{off_diagonal:.3f}.\nLikely mistake: one epsilon per example shared by every latent "
        "dimension; draw epsilon with the full shape (batch_size, latent_dim).")


def seed_run(graphs, inputs):
    pair = (inputs["z_mean"], inputs["z_log_var"])
    return {name: graphs.call(name, *pair) for name in ("seed_a", "seed_b", "seed_other")}


def seed_judge(inputs, observed):
    for key in ("seed_a", "seed_b", "seed_other"):
        _expect_posterior_draws(observed[key], inputs, "Sampling output")
    first, again, other = (array(observed[k], "Sampling output")
                           for k in ("seed_a", "seed_b", "seed_other"))
    seed = inputs["same_seed"]
    assert np.allclose(first, again), (
        f"Two Sampling(seed={seed}) layers drew different z: expected the same draws for the "
        "same seed.\nLikely mistake: the seed is not passed to keras.random.SeedGenerator.")
    assert not np.allclose(first, other), (
        f"Sampling(seed={seed}) and Sampling(seed={seed + 1}) drew the same z: expected "
        "different draws.\nLikely mistake: a seed written into the code instead of `seed`.")


def config_run(graphs, inputs):
    pair = (inputs["z_mean"], inputs["z_log_var"])
    return {name: graphs.call(name, *pair) for name in ("original", "clone")}


def config_judge(inputs, observed):
    _expect_posterior_draws(observed["clone"], inputs,
                            "Sampling.from_config(layer.get_config()) called on "
                            "[z_mean, z_log_var]")
    original, clone = (array(observed[k], "Sampling output") for k in ("original", "clone"))
    seed = inputs["config_seed"]
    assert np.allclose(original, clone), (
        f"Sampling.from_config(Sampling(seed={seed}).get_config()): expected a layer drawing "
        "the same z as the original, received other draws.\nLikely mistake: get_config does "
        "not add the seed to the base config, so a loaded model draws from another stream.")


ITEMS = [
    Item("reparameterize.formula", 2,
         "reparameterize returns z_mean + exp(0.5 * z_log_var) * epsilon, for any latent_dim.",
         ("reparameterize",), "reparameterize", reparameterize_inputs, reparameterize_run,
         reparameterize_judge),
    Item("sampling.shape", 1, "Sampling returns one z per row, shaped (batch_size, latent_dim).",
         ("Sampling", "reparameterize"), "sampling", _wide_and_narrow, shape_run, shape_judge),
    Item("sampling.fresh_noise", 1,
         "Sampling draws fresh noise on every call, on its own and inside a keras.Model.",
         ("Sampling", "reparameterize"), "sampling", _wide, fresh_noise_run, fresh_noise_judge),
    Item("sampling.gradients", 1,
         "Gradients of z reach both z_mean (as 1) and z_log_var (as 0.5 * (z - z_mean)).",
         ("Sampling", "reparameterize"), "sampling", _wide, gradients_run, gradients_judge),
    Item("sampling.statistics", 2,
         "Draws of Sampling have mean z_mean, standard deviation exp(0.5 * z_log_var) and "
         "independent latent dimensions.",
         ("Sampling", "reparameterize"), "sampling", statistics_inputs, statistics_run,
         statistics_judge),
    Item("sampling.seed", 1, "Sampling layers with the same seed draw the same z; other seeds "
         "draw other z.", ("Sampling", "reparameterize"), "sampling", _wide, seed_run,
         seed_judge),
    Item("sampling.config", 1, "Sampling's get_config round-trips its seed: a layer made "
         "from it draws what the original draws.", ("Sampling", "reparameterize"), "sampling",
         _wide, config_run, config_judge),
]
