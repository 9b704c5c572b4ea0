"""What the submission's process builds: its contract names, exported as TensorFlow graphs.

Each export takes the implementation and a configuration (shapes, sizes, `sigma`, `beta`, the
learning rate, its own layers' seeds; never a value a check is judged on) and returns
`(archives, facts)`: `keras.export.ExportArchive`s by name, and the few facts that only the
submission's process can see (such as whether an object is a `keras.Model`). The graded inputs
are given only to the runner, which loads these graphs in a process that never imports the
submission (`keras_vae/graded/runner.py`).

This module imports neither the rubric nor the witnesses: it runs beside the submission.
"""

import keras
import numpy as np
import tensorflow as tf


def _spec(*shape):
    return tf.TensorSpec((None,) + tuple(int(n) for n in shape), tf.float32)


def _archive(tracked, endpoints, weights=None):
    """An archive tracking `tracked`, with `endpoints` `{name: (function, [shapes])}`."""
    archive = keras.export.ExportArchive()
    for item in tracked:
        archive.track(item)
    for name, (function, shapes) in endpoints.items():
        archive.add_endpoint(name, function, input_signature=[_spec(*s) for s in shapes])
    archive.add_variable_collection("weights", list(weights if weights is not None else []))
    return archive


def _as_list(outputs):
    if isinstance(outputs, dict):
        return [outputs[key] for key in sorted(outputs)]
    return list(outputs) if isinstance(outputs, (list, tuple)) else outputs


def _zeros(*shape):
    return np.zeros((2,) + tuple(int(n) for n in shape), np.float32)


def reparameterize(impl, config):
    endpoints = {name: (impl.reparameterize, [(d,)] * 3)
                 for name, d in (("wide", config["latent_dim"]), ("narrow", 1))}
    return {"functions": _archive([], endpoints)}, {}


def _sampling_archive(layer, latent_dim):
    layer([_zeros(latent_dim), _zeros(latent_dim)])
    return _archive([layer], {"call": (lambda z_mean, z_log_var: layer([z_mean, z_log_var]),
                                       [(latent_dim,)] * 2)}, layer.weights)


def sampling(impl, config):
    d = config["latent_dim"]
    archives = {"wide": _sampling_archive(impl.Sampling(seed=config["seeds"][0]), d),
                "narrow": _sampling_archive(impl.Sampling(seed=config["seeds"][0]), 1),
                "stats": _sampling_archive(impl.Sampling(seed=config["seeds"][1]),
                                           config["stats_dim"])}
    z_mean, z_log_var = keras.Input((d,)), keras.Input((d,))
    model = keras.Model([z_mean, z_log_var],
                        impl.Sampling(seed=config["seeds"][2])([z_mean, z_log_var]))
    model.predict([_zeros(d), _zeros(d)], verbose=0)
    archives["model"] = _archive([model], {"call": (lambda a, b: model([a, b]), [(d,)] * 2)},
                                 model.weights)
    same, other = config["same_seed"], config["same_seed"] + 1
    for name, seed in (("seed_a", same), ("seed_b", same), ("seed_other", other)):
        archives[name] = _sampling_archive(impl.Sampling(seed=seed), d)
    original = impl.Sampling(seed=config["config_seed"])
    archives["original"] = _sampling_archive(original, d)
    archives["clone"] = _sampling_archive(impl.Sampling.from_config(original.get_config()), d)
    return archives, {}


def kl_divergence(impl, config):
    endpoints = {"wide": (impl.kl_divergence, [(config["latent_dim"],)] * 2),
                 "narrow": (impl.kl_divergence, [(1,)] * 2),
                 "prior": (impl.kl_divergence, [(config["prior_dim"],)] * 2)}
    return {"functions": _archive([], endpoints)}, {}


def bernoulli_nll(impl, config):
    flat, image = [(config["num_pixels"],)] * 2, [tuple(config["image_shape"])] * 2
    endpoints = {"flat": (impl.bernoulli_nll, flat), "image": (impl.bernoulli_nll, image)}
    return {"functions": _archive([], endpoints)}, {}


