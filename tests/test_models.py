"""Builders, bad input, fit's reported losses, and saving and loading."""

import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae
from keras_vae import cli
from keras_vae.graded import witness

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RNG = np.random.default_rng(0)
X = (RNG.uniform(size=(64, 784)) < 0.3).astype(np.float32)


def probe_models(latent_dim=4, num_pixels=784, log_var=-30.0):
    """A linear encoder with a constant z_log_var and a one-layer decoder, with known weights.

    With z_log_var = -30 the sampled z equals z_mean to 1e-6, so the loss has a closed form.
    Returns `(encoder, decoder, forward)`, where `forward(x)` is the float64 NumPy witness
    `(z_mean, z_log_var, probs)`.
    """
    rng = np.random.default_rng(3)
    enc_kernel = rng.normal(scale=0.05, size=(num_pixels, latent_dim))
    dec_kernel = rng.normal(scale=0.05, size=(latent_dim, num_pixels))
    dec_bias = rng.normal(scale=0.5, size=num_pixels)
    constant = keras.initializers.Constant
    x = keras.Input((num_pixels,))
    z_mean = keras.layers.Dense(latent_dim, kernel_initializer=constant(enc_kernel))(x)
    z_log_var = keras.layers.Dense(latent_dim, kernel_initializer="zeros",
                                   bias_initializer=constant(log_var))(x)
    z = keras.Input((latent_dim,))
    probs = keras.layers.Dense(num_pixels, activation="sigmoid",
                               kernel_initializer=constant(dec_kernel),
                               bias_initializer=constant(dec_bias))(z)

    def forward(x_value):
        z_mean_value = np.float64(x_value) @ enc_kernel
        probs_value = witness.sigmoid(z_mean_value @ dec_kernel + dec_bias)
        return z_mean_value, np.full_like(z_mean_value, log_var), probs_value

    return keras.Model(x, [z_mean, z_log_var]), keras.Model(z, probs), forward


@pytest.mark.parametrize("call, name", [
    (lambda: keras_vae.build_encoder((784,), 0), "latent_dim"),
    (lambda: keras_vae.build_encoder((784,), 2.5), "latent_dim"),
    (lambda: keras_vae.build_encoder((784,), 2, hidden_units=()), "hidden_units"),
    (lambda: keras_vae.build_encoder((784,), 2, hidden_units=(0,)), "hidden_units"),
    (lambda: keras_vae.build_encoder((784,), 2, architecture="rnn"), "architecture"),
    (lambda: keras_vae.build_encoder((784,), 2, architecture="conv"), "input_shape"),
    (lambda: keras_vae.build_decoder(2, (784,), likelihood="poisson"), "likelihood"),
    (lambda: keras_vae.build_decoder(2, (30, 30, 1), architecture="conv"), "output_shape"),
    (lambda: keras_vae.KLDivergenceLayer(beta=-1.0), "beta"),
    (lambda: keras_vae.build_vae(*probe_models()[:2], sigma=0.0), "sigma"),
    (lambda: keras_vae.build_vae(*probe_models()[:2], beta=float("nan")), "beta"),
    (lambda: keras_vae.build_vae(*probe_models()[:2], likelihood="mse"), "likelihood"),
    (lambda: keras_vae.build_vae(keras_vae.build_encoder((784,), 3),
                                 keras_vae.build_decoder(4, (784,))), "decoder"),
    (lambda: keras_vae.build_vae(keras_vae.build_encoder((784,), 3),
                                 keras_vae.build_decoder(3, (28, 28, 1))), "decoder"),
])
def test_bad_arguments_raise_value_error_naming_them(call, name):
    """Invalid arguments raise ValueError naming the argument, what was expected and received."""
    with pytest.raises(ValueError, match=rf"Invalid value for `{name}`: expected .+, received"):
        call()


