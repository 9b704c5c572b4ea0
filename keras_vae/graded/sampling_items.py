"""Graded: the reparameterization trick and the Sampling layer.

Probes import TensorFlow inside their bodies: this module is also read by the grading
process, which judges without it.
"""

import numpy as np

from keras_vae.graded.rubric import Item
from keras_vae.graded.witness import array, expect_close, expect_shape


def _posterior(rng, batch_size=None, latent_dim=None):
    batch_size = batch_size or int(rng.integers(200, 300))
    latent_dim = latent_dim or int(rng.integers(2, 8))
    return {"z_mean": rng.normal(size=(batch_size, latent_dim)).astype(np.float32),
            "z_log_var": rng.normal(scale=1.5, size=(batch_size, latent_dim)).astype(np.float32)}


def _tensors(inputs, suffix=""):
    import tensorflow as tf

    return [tf.constant(inputs["z_mean" + suffix]), tf.constant(inputs["z_log_var" + suffix])]


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


def reparameterize_inputs(rng):
    wide, narrow = _posterior(rng), _posterior(rng, latent_dim=1)
    inputs = dict(wide, z_mean_1=narrow["z_mean"], z_log_var_1=narrow["z_log_var"])
    inputs["epsilon"] = rng.normal(size=wide["z_mean"].shape).astype(np.float32)
    inputs["epsilon_1"] = rng.normal(size=narrow["z_mean"].shape).astype(np.float32)
    return inputs


def reparameterize_probe(impl, inputs):
    return {suffix: impl.reparameterize(inputs["z_mean" + suffix], inputs["z_log_var" + suffix],
                                        inputs["epsilon" + suffix]) for suffix in ("", "_1")}


def reparameterize_judge(inputs, observed):
    for suffix in ("", "_1"):
        expected = (np.float64(inputs["z_mean" + suffix])
                    + np.exp(0.5 * np.float64(inputs["z_log_var" + suffix]))
                    * inputs["epsilon" + suffix])
        expect_close(observed[suffix], expected,
                     f"reparameterize(z_mean, z_log_var, epsilon), latent_dim="
                     f"{expected.shape[1]}",
                     "the scale is the standard deviation exp(0.5 * z_log_var), not the "
                     "variance exp(z_log_var) nor exp(z_log_var) taken as a standard deviation.",
                     rtol=1e-5)


def shape_inputs(rng):
    wide, narrow = _posterior(rng), _posterior(rng, latent_dim=1)
    return dict(wide, z_mean_1=narrow["z_mean"], z_log_var_1=narrow["z_log_var"])


def shape_probe(impl, inputs):
    return {suffix: impl.Sampling(seed=1)(_tensors(inputs, suffix)) for suffix in ("", "_1")}


def shape_judge(inputs, observed):
    for suffix in ("", "_1"):
        _expect_posterior_draws(observed[suffix], inputs,
                                f"Sampling()([z_mean, z_log_var]) with latent_dim="
                                f"{inputs['z_mean' + suffix].shape[1]}", suffix)


def fresh_noise_probe(impl, inputs):
    import keras

    layer = impl.Sampling(seed=1)
    tensors = _tensors(inputs)
    latent_dim = inputs["z_mean"].shape[1]
    z_mean, z_log_var = keras.Input((latent_dim,)), keras.Input((latent_dim,))
    model = keras.Model([z_mean, z_log_var], impl.Sampling(seed=2)([z_mean, z_log_var]))
    return {"eager": [layer(tensors), layer(tensors)],
            "predict": [model.predict(tensors, verbose=0), model.predict(tensors, verbose=0)]}


def fresh_noise_judge(inputs, observed):
    for z in observed["eager"] + observed["predict"]:
        _expect_posterior_draws(z, inputs, "Sampling output")
    first, second = (array(z, "Sampling output") for z in observed["eager"])
    assert not np.allclose(first, second), (
        "Two eager calls returned the same z: expected new epsilon on each call, received the "
        "same values.\nLikely mistake: noise drawn once (in __init__/build, or with NumPy) "
        "instead of with keras.random.normal(..., seed=self.seed_generator) inside call.")
    first, second = (array(z, "model.predict output") for z in observed["predict"])
    assert not np.allclose(first, second), (
        "Two model.predict calls returned the same z: expected fresh noise in the compiled "
        "graph, received identical values.\nLikely mistake: NumPy noise is frozen into the "
        "graph when it is traced; draw epsilon with keras.random.normal.")


def gradients_probe(impl, inputs):
    import tensorflow as tf

    z_mean, z_log_var = tf.Variable(inputs["z_mean"]), tf.Variable(inputs["z_log_var"])
    with tf.GradientTape() as tape:
        z = impl.Sampling(seed=3)([z_mean, z_log_var])
        total = tf.reduce_sum(z)
    grad_mean, grad_log_var = tape.gradient(total, [z_mean, z_log_var])
    return {"z": z, "grad_mean": grad_mean, "grad_log_var": grad_log_var}