def gaussian_nll(impl, config):
    flat, image = [(config["num_pixels"],)] * 2, [tuple(config["image_shape"])] * 2
    sigmas = config["sigmas"]

    def at(sigma):
        return lambda x, mean: impl.gaussian_nll(x, mean, sigma)

    endpoints = {"unit": (at(1.0), flat), "sigma_0": (at(sigmas[0]), flat),
                 "sigma_1": (at(sigmas[1]), flat), "image": (at(sigmas[0]), image)}
    return {"functions": _archive([], endpoints)}, {}


def _kl_layer_archive(layer, latent_dim):
    layer([_zeros(latent_dim), _zeros(latent_dim)])

    def call(z_mean, z_log_var):
        outputs = _as_list(layer([z_mean, z_log_var]))
        losses = [tf.reduce_sum(tf.cast(loss, tf.float32)) for loss in layer.losses]
        return {"loss": tf.add_n(losses) if losses else tf.constant(0.0),
                **{f"output_{i}": output for i, output in enumerate(tf.nest.flatten(outputs))}}

    return _archive([layer], {"call": (call, [(latent_dim,)] * 2)}, layer.weights)


def kl_layer(impl, config):
    d = config["latent_dim"]
    return {"default": _kl_layer_archive(impl.KLDivergenceLayer(), d),
            "beta": _kl_layer_archive(impl.KLDivergenceLayer(beta=config["beta"]), d)}, {}


def _model_archive(model, input_shape):
    model(_zeros(*input_shape))
    return _archive([model], {"call": (lambda x: _as_list(model(x)), [tuple(input_shape)])},
                    model.weights)


def _is_model(model):
    return {"is_model": isinstance(model, keras.Model), "type": type(model).__name__}


def encoder(impl, config):
    n, (one, d), hidden = config["num_pixels"], config["latent_dims"], config["hidden_units"]
    main = impl.build_encoder((n,), d)
    archives = {"main": _model_archive(main, (n,)),
                "latent_one": _model_archive(impl.build_encoder((n,), one, hidden_units=(32, 16)),
                                             (n,)),
                "latent_d": _model_archive(impl.build_encoder((n,), d, hidden_units=(32, 16)), (n,)),
                "hidden": _model_archive(impl.build_encoder((n,), d, hidden_units=hidden), (n,)),
                "image": _model_archive(impl.build_encoder(tuple(config["image_shape"]), d),
                                        tuple(config["image_shape"]))}
    return archives, _is_model(main)


def decoder(impl, config):
    n, d, hidden, shape = (config["num_pixels"], config["latent_dim"], config["hidden_units"],
                           tuple(config["image_shape"]))
    flat = impl.build_decoder(d, (n,))
    archives = {"flat": _model_archive(flat, (d,)),
                "image": _model_archive(impl.build_decoder(d, shape), (d,)),
                "range": _model_archive(impl.build_decoder(d, (n,), likelihood="bernoulli"), (d,)),
                "hidden": _model_archive(impl.build_decoder(d, (n,), hidden_units=hidden), (d,))}
    return archives, _is_model(flat)


def probe_models(num_pixels, latent_dim, gaussian=False, image_shape=None):
    """The grader's own encoder and decoder, every variable of its own shape, so that the
    runner can set their weights: `z_mean = x @ A`, `z_log_var = z_mean @ B + b`, and
    `reconstruction = sigmoid(z @ C + c)` (no sigmoid for Gaussian means); with
    `image_shape`, `x` is flattened and the reconstruction reshaped to images. Their names
    are the reference's, so that nothing tells them from a student's own models."""
    x = keras.Input(tuple(image_shape) if image_shape else (num_pixels,), name="x")
    z_mean = keras.layers.Dense(latent_dim, use_bias=False, name="z_mean")(
        keras.layers.Flatten()(x) if image_shape else x)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(z_mean)
    z = keras.Input((latent_dim,), name="z")
    out = keras.layers.Dense(num_pixels, activation=None if gaussian else "sigmoid",
                             name=None if image_shape else "reconstruction")(z)
    if image_shape:
        out = keras.layers.Reshape(tuple(image_shape), name="reconstruction")(out)
    return (keras.Model(x, [z_mean, z_log_var], name="encoder"),
            keras.Model(z, out, name="decoder"))