def test_conv_architecture_shapes():
    """The convolutional encoder and decoder map (28, 28, 1) images to latents and back."""
    encoder = keras_vae.build_encoder((28, 28, 1), 6, architecture="conv")
    decoder = keras_vae.build_decoder(6, (28, 28, 1), architecture="conv")
    z_mean, z_log_var = encoder.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    assert z_mean.shape == z_log_var.shape == (2, 6)
    probs = decoder.predict(np.zeros((2, 6), np.float32), verbose=0)
    assert probs.shape == (2, 28, 28, 1) and 0 <= probs.min() and probs.max() <= 1


@pytest.mark.slow
def test_fit_reports_loss_as_reconstruction_plus_beta_kl():
    """fit and evaluate report loss = reconstruction_loss + beta * kl_loss, on validation too."""
    encoder = keras_vae.build_encoder((784,), 4, (32,))
    decoder = keras_vae.build_decoder(4, (784,), (32,))
    vae = keras_vae.build_vae(encoder, decoder, beta=0.3, seed=1)
    history = vae.fit(X, X, epochs=2, batch_size=16, validation_data=(X, X), verbose=0).history
    for prefix in ("", "val_"):
        loss = np.array(history[prefix + "loss"])
        parts = (np.array(history[prefix + "reconstruction_loss"])
                 + 0.3 * np.array(history[prefix + "kl_loss"]))
        np.testing.assert_allclose(loss, parts, rtol=1e-5, err_msg=f"{prefix}loss vs parts")


def test_evaluate_matches_closed_form_and_ignores_batch_size():
    """evaluate's loss equals the float64 negative ELBO of a probe model, at any batch size."""
    encoder, decoder, forward = probe_models()
    vae = keras_vae.build_vae(encoder, decoder)
    z_mean, z_log_var, probs = forward(X)
    expected = (witness.bernoulli_nll(X, probs) + witness.kl_divergence(z_mean, z_log_var)).mean()
    for batch_size in (8, 64):
        received = vae.evaluate(X, X, batch_size=batch_size, verbose=0, return_dict=True)
        assert abs(received["loss"] - expected) < 1e-4 * expected, (
            f"batch_size={batch_size}: expected {expected:.4f}, received {received['loss']:.4f}")


@pytest.mark.slow
def test_saved_models_load_back_with_the_same_outputs(tmp_path):
    """vae, encoder and decoder save as .keras and load back with identical deterministic outputs."""
    encoder = keras_vae.build_encoder((28, 28, 1), 3, (16,), architecture="conv")
    decoder = keras_vae.build_decoder(3, (28, 28, 1), (16,), architecture="conv")
    vae = keras_vae.build_vae(encoder, decoder, seed=5)
    images = X[:8].reshape(-1, 28, 28, 1)
    vae.fit(images, images, epochs=1, verbose=0)
    for name, model in (("vae", vae), ("encoder", encoder), ("decoder", decoder)):
        model.save(tmp_path / f"{name}.keras")
    loaded_vae = keras.models.load_model(tmp_path / "vae.keras")
    loaded_encoder = keras.models.load_model(tmp_path / "encoder.keras")
    loaded_decoder = keras.models.load_model(tmp_path / "decoder.keras")
    z_mean = encoder.predict(images, verbose=0)[0]
    np.testing.assert_array_equal(loaded_encoder.predict(images, verbose=0)[0], z_mean)
    np.testing.assert_array_equal(loaded_decoder.predict(z_mean, verbose=0),
                                  decoder.predict(z_mean, verbose=0))
    inner = loaded_vae.get_layer("encoder")
    np.testing.assert_array_equal(inner.predict(images, verbose=0)[0], z_mean)
    assert loaded_vae.get_layer("z").seed == 5
    assert loaded_vae.loss.likelihood == "bernoulli"