def gradients_judge(inputs, observed):
    for name in ("z_mean", "z_log_var"):
        assert observed["grad_" + name.removeprefix("z_")] is not None, (
            f"Expected gradients for both z_mean and z_log_var, received None for {name}.\n"
            "Likely mistake: z computed outside TensorFlow (NumPy) or from a constant, so the "
            "encoder cannot learn.")
    expect_close(observed["grad_mean"], np.ones_like(inputs["z_mean"]), "d sum(z) / d z_mean",
                 "z must be z_mean plus a term that does not depend on z_mean.")
    z = array(observed["z"], "Sampling output")
    expect_close(observed["grad_log_var"], 0.5 * (z - inputs["z_mean"]), "d sum(z) / d z_log_var",
                 "z must be z_mean + exp(0.5 * z_log_var) * epsilon.", rtol=1e-3)


NUM_DRAWS = 20000


def statistics_inputs(rng):
    latent_dim = int(rng.integers(3, 6))
    return {"means": rng.uniform(-2, 2, size=latent_dim).astype(np.float32),
            "log_vars": rng.uniform(-1.5, 1.5, size=latent_dim).astype(np.float32)}


def statistics_probe(impl, inputs):
    import tensorflow as tf

    tiled = [np.tile(inputs[name], (NUM_DRAWS, 1)) for name in ("means", "log_vars")]
    return {"z": impl.Sampling(seed=4)([tf.constant(value) for value in tiled])}


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


def seed_probe(impl, inputs):
    tensors = _tensors(inputs)
    return {"first": impl.Sampling(seed=7)(tensors), "again": impl.Sampling(seed=7)(tensors),
            "other": impl.Sampling(seed=8)(tensors)}


def seed_judge(inputs, observed):
    for key in ("first", "again", "other"):
        _expect_posterior_draws(observed[key], inputs, "Sampling output")
    first, again, other = (array(observed[k], "Sampling output")
                           for k in ("first", "again", "other"))
    assert first.shape == again.shape and np.allclose(first, again), (
        "Two Sampling(seed=7) layers drew different z: expected the same draws for the same "
        "seed.\nLikely mistake: the seed is not passed to keras.random.SeedGenerator.")
    assert not np.allclose(first, other), (
        "Sampling(seed=7) and Sampling(seed=8) drew the same z: expected different draws.")


def config_probe(impl, inputs):
    layer = impl.Sampling(seed=11, name="z")
    config = layer.get_config()
    clone = impl.Sampling.from_config(config)
    seed = config.get("seed")
    return {"seed": seed if isinstance(seed, int) else repr(seed), "z": clone(_tensors(inputs))}


def config_judge(inputs, observed):
    assert observed["seed"] == 11, (
        f"get_config()['seed']: expected 11, received {observed['seed']}.\n"
        "Likely mistake: get_config does not add the seed to the base config.")
    _expect_posterior_draws(observed["z"], inputs,
                            "Sampling.from_config(config) called on [z_mean, z_log_var]")


ITEMS = [
    Item("reparameterize.formula", 2,
         "reparameterize returns z_mean + exp(0.5 * z_log_var) * epsilon, for any latent_dim.",
         ("reparameterize",), reparameterize_inputs, reparameterize_probe, reparameterize_judge),
    Item("sampling.shape", 1, "Sampling returns one z per row, shaped (batch_size, latent_dim).",
         ("Sampling", "reparameterize"), shape_inputs, shape_probe, shape_judge),
    Item("sampling.fresh_noise", 1,
         "Sampling draws fresh noise on every call, eagerly and inside a compiled model.",
         ("Sampling", "reparameterize"), _posterior, fresh_noise_probe, fresh_noise_judge),
    Item("sampling.gradients", 1,
         "Gradients of z reach both z_mean (as 1) and z_log_var (as 0.5 * (z - z_mean)).",
         ("Sampling", "reparameterize"), _posterior, gradients_probe, gradients_judge),
    Item("sampling.statistics", 2,
         "Draws of Sampling have mean z_mean, standard deviation exp(0.5 * z_log_var) and "
         "independent latent dimensions.",
         ("Sampling", "reparameterize"), statistics_inputs, statistics_probe, statistics_judge),
    Item("sampling.seed", 1, "Sampling layers with the same seed draw the same z; other seeds "
         "draw other z.", ("Sampling",), _posterior, seed_probe, seed_judge),
    Item("sampling.config", 1, "Sampling's get_config round-trips its seed, so saved models "
         "load back.", ("Sampling",), _posterior, config_probe, config_judge),
]