def _build_for_export(vae, shape):
    x = np.zeros((4,) + tuple(shape), np.float32)
    vae(x)
    if hasattr(vae, "_symbolic_build"):
        vae._symbolic_build(data_batch=(x, x))
    optimizer = getattr(vae, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        optimizer.build(vae.trainable_variables)


def _flat_logs(logs):
    """A training or test step's logs as `fit` reports them: nested dicts (the results of the
    compiled metrics' container, as a step that returns `m.result()` for every metric in
    `self.metrics` gives them) are merged into one level under their own names."""
    flat = {}
    for key, value in dict(logs).items():
        if isinstance(value, dict):
            flat.update(_flat_logs(value))
        else:
            flat[str(key)] = tf.cast(value, tf.float32)
    return flat


def _vae_archive(vae, num_pixels, extra=None):
    """`num_pixels`: the size of a flat example, or the shape of one image."""
    example = tuple(num_pixels) if isinstance(num_pixels, (list, tuple)) else (num_pixels,)
    _build_for_export(vae, example)
    shape = [example] * 2

    def train_step(x, y):
        return _flat_logs(vae.train_step((x, y)))

    def test_step(x, y):
        for metric in vae.metrics:
            metric.reset_state()
        return _flat_logs(vae.test_step((x, y)))

    endpoints = {"train_step": (train_step, shape), "test_step": (test_step, shape),
                 "call": (lambda x: vae(x), [example]),
                 "call_training": (lambda x: vae(x, training=True), [example])}
    endpoints.update(extra or {})
    return _archive([vae], endpoints, vae.trainable_variables)


def vae(impl, config):
    n, d = config["num_pixels"], config["latent_dim"]
    archives = {}
    encoder_, decoder_ = probe_models(n, d)
    bernoulli = impl.build_vae(encoder_, decoder_, "bernoulli")
    facts = dict(_is_model(bernoulli), compiled=bool(getattr(bernoulli, "compiled", False)),
                 encoder_is=getattr(bernoulli, "encoder", None) is encoder_,
                 decoder_is=getattr(bernoulli, "decoder", None) is decoder_)
    archives["bernoulli"] = _vae_archive(bernoulli, n)
    archives["gaussian"] = _vae_archive(
        impl.build_vae(*probe_models(n, d, gaussian=True), likelihood="gaussian",
                       sigma=config["sigma"]), n)
    archives["beta"] = _vae_archive(impl.build_vae(*probe_models(n, d), beta=config["beta"]), n)
    for name, rate in zip(("rate_a", "rate_b"), config["learning_rates"]):
        # The same seed before each: the two VAEs start with the same weights, noise and
        # optimizer state, and differ in the rate alone.
        keras.utils.set_random_seed(config["rate_seed"])
        archives[name] = _vae_archive(impl.build_vae(*probe_models(n, d), learning_rate=rate), n)
    image = tuple(config["image_shape"])
    archives["image"] = _vae_archive(impl.build_vae(
        *probe_models(int(np.prod(image)), d, image_shape=image), "bernoulli"), image)
    archives["samples"] = _vae_archive(
        impl.build_vae(*probe_models(3, 2, gaussian=True), likelihood="gaussian"), 3)
    return archives, facts


def fit(impl, config):
    n, d, hidden = config["num_pixels"], config["latent_dim"], config["hidden_units"]
    encoder_ = impl.build_encoder((n,), d, hidden_units=hidden)
    decoder_ = impl.build_decoder(d, (n,), hidden_units=hidden)
    model = impl.build_vae(encoder_, decoder_)
    extra = {"encoder": (lambda x: _as_list(encoder_(x)), [(n,)]),
             "decoder": (lambda z: decoder_(z), [(d,)])}
    return {"vae": _vae_archive(model, n, extra)}, {}


EXPORTS = {"reparameterize": reparameterize, "sampling": sampling,
           "kl_divergence": kl_divergence, "bernoulli_nll": bernoulli_nll,
           "gaussian_nll": gaussian_nll, "kl_layer": kl_layer, "encoder": encoder,
           "decoder": decoder, "vae": vae, "fit": fit}