def load_in_a_fresh_process(imports, paths):
    """Runs `python -c "IMPORTS; keras.saving.load_model(PATH) for each path"` in the repository;
    returns its exit status, stdout and the stderr lines that are not TensorFlow's start-up."""
    code = (f"{imports}\n"
            f"for path in {[str(path) for path in paths]!r}:\n"
            "    print(keras.saving.load_model(path).name)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    err = [line for line in result.stderr.splitlines()
           if line.strip() and not cli.STARTUP_NOISE.search(line)]
    return result.returncode, result.stdout, err


IMPORT_ORDERS = [
    pytest.param("import keras, keras_vae", marks=pytest.mark.slow),
    # The first use of a contract name imports Keras from inside the package, after it.
    "import keras_vae; keras_vae.Sampling; import keras",
    pytest.param("import keras_vae, keras", marks=pytest.mark.slow),
    pytest.param("import keras_vae; keras_vae.kl_divergence; import keras", marks=pytest.mark.slow),
    pytest.param("import keras_vae.reference.layers, keras", marks=pytest.mark.slow),
    pytest.param("import keras_vae.reference.losses, keras", marks=pytest.mark.slow),
    pytest.param("import keras_vae.precision, keras", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("imports", IMPORT_ORDERS)
def test_saved_models_load_in_a_fresh_process_after_a_plain_import(tmp_path, imports):
    """vae.keras, encoder.keras and decoder.keras load in a new Python after `import keras_vae`,
    whether Keras is imported before it, after it, or first by one of the reference's modules:
    the package's classes are registered, and no import finds a module half-imported."""
    encoder = keras_vae.build_encoder((20,), 2, hidden_units=(8,))
    decoder = keras_vae.build_decoder(2, (20,), hidden_units=(8,))
    vae = keras_vae.build_vae(encoder, decoder)
    vae.optimizer.build(vae.trainable_variables)  # As after fit: the optimizer's state is saved.
    paths = [tmp_path / f"{model.name}.keras" for model in (vae, encoder, decoder)]
    for model, path in zip((vae, encoder, decoder), paths):
        model.save(path)
    status, out, err = load_in_a_fresh_process(imports, paths)
    assert (status, out, err) == (0, "vae\nencoder\ndecoder\n", []), (
        f"expected exit 0, the three names and no error, received exit {status}, {out!r}, "
        f"stderr ending {err[-1:]}")


def test_one_device_keeps_xla_and_32_steps_per_call():
    """Without a distribution strategy build_vae compiles a dense VAE with XLA, 32 steps a call."""
    vae = keras_vae.build_vae(*probe_models()[:2])
    assert (vae.steps_per_execution, bool(vae.jit_compile)) == (32, True), (
        f"expected (32, True), received ({vae.steps_per_execution}, {vae.jit_compile})")


UINT8_FIT = """\
import numpy as np
import keras_vae

x = np.random.default_rng(0).integers(0, 256, size=(64, 784), dtype=np.uint8)
vae = keras_vae.build_vae(keras_vae.build_encoder((784,), 2, hidden_units=(8,)),
                          keras_vae.build_decoder(2, (784,), hidden_units=(8,)))
vae.fit(x{scale}, x{scale}, epochs=2, verbose=0)
print(vae.history.history["loss"])
"""


def run_script(code):
    """Runs `python -c CODE` in the repository, TensorFlow's INFO lines off; returns its exit
    status, stdout and the stderr lines that are not TensorFlow's start-up."""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "1"})
    err = [line for line in result.stderr.splitlines()
           if line.strip() and not cli.STARTUP_NOISE.search(line)]
    return result.returncode, result.stdout, err


@pytest.mark.slow
def test_raw_uint8_pixels_given_to_fit_are_one_clear_error():
    """`vae.fit(x, x)` on raw uint8 pixels trains nothing and ends in one ValueError naming `x`,
    the range expected, the range received and the fix."""
    status, out, err = run_script(UINT8_FIT.format(scale=""))
    told = [line for line in err if not line.startswith(("Traceback", "  "))]
    assert (status, out, told) == (1, "", [
        "ValueError: Invalid value for `x`: expected pixel values in [0, 1] for "
        "likelihood='bernoulli', received 'values in [0, 255]', raw uint8 pixels: divide them "
        "by 255."]), f"expected exit 1, no output and one error line, received {status}, " \
                     f"{out!r}, {err}"


UINT8_DATASET_FIT = """\
import numpy as np
import tensorflow as tf
import keras_vae

x = np.random.default_rng(0).integers(0, 256, size=(64, 784), dtype=np.uint8)
vae = keras_vae.build_vae(keras_vae.build_encoder((784,), 2, hidden_units=(8,)),
                          keras_vae.build_decoder(2, (784,), hidden_units=(8,)))
vae.fit(tf.data.Dataset.from_tensor_slices((x, x)).batch(32), epochs=2, verbose=0)
print(vae.history.history["loss"])
"""


@pytest.mark.slow
def test_a_dataset_of_raw_uint8_pixels_given_to_fit_is_one_clear_error():
    """`vae.fit(dataset)` on a `tf.data.Dataset` of raw uint8 pixels trains nothing and ends in
    one ValueError naming `x`, the element spec received and the fix, read from the spec alone."""
    status, out, err = run_script(UINT8_DATASET_FIT)
    told = [line for line in err if not line.startswith(("Traceback", "  "))]
    assert (status, out, told) == (1, "", [
        "ValueError: Invalid value for `x`: expected pixel values in [0, 1] for "
        "likelihood='bernoulli', received TensorSpec(shape=(None, 784), dtype=tf.uint8, "
        "name=None), raw uint8 pixels: map them to float32 and divide by 255."]), (
        f"expected exit 1, no output and one error line, received {status}, {out!r}, {err}")


PROGRESS_FIT = """\
import numpy as np
from keras.src.utils import progbar
import keras_vae

# Every update drawn, not one each 0.05 s: a fast last call would hide its count.
init = progbar.Progbar.__init__
progbar.Progbar.__init__ = lambda self, *args, **kwargs: init(self, *args, **kwargs, interval=0)

x = (np.random.default_rng(0).uniform(size=(320, 784)) < 0.3).astype(np.float32)
vae = keras_vae.build_vae(keras_vae.build_encoder((784,), 2, hidden_units=(8,)),
                          keras_vae.build_decoder(2, (784,), hidden_units=(8,)))
vae.fit(x, x, epochs=2, batch_size=8)
vae.evaluate(x, x, batch_size=8)
"""


@pytest.mark.slow
def test_the_progress_bar_stops_at_the_last_step_of_an_epoch():
    """On a terminal, 40 steps an epoch in compiled calls of 32: the progress bar shows 32/40,
    then 40/40, never 64/40 (Keras 3.15 counts the last call's 32 steps in full)."""
    import pty

    parent, child = pty.openpty()  # Keras redraws its bar only on a terminal.
    with subprocess.Popen([sys.executable, "-c", PROGRESS_FIT], cwd=ROOT, stdout=child,
                          stderr=subprocess.DEVNULL,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "1"}) as process:
        os.close(child)
        out = b""
        while True:
            try:
                chunk = os.read(parent, 65536)
            except OSError:  # The child closed the terminal.
                break
            if not chunk:
                break
            out += chunk
        status = process.wait(timeout=120)
    os.close(parent)
    counts = re.findall(r"(\d+)/(\d+) ", re.sub(r"\x1b\[[0-9;]*m", "", out.decode()))
    assert status == 0 and ("32", "40") in counts and ("40", "40") in counts and all(
        int(seen) <= int(target) for seen, target in counts), (
        f"expected steps 32/40 and 40/40, none past 40, received {counts}")


@pytest.mark.slow
def test_uint8_pixels_divided_by_255_train_as_before():
    """The same script with `x / 255` trains: exit 0, two finite losses, nothing on stderr."""
    status, out, err = run_script(UINT8_FIT.format(scale=" / 255"))
    assert (status, err) == (0, []), f"expected exit 0 and no stderr, received {status}, {err}"
    losses = [float(loss) for loss in out.strip(" []\n").split(",")]
    assert len(losses) == 2 and all(np.isfinite(losses)), f"expected 2 finite losses, {out!r}"


def bernoulli_vae():
    return keras_vae.build_vae(keras_vae.build_encoder((784,), 2, hidden_units=(8,)),
                               keras_vae.build_decoder(2, (784,), hidden_units=(8,)))


@pytest.mark.parametrize("call, name", [
    (lambda vae, raw: vae.fit(raw, raw, verbose=0), "x"),
    (lambda vae, raw: vae.fit(X, raw, verbose=0), "y"),
    (lambda vae, raw: vae.fit(X, X, validation_data=(raw, raw), verbose=0), "validation_data"),
    (lambda vae, raw: vae.evaluate(raw, raw, verbose=0), "x"),
    (lambda vae, raw: vae.fit(raw.astype(np.float32), X, verbose=0), "x"),
    (lambda vae, raw: vae.fit(keras.ops.convert_to_tensor(raw), X, verbose=0), "x"),
    (lambda vae, raw: vae.fit(tf.data.Dataset.from_tensor_slices((raw, raw)).batch(8),
                              verbose=0), "x"),
    (lambda vae, raw: vae.fit(X, X, verbose=0, validation_data=tf.data.Dataset
                              .from_tensor_slices((raw, raw)).batch(8)), "validation_data"),
])
def test_fit_and_evaluate_refuse_bernoulli_data_outside_0_1(call, name):
    """Arrays and tensors outside [0, 1], and datasets of integers, given to fit or evaluate are
    a ValueError naming the argument, before any step: the weights are unchanged."""
    vae = bernoulli_vae()
    before = [weight.copy() for weight in vae.get_weights()]
    raw = (X * 255).astype(np.uint8)
    with pytest.raises(ValueError, match=rf"^Invalid value for `{name}`: expected pixel values "
                                         r"in \[0, 1\] for likelihood='bernoulli'"):
        call(vae, raw)
    for expected, received in zip(before, vae.get_weights()):
        np.testing.assert_array_equal(received, expected)


@pytest.mark.slow
def test_the_vae_is_still_a_functional_keras_model():
    """build_vae returns a functional keras.Model named "vae" whose fit on [0, 1] data gives
    finite losses; a Gaussian VAE takes pixels of any range."""
    vae = bernoulli_vae()
    assert isinstance(vae, keras.Model) and vae.name == "vae" and vae.inputs and vae.outputs, (
        f"expected a functional keras.Model named 'vae', received {type(vae).__mro__}")
    history = vae.fit(X, X, epochs=1, batch_size=32, verbose=0).history
    assert np.isfinite(history["loss"]).all(), f"expected a finite loss, received {history}"
    gaussian = keras_vae.build_vae(keras_vae.build_encoder((784,), 2, hidden_units=(8,)),
                                   keras_vae.build_decoder(2, (784,), hidden_units=(8,),
                                                           likelihood="gaussian"),
                                   likelihood="gaussian")
    gaussian.evaluate(X * 255.0, X * 255.0, verbose=0)


# Keras warns that an untrained model's saved optimizer has fewer variables than the built one.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_a_loaded_vae_still_refuses_raw_pixels(tmp_path):
    """vae.keras loads back as the same class, and its fit refuses uint8 pixels."""
    vae = bernoulli_vae()
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    assert type(loaded) is type(vae), f"expected {type(vae)}, received {type(loaded)}"
    raw = (X * 255).astype(np.uint8)
    with pytest.raises(ValueError, match=r"^Invalid value for `x`"):
        loaded.fit(raw, raw, verbose=0)
