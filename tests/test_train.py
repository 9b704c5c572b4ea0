"""The training command: its argument checks, run directories, errors and whole runs.

The fast tests check the command line and the run directory without training, most of them in a
subprocess as a terminal runs the command, with its whole stdout and stderr. The slow ones train
on the embedded sample.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from keras_vae import plots

from keras_vae import atomic, cli, train
from keras_vae.training import callbacks, runlock
from keras_vae.training.config import TrainConfig
from keras_vae.training.rundir import RunDir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = ["--dataset", "sample", "--hidden-units", "64", "--iw-samples", "5"]


def command(*args, timeout=300, **env):
    """Runs `python -m ARGS` in the repository, with the environment variables `env` set (or
    unset where `None`); returns (exit status, stdout, stderr, seconds)."""
    start = time.perf_counter()
    env = {name: value for name, value in {**os.environ, **env}.items() if value is not None}
    result = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=timeout, env=env)
    return result.returncode, result.stdout, result.stderr, time.perf_counter() - start


def main_status(argv):
    """`train.main(argv)`'s exit status, also when argparse exits."""
    try:
        return train.main(argv)
    except SystemExit as exit:
        return exit.code


def history_rows(run_dir):
    with open(os.path.join(run_dir, "history.csv")) as file:
        return list(csv.DictReader(file))


def test_bad_input_is_one_line_exit_2_within_a_second_in_a_terminal():
    """`--latent-dim 0` prints exactly one line naming the flag, nothing else, in under 1 s."""
    status, out, err, seconds = command("keras_vae.train", "--latent-dim", "0")
    assert (status, out, err) == (2, "", "error: Invalid value for `--latent-dim`: expected a "
                                  "positive integer, received 0.\n"), (status, out, err)
    assert seconds < 1.0, f"expected under 1 s, received {seconds:.2f} s"


def test_a_run_directory_in_place_of_a_file_is_refused(tmp_path):
    """--out naming a file, or a folder under a file: one line naming --out, exit 2."""
    (tmp_path / "notes.txt").write_text("kept")
    for out, why in ((tmp_path / "notes.txt", "which is not a folder"),
                     (tmp_path / "notes.txt" / "run", f"under {tmp_path / 'notes.txt'}, not a "
                                                      "folder")):
        status, printed, err, _ = command("keras_vae.train", *QUICK, "--out", str(out))
        assert (status, printed, err) == (2, "", (
            f"error: Invalid value for `--out`: expected a folder for the run directory, "
            f"received '{out}', {why}.\n"))
    assert (tmp_path / "notes.txt").read_text() == "kept"
    # A multi-worker worker's own run directory, beside the chief's, is checked too.
    (tmp_path / "run.worker-1").write_text("a file")
    worker = '{"cluster": {"worker": ["h:1", "h:2"]}, "task": {"type": "worker", "index": 1}}'
    status, printed, err, _ = command("keras_vae.train", *QUICK, "--distribute", "multi-worker",
                                      "--out", str(tmp_path / "run"), TF_CONFIG=worker)
    assert (status, printed, err) == (2, "", (
        f"error: Invalid value for `--out`: expected a folder for the run directory, received "
        f"'{tmp_path / 'run.worker-1'}', which is not a folder.\n"))


@pytest.mark.parametrize("argv, flag", [
    (["--latent-dim", "0"], "--latent-dim"),
    (["--hidden-units", "64,x"], "--hidden-units"),
    (["--hidden-units", "0"], "--hidden-units"),
    (["--hidden-units", "512,,256"], "--hidden-units"),
    (["--hidden-units", "512,"], "--hidden-units"),
    (["--activation", "relux"], "--activation"),
    (["--sigma", "-1"], "--sigma"),
    (["--beta", "-0.5"], "--beta"),
    (["--likelihood", "poisson"], "--likelihood"),
    (["--dataset", "cifar10"], "--dataset"),
    (["--architecture", "rnn"], "--architecture"),
    (["--data-path", "/nonexistent/mnist.npz"], "--data-path"),
    (["--epochs", "0"], "--epochs"),
    (["--epochs", "two"], "--epochs"),
    (["--iw-samples", "0"], "--iw-samples"),
    (["--kl-warmup", "-1"], "--kl-warmup"),
    (["--likelihood", "gaussian", "--binarize", "dynamic"], "--binarize"),
    (["--impl", "no_such_module"], "--impl"),
    (["--checkpoint-every-steps", "-1"], "--checkpoint-every-steps"),
    (["--checkpoint-every-minutes", "-2"], "--checkpoint-every-minutes"),
    (["--distribute", "horovod"], "--distribute"),
    (["--batch-size", "4501"], "--batch-size"),  # The sample's training split: 4,500 images.
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**32)], "--seed"),
])
def test_bad_input_names_the_flag_as_typed_and_leaves_no_run_directory(tmp_path, capsys, argv,
                                                                       flag):
    """Bad input: one line naming the flag as typed, exit status 2, no run directory."""
    out = tmp_path / "run"
    assert main_status(QUICK + argv + ["--out", str(out)]) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and len(printed.err.splitlines()) == 1, printed
    assert printed.err.startswith(f"error: Invalid value for `{flag}`: expected "), printed.err
    assert not out.exists()


@pytest.mark.parametrize("module", ["keras_vae.train", "keras_vae.evaluate", "keras_vae.sample"])
def test_help_shows_defaults_and_choices(module):
    """--help lists each option with its default, and the choices where there are some."""
    status, out, err, _ = command(module, "--help")
    assert (status, err) == (0, ""), err
    if module == "keras_vae.train":
        for text in ("{mnist,fashion_mnist,sample}", "{bernoulli,gaussian}", "{mlp,conv}",
                     "(default: 30)", "(default: 100)", "(default: keras_vae)",
                     "(default: runs/default)", "{none,mirrored,multi-worker}"):
            assert text in " ".join(out.split()), f"expected {text!r} in --help:\n{out}"
    else:
        assert "RUN_DIR" in out or "run_dir" in out, out
        assert "--iw-samples" in out or "(default: 10)" in out, out


def test_train_and_evaluate_name_the_importance_samples_alike():
    """One name for the number of importance samples: --iw-samples in both commands."""
    for module in ("keras_vae.train", "keras_vae.evaluate"):
        assert "--iw-samples" in command(module, "--help")[1]


def finished_run(out, **fields):
    """Writes a run directory that looks finished, without training."""
    config, _ = train.parse_args(QUICK + ["--epochs", "1", "--out", str(out)])
    os.makedirs(out, exist_ok=True)
    saved = {**json.loads(json.dumps(config.__dict__)), "mixed_precision": False,
             "distribute": "none", **fields}
    atomic.write_json(os.path.join(out, "config.json"), saved)
    atomic.write_json(os.path.join(out, "metrics.json"), {"test_loss": 1.0})


def finished_run_with_results(out):
    """A run directory that looks finished, with its results' files, without training."""
    finished_run(out)
    run_dir = RunDir(out)
    for path in run_dir.results(plots.FIGURES) + [run_dir.history_file]:
        if not os.path.exists(path):
            with open(path, "w") as file:
                file.write(f"the trained {os.path.basename(path)}")
    return run_dir


def snapshot(folder):
    """Every file under `folder` and its bytes, `.lock` aside (a lock's holder writes it)."""
    return {os.path.relpath(os.path.join(root, name), folder):
            open(os.path.join(root, name), "rb").read()
            for root, _, names in os.walk(folder) for name in names if name != ".lock"}


def images_npz(path, x_train, x_test=None):
    """Writes a data file in the mnist.npz layout with the given images and zero labels."""
    import numpy as np

    x_test = x_train[:2] if x_test is None else x_test
    np.savez(path, x_train=x_train, y_train=np.zeros(len(x_train), np.uint8), x_test=x_test,
             y_test=np.zeros(len(x_test), np.uint8))
    return path


@pytest.mark.parametrize("argv, line", [
    (["--data-path", "{bad}"], "Invalid value for `--data-path`: expected an .npz file with the "
     "arrays x_train, y_train, x_test, y_test, received '{bad}', which NumPy cannot read "
     "(ValueError)."),
    (["--activation", "relux"], "Invalid value for `--activation`: expected the name of a Keras "
     "activation, such as 'relu', received 'relux'."),
    (["--hidden-units", "512,,256"], "Invalid value for `--hidden-units`: expected "
     "comma-separated positive integers such as 512,256, received '512,,256'."),
    (["--hidden-units", "0"], "Invalid value for `--hidden-units`: expected comma-separated "
     "positive integers such as 512,256, received '0'."),
    (["--data-path", "{nokeys}"], "Invalid value for `--data-path`: expected an .npz file with "
     "the arrays x_train, y_train, x_test, y_test, received '{nokeys}', which holds no x_test, "
     "y_test."),
    (["--batch-size", "100000"], "Invalid value for `--batch-size`: expected at most the 4500 "
     "training images, received 100000."),
])
def test_a_typo_with_overwrite_loses_nothing(tmp_path, argv, line):
    """--overwrite with bad input: one line naming the flag, exit 2 within a second, and the
    finished run's models, plots, metrics and history untouched."""
    out = tmp_path / "run"
    finished_run_with_results(out)
    before = snapshot(out)
    bad = tmp_path / "notnpz.npz"
    bad.write_text("not an archive")
    import numpy as np

    nokeys = tmp_path / "nokeys.npz"  # The training arrays alone.
    np.savez(nokeys, x_train=np.zeros((4, 28, 28), np.uint8), y_train=np.zeros(4, np.uint8))
    argv = [arg.format(bad=bad, nokeys=nokeys) for arg in argv]
    status, printed, err, seconds = command("keras_vae.train", *QUICK, *argv, "--out", str(out),
                                            "--overwrite")
    assert (status, printed, err) == (2, "", f"error: {line.format(bad=bad, nokeys=nokeys)}\n")
    assert snapshot(out) == before
    assert seconds < 2.0, f"expected under 2 s, received {seconds:.2f} s"


@pytest.mark.parametrize("argv", [["--over"], ["--epoch", "3"], ["--epochs=1", "--overwr"]])
def test_an_abbreviated_flag_is_refused_like_an_unknown_one(tmp_path, argv):
    """`--over` is not read as --overwrite, nor `--epoch` as --epochs: one line, exit 2, and the
    finished run untouched."""
    out = tmp_path / "run"
    finished_run_with_results(out)
    before = snapshot(out)
    status, printed, err, _ = command("keras_vae.train", *QUICK, "--out", str(out), *argv)
    unknown = " ".join(arg for arg in argv if arg != "--epochs=1")
    assert (status, printed, err) == (2, "", f"error: unrecognized arguments: {unknown} (see "
                                      "python -m keras_vae.train --help).\n")
    assert snapshot(out) == before


@pytest.mark.parametrize("module, argv", [("keras_vae.evaluate", ["--iw", "5"]),
                                          ("keras_vae.sample", ["--num", "3"])])
def test_evaluate_and_sample_refuse_abbreviated_flags(tmp_path, module, argv):
    """An abbreviated flag of evaluate or sample: refused as unknown, one line, exit 2."""
    status, printed, err, _ = command(module, str(tmp_path), *argv)
    assert (status, printed, err) == (2, "", f"error: unrecognized arguments: {' '.join(argv)} "
                                      f"(see python -m {module} --help).\n")


@pytest.mark.parametrize("tf_config, received", [(None, "nothing"), ("garbage", "'garbage'")])
def test_multi_worker_without_a_tf_config_is_refused_before_the_run_directory(
        tmp_path, tf_config, received):
    """--distribute multi-worker with TF_CONFIG unset or malformed: one line naming the flag,
    exit 2, within two seconds, and a finished run under --overwrite left as it was."""
    out = tmp_path / "run"
    finished_run_with_results(out)
    before = snapshot(out)
    status, printed, err, seconds = command("keras_vae.train", *QUICK, "--distribute",
                                            "multi-worker", "--out", str(out), "--overwrite",
                                            TF_CONFIG=tf_config)
    assert (status, printed, err) == (2, "", (
        "error: Invalid value for `--distribute`: expected a TF_CONFIG environment variable "
        'such as {"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": '
        f'"worker", "index": 0}}}} for \'multi-worker\', received {received}.\n'))
    assert snapshot(out) == before
    assert seconds < 2.0, f"expected under 2 s, received {seconds:.2f} s"


@pytest.mark.slow
def test_bad_input_found_once_tensorflow_loads_with_overwrite_loses_nothing(tmp_path):
    """Checks made with TensorFlow loaded (the data's pixels, the implementation's names, its
    builders' arguments) come before --overwrite moves anything."""
    import numpy as np

    out = tmp_path / "run"
    finished_run_with_results(out)
    before = snapshot(out)
    raw = images_npz(tmp_path / "raw.npz", np.full((10, 28, 28), 255.0, np.float32))
    (tmp_path / "incomplete.py").write_text("from keras_vae import build_vae\n")
    for argv, line in (
            (["--impl", "tests.solutions.alternative", "--activation", "tanh"],
             "Invalid value for `--activation`: expected 'relu' (the default), received 'tanh', "
             "which tests.solutions.alternative.build_encoder does not take (it has no "
             "activation argument)."),
            (["--impl", "tests.solutions.alternative", "--architecture", "conv"],
             "Invalid value for `--architecture`: expected 'mlp' (the default), received 'conv', "
             "which tests.solutions.alternative.build_encoder does not take (it has no "
             "architecture argument)."),
            (["--data-path", str(raw), "--batch-size", "4"], "Invalid value for `--data-path`: "
             "expected pixel values in [0, 1] for likelihood='bernoulli', received 'values in "
             "[255, 255]', pixels of 0 to 255: divide them by 255."),
            (["--impl", "incomplete"], "Invalid value for `--impl`: expected a module defining "
             "reparameterize, Sampling, kl_divergence, bernoulli_nll, gaussian_nll, "
             "KLDivergenceLayer, build_encoder, build_decoder, build_vae, received 'incomplete', "
             "which lacks reparameterize, Sampling, kl_divergence, bernoulli_nll, gaussian_nll, "
             "KLDivergenceLayer, build_encoder, build_decoder.")):
        status, printed, err, _ = command("keras_vae.train", *QUICK, *argv, "--out", str(out),
                                          "--overwrite",
                                          PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
        assert (status, printed, err) == (2, "", f"error: {line}\n")
        assert snapshot(out) == before


def test_a_batch_larger_than_the_dataset_is_refused_before_it_loads(tmp_path):
    """The default dataset's size is known without downloading it: --batch-size 100000 is one
    line in a fraction of a second."""
    status, printed, err, seconds = command("keras_vae.train", "--batch-size", "100000",
                                            "--out", str(tmp_path / "run"))
    assert (status, printed, err) == (2, "", "error: Invalid value for `--batch-size`: expected "
                                             "at most the 54000 training images, received "
                                             "100000.\n")
    assert seconds < 1.0, f"expected under 1 s, received {seconds:.2f} s"


@pytest.mark.parametrize("shape", [(300, 32, 32), (300, 28, 28, 3), (300, 10)])
def test_data_of_the_wrong_shape_is_named_with_the_shape_expected(tmp_path, shape):
    """Images that are not 28x28 grayscale (CIFAR-sized, RGB, features): one line naming
    --data-path, the shapes expected and the one received, before anything loads."""
    import numpy as np

    path = images_npz(tmp_path / "images.npz", np.zeros(shape, np.uint8))
    status, printed, err, seconds = command("keras_vae.train", *QUICK, "--data-path", str(path),
                                            "--out", str(tmp_path / "run"))
    assert (status, printed, err) == (2, "", (
        "error: Invalid value for `--data-path`: expected an .npz file of 28x28 grayscale "
        "images: x_train and x_test of shape (num_images, 28, 28), (num_images, 28, 28, 1) or "
        "(num_images, 784), y_train and y_test of shape (num_images,), received "
        f"'{path}', whose x_train has shape {shape}.\n"))
    assert seconds < 2.0, f"expected under 2 s, received {seconds:.2f} s"
    assert not (tmp_path / "run").exists()


def test_a_finished_run_is_reported_before_tensorflow_loads(tmp_path):
    """The same command on a finished run: one line, exit 0, in a second; with a trailing slash too."""
    out = tmp_path / "run"
    finished_run(out)
    for spelled in (str(out), str(out) + "/"):
        status, printed, err, seconds = command("keras_vae.train", *QUICK, "--epochs", "1",
                                                "--out", spelled)
        assert (status, err) == (0, ""), err
        assert printed == (f"The run in {out} is already finished: its models, plots and "
                           "metrics.json are there. Add --overwrite to train it anew.\n")
        assert seconds < 2.0, f"expected under 2 s, received {seconds:.2f} s"


def test_a_run_directory_in_use_is_left_alone(tmp_path):
    """While another holder has the lock: exit 2, one line naming it, nothing changed."""
    out = tmp_path / "run"
    with runlock.lock(RunDir(out)):
        before = {path.name: path.read_bytes() for path in out.iterdir()}
        status, printed, err, seconds = command("keras_vae.train", *QUICK, "--out", str(out))
        assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    holder = before[".lock"].decode().strip()
    assert holder.startswith(f"process {os.getpid()} on "), holder
    assert (status, printed) == (2, "") and err == (
        f"error: {out} is in use by {holder}; wait for it to finish, or stop it and run this "
        "command again.\n"), err
    assert seconds < 2.0, f"expected under 2 s, received {seconds:.2f} s"


def test_another_config_in_a_finished_run_directory_is_refused_naming_the_flags(tmp_path):
    """Other settings than the finished run's: exit 2, one line naming --out, each differing
    flag as typed with both values, and how to train more epochs."""
    out = tmp_path / "run"
    finished_run(out)
    status, printed, err, _ = command("keras_vae.train", *QUICK, "--epochs", "2",
                                      "--latent-dim", "3", "--out", str(out))
    assert (status, printed, err) == (2, "", (
        "error: Invalid value for `--out`: expected a new run directory, the run's own settings, "
        f"or --overwrite to replace it, received '{out}', which holds a finished run that "
        "differs in --latent-dim (16 in the run, 3 given), --epochs (1 in the run, 2 given) and "
        "trains no further: give another --out to train 2 epochs.\n"))


def test_a_bad_value_is_named_before_the_run_directorys_conflict(tmp_path):
    """A finished run of other settings at --out does not hide a bad data file: the file is
    named, and the run is left as it was."""
    out = tmp_path / "run"
    finished_run(out)
    before = snapshot(out)
    bad = tmp_path / "notnpz.npz"
    bad.write_text("not an archive")
    status, printed, err, _ = command("keras_vae.train", *QUICK, "--data-path", str(bad),
                                      "--out", str(out))
    assert (status, printed, err) == (2, "", (
        "error: Invalid value for `--data-path`: expected an .npz file with the arrays x_train, "
        f"y_train, x_test, y_test, received '{bad}', which NumPy cannot read (ValueError).\n"))
    assert snapshot(out) == before


def test_resume_refuses_a_different_config(tmp_path, capsys):
    """An unfinished run is not resumed with other settings: exit 2 naming `--out`."""
    out = tmp_path / "run"
    (out / "backup").mkdir(parents=True)
    (out / "config.json").write_text(json.dumps({"latent_dim": 5, "hidden_units": [64]}))
    assert main_status(QUICK + ["--epochs", "1", "--out", str(out)]) == 2
    assert "Invalid value for `--out`" in capsys.readouterr().err


@pytest.mark.slow
def test_tensorflow_start_up_lines_are_kept_off_the_terminal():
    """Importing TensorFlow through the commands prints nothing on this machine."""
    result = subprocess.run([sys.executable, "-c", "from keras_vae import cli; "
                             "cli.import_tensorflow()"], cwd=ROOT, capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), result.stderr


def test_only_known_start_up_lines_are_dropped():
    """TensorFlow 2.21's start-up lines are recognized; a real warning is not."""
    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795339320.921695   14209 port.cc:153] oneDNN custom operations are on. You",
        "I0000 00:00:1795339320.922039   14209 cudart_stub.cc:31] Could not find cuda drivers on "
        "your machine, GPU will not be used.",
        "E0000 00:00:1795339345.163223   16423 cuda_platform.cc:52] failed call to cuInit: "
        "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    ]
    assert all(cli.STARTUP_NOISE.search(line) for line in noise)
    assert not cli.STARTUP_NOISE.search("W0000 00:00:1 op_level.cc:1] Out of memory")


def test_kl_warmup_anneals_a_beta_kept_as_a_float():
    """A KL layer with a float beta gets an untracked variable: the loss follows it, the weights
    stay the same, and the float comes back for saving."""
    import keras

    from tests.solutions import subclassed

    encoder = subclassed.build_encoder((6,), 2, (4,))
    decoder = subclassed.build_decoder(2, (6,), (4,))
    vae = subclassed.build_vae(encoder, decoder, beta=0.8)
    weights = len(vae.weights)
    annealed = callbacks.annealable_beta(subclassed, vae)
    assert [original for _, original in annealed] == [0.8], annealed
    assert len(vae.weights) == weights, "the variable must not become a weight"
    layer = annealed[0][0]
    losses = []
    for beta in (0.0, 0.8):
        layer.beta.assign(beta)
        layer((keras.ops.ones((4, 2)), keras.ops.zeros((4, 2))))
        losses.append(float(layer.losses[-1]))
    assert losses[0] == 0.0 and abs(losses[1] - 0.8 * 0.5 * 2) < 1e-6, losses
    callbacks.restore_beta(annealed, 0.8)
    assert layer.beta == 0.8 and layer.get_config()["beta"] == 0.8


def test_kl_warmup_puts_a_float_beta_back_for_saving(tmp_path):
    """Through warm-up a float beta follows the schedule beta * min(1, epoch / warm-up epochs);
    after fit it is the same float again, and a saved model loads back with it."""
    import keras
    import numpy as np

    from tests.solutions import subclassed

    inputs = keras.Input((6,))
    z_mean, z_log_var = subclassed.KLDivergenceLayer(0.8)(
        (keras.layers.Dense(2)(inputs), keras.layers.Dense(2)(inputs)))
    vae = keras.Model(inputs, keras.layers.Dense(6)(z_mean + z_log_var))
    vae.compile(optimizer="adam", loss="mse")
    annealed = callbacks.annealable_beta(subclassed, vae)
    layer = annealed[0][0]
    betas = []
    config = TrainConfig(beta=0.8, kl_warmup_epochs=4, num_epochs=3)
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: betas.append(float(layer.beta)))
    x = np.zeros((8, 6), "float32")
    vae.fit(x, x, epochs=3, verbose=0,
            callbacks=callbacks.training_callbacks(config, annealed, 0) + [record])
    np.testing.assert_allclose(betas, [0.0, 0.2, 0.4], rtol=1e-6,
                               err_msg=f"expected betas 0, 0.2, 0.4, received {betas}")
    callbacks.restore_beta(annealed, 0.8)
    assert type(layer.beta) is float and layer.beta == 0.8, (
        f"expected the float 0.8 back, received {layer.beta!r}")
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    [beta] = [kl.beta for kl in loaded.layers if isinstance(kl, subclassed.KLDivergenceLayer)]
    assert type(beta) is float and beta == 0.8, f"expected 0.8 loaded back, received {beta!r}"


@pytest.mark.slow
def test_kl_warmup_puts_a_variable_beta_back_for_saving(tmp_path):
    """The reference keeps beta in a keras.Variable: a warm-up longer than the training leaves
    it at the last epoch's fraction, and restore_beta sets the run's beta before saving."""
    import keras
    import numpy as np

    import keras_vae

    encoder = keras_vae.build_encoder((6,), 2, (4,))
    decoder = keras_vae.build_decoder(2, (6,), (4,))
    vae = keras_vae.build_vae(encoder, decoder, beta=0.8)
    annealed = callbacks.annealable_beta(keras_vae, vae)
    assert [original for _, original in annealed] == [None]
    config = TrainConfig(beta=0.8, kl_warmup_epochs=4, num_epochs=2)
    x = np.full((8, 6), 0.5, "float32")
    vae.fit(x, x, epochs=2, verbose=0,
            callbacks=callbacks.training_callbacks(config, annealed, 0))
    layer = annealed[0][0]
    assert abs(float(layer.beta) - 0.2) < 1e-6, float(layer.beta)
    callbacks.restore_beta(annealed, 0.8)
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    [beta] = [float(kl.beta) for kl in loaded._flatten_layers()
              if isinstance(kl, keras_vae.KLDivergenceLayer)]
    assert abs(beta - 0.8) < 1e-6, f"expected 0.8 saved, received {beta}"


@pytest.mark.slow
def test_kl_warmup_saves_the_run_with_its_own_float_beta(tmp_path):
    """A run of an implementation whose KL layer keeps a float beta, warmed up for longer than
    it trains, saves vae.keras with the --beta given, not the warm-up's last value 0."""
    import keras

    from tests.solutions import alternative

    out = str(tmp_path / "run")
    status, _, err, _ = command("keras_vae.train", *QUICK, "--epochs", "1", "--kl-warmup", "2",
                                "--beta", "0.5", "--impl", "tests.solutions.alternative",
                                "--out", out)
    assert (status, err) == (0, ""), err
    loaded = keras.saving.load_model(
        os.path.join(out, "vae.keras"), compile=False,
        custom_objects={"KLDivergenceLayer": alternative.KLDivergenceLayer,
                        "Sampling": alternative.Sampling})
    [beta] = [kl.beta for kl in loaded.layers if isinstance(kl, alternative.KLDivergenceLayer)]
    assert type(beta) is float and beta == 0.5, f"expected 0.5 saved, received {beta!r}"


@pytest.mark.slow
def test_training_command_writes_models_history_plots_and_figures(tmp_path):
    """A 2-D run in a subprocess: its whole output, the models, history, metrics and plots; its
    models load in a new Python after a plain `import keras_vae`."""
    import matplotlib.image
    import numpy as np

    from tests.test_models import load_in_a_fresh_process

    out = str(tmp_path / "run")
    status, printed, err, _ = command("keras_vae.train", *QUICK, "--epochs", "2",
                                      "--latent-dim", "2", "--out", out)
    assert (status, err) == (0, ""), err
    lines = printed.splitlines()
    assert lines[0].startswith("Device: CPU, none (1 replica), float32; data: embedded MNIST "
                               "sample, 4500 training, 500 validation, 1000 test images"), lines
    assert lines[-2].startswith("Test set (1000 images): negative ELBO ") and lines[-1] == (
        f"Run directory: {out}"), lines
    for name in ("vae.keras", "encoder.keras", "decoder.keras", "config.json", "metrics.json"):
        assert os.path.isfile(os.path.join(out, name)), f"missing {name}"
    models = [os.path.join(out, f"{name}.keras") for name in ("vae", "encoder", "decoder")]
    assert load_in_a_fresh_process("import keras_vae, keras", models) == (
        0, "vae\nencoder\ndecoder\n", [])
    for name in plots.FIGURES:
        image = matplotlib.image.imread(os.path.join(out, f"{name}.png"))
        assert image.ndim == 3 and image.shape[0] > 100 and image[..., :3].std() > 0.01, name
    rows = history_rows(out)
    assert len(rows) == 2 and {"loss", "reconstruction_loss", "kl_loss", "val_loss"} <= set(rows[0])
    metrics = atomic.read_json(os.path.join(out, "metrics.json"))
    assert np.isfinite(metrics["test_loss"]) and metrics["num_test_images"] == 1000
    assert metrics["test_iw_nll"] < metrics["test_loss"] + 1.0


SHAPE_BUG = '''
import keras_vae
from keras_vae import *  # noqa: F401,F403


def build_decoder(latent_dim, output_shape, hidden_units=(512,), likelihood="bernoulli"):
    return keras_vae.build_decoder(latent_dim, (output_shape[0] - 1,), hidden_units, likelihood)
'''


@pytest.mark.slow
def test_an_error_in_the_implementation_keeps_its_traceback(tmp_path):
    """A shape bug in the student's decoder fails fit with a traceback and exit 1, not 2."""
    (tmp_path / "shape_bug.py").write_text(textwrap.dedent(SHAPE_BUG))
    status, _, err, _ = command("keras_vae.train", *QUICK, "--epochs", "1", "--impl",
                                "shape_bug", "--out", str(tmp_path / "run"),
                                PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    assert status == 1 and err.startswith("Traceback (most recent call last):"), err
    assert "ValueError" in err.splitlines()[-1] and "error: Invalid value" not in err, err


@pytest.mark.slow
def test_nan_loss_stops_naming_the_epoch_that_failed(tmp_path, capsys):
    """A NaN loss in the first epoch stops training with exit 1 naming epoch 1."""
    out = str(tmp_path / "run")
    assert train.main(QUICK + ["--epochs", "2", "--impl", "tests.solutions.nan_loss",
                               "--out", out]) == 1
    err = capsys.readouterr().err
    assert "error: The loss became NaN or infinite in epoch 1;" in err, err
    assert not os.path.exists(os.path.join(out, "vae.keras"))


def with_callback(monkeypatch, **hooks):
    """Adds a `keras.callbacks.LambdaCallback(**hooks)` before the training command's own."""
    import keras

    original = callbacks.training_callbacks
    monkeypatch.setattr(callbacks, "training_callbacks", lambda *args: original(*args) + [
        keras.callbacks.LambdaCallback(**hooks)])
    return lambda: monkeypatch.setattr(callbacks, "training_callbacks", original)


@pytest.mark.slow
def test_sigterm_keeps_the_finished_epochs_and_the_same_command_resumes(tmp_path, monkeypatch,
                                                                         capsys):
    """SIGTERM in epoch 3 keeps 2 epochs and exits 143; the same command trains epochs 3 and 4."""
    out = str(tmp_path / "run")

    def terminate(epoch, logs=None):
        if epoch == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    restore = with_callback(monkeypatch, on_epoch_begin=terminate)
    assert train.main(QUICK + ["--epochs", "4", "--out", out]) == 143
    assert capsys.readouterr().err.strip().splitlines() == [
        f"Interrupted by SIGTERM: the finished epochs are kept in {out}; run the same command "
        "to resume."]
    assert [row["epoch"] for row in history_rows(out)] == ["0", "1"]
    restore()
    assert train.main(QUICK + ["--epochs", "4", "--out", out + "/"]) == 0
    assert "resuming after epoch 2" in capsys.readouterr().out
    assert [row["epoch"] for row in history_rows(out)] == ["0", "1", "2", "3"]
    assert not os.path.exists(os.path.join(out, "backup"))


@pytest.mark.slow
def test_ctrl_c_within_an_epoch_resumes_from_the_last_step_checkpoint(tmp_path, monkeypatch,
                                                                     capsys):
    """With --checkpoint-every-steps 32, Ctrl-C at step 96 of epoch 2 resumes at its step 64."""
    from keras_vae.training.checkpoints import LATEST

    out = str(tmp_path / "run")
    argv = QUICK + ["--epochs", "2", "--batch-size", "32", "--checkpoint-every-steps", "32",
                    "--out", out]

    def interrupt(batch, logs=None):
        # Epoch 2's third compiled call: the second epoch begins after epoch 1's 140 steps.
        interrupt.calls += 1
        if interrupt.calls == 5 + 3:
            raise KeyboardInterrupt
    interrupt.calls = 0

    restore = with_callback(monkeypatch, on_train_batch_end=interrupt)
    assert train.main(argv) == 130
    manifest = atomic.read_json(os.path.join(out, "backup", LATEST))
    assert (manifest["epoch"], manifest["step"]) == (1, 64), manifest
    assert [row["epoch"] for row in history_rows(out)] == ["0"]
    restore()
    capsys.readouterr()
    assert train.main(argv) == 0
    assert "resuming after epoch 1 and 64 steps of the next" in capsys.readouterr().out
    assert [row["epoch"] for row in history_rows(out)] == ["0", "1"]


@pytest.mark.slow
def test_overwrite_retrains_a_finished_run(tmp_path, capsys):
    """A finished run: the same command says so (exit 0), --overwrite retrains; a lock file
    left by a dead process blocks nothing."""
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text("process 999999 on a-dead-host (started 2020-01-01 00:00:00)\n")
    argv = QUICK + ["--epochs", "1", "--out", str(out)]
    assert train.main(argv) == 0
    model = (out / "vae.keras").read_bytes()
    capsys.readouterr()
    assert train.main(argv) == 0
    assert capsys.readouterr().out.startswith(f"The run in {out} is already finished")
    assert train.main(QUICK + ["--epochs", "1", "--latent-dim", "3", "--out", str(out),
                               "--overwrite"]) == 0
    assert [row["epoch"] for row in history_rows(out)] == ["0"]
    assert json.loads((out / "config.json").read_text())["latent_dim"] == 3
    assert (out / "vae.keras").read_bytes() != model


@pytest.mark.slow
def test_convolutional_gaussian_run_with_warmup_schedule_and_early_stopping(tmp_path):
    """The conv architecture, Gaussian likelihood, KL warm-up, cosine decay and early stopping run."""
    out = str(tmp_path / "run")
    assert train.main(QUICK + ["--epochs", "3", "--architecture", "conv", "--likelihood",
                               "gaussian", "--sigma", "0.3", "--kl-warmup", "2",
                               "--lr-schedule", "cosine", "--early-stopping", "2",
                               "--out", out]) == 0
    assert len(history_rows(out)) == 3


@pytest.mark.slow
def test_a_subclassed_solution_works_with_every_command(tmp_path):
    """tests/solutions/subclassed.py (subclassed models, tuple outputs, a float beta) trains with
    warm-up, cosine decay, early stopping and TensorBoard, then evaluates and samples; every
    command's whole output is checked."""
    import matplotlib.image
    import numpy as np

    out = str(tmp_path / "run")
    status, printed, err, _ = command(
        "keras_vae.train", *QUICK, "--epochs", "2", "--latent-dim", "2", "--impl",
        "tests.solutions.subclassed", "--kl-warmup", "2", "--lr-schedule", "cosine",
        "--early-stopping", "2", "--checkpoint-every-steps", "32", "--tensorboard", "--out", out)
    assert status == 0 and err == (
        "warning: VAE does not implement get_config(), so Keras cannot write vae.keras; its "
        f"weights are in {out}/vae.weights.h5.\n"), err
    assert printed.splitlines()[-1] == f"Run directory: {out}", printed
    for name in plots.FIGURES:
        image = matplotlib.image.imread(os.path.join(out, f"{name}.png"))
        assert image.shape[0] > 100 and image[..., :3].std() > 0.01, name
    status, printed, err, _ = command("keras_vae.evaluate", out, "--iw-samples", "3")
    assert (status, err) == (0, ""), err
    figures = json.loads(printed)
    assert figures["num_iw_samples"] == 3 and np.isfinite(figures["test_iw_nll"]), figures
    status, printed, err, _ = command("keras_vae.sample", out, "--num-rows", "4")
    assert (status, printed, err) == (0, os.path.join(out, "samples.png") + "\n", ""), err
    assert matplotlib.image.imread(os.path.join(out, "samples.png")).shape[0] > 100

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set()
    for folder in ("train", "validation", "images"):
        events = EventAccumulator(os.path.join(out, "logs", folder),
                                  size_guidance={"tensors": 0})
        events.Reload()
        tags |= {f"{folder}/{tag}" for tag in events.Tags()["tensors"]}
    assert {"train/epoch_loss", "validation/epoch_loss", "images/reconstructions",
            "images/prior_samples", "images/manifold"} <= tags, tags


@pytest.mark.slow
def test_evaluate_and_sample_commands_read_a_reference_run(tmp_path):
    """evaluate prints only JSON on stdout; sample writes a grid and prints its path."""
    import matplotlib.image

    out = str(tmp_path / "run")
    assert command("keras_vae.train", *QUICK, "--epochs", "1", "--out", out)[0] == 0
    status, printed, err, _ = command("keras_vae.evaluate", out)
    assert (status, err) == (0, "") and json.loads(printed)["num_iw_samples"] == 5, err
    status, printed, err, _ = command("keras_vae.sample", out, "--out", str(tmp_path / "s.png"))
    assert (status, printed, err) == (0, f"{tmp_path / 's.png'}\n", ""), err
    assert matplotlib.image.imread(tmp_path / "s.png").shape[0] > 100


@pytest.mark.slow
def test_the_default_dataset_offline_says_why_in_one_line(tmp_path):
    """The default dataset (keras.datasets, unreachable here through a closed proxy) loads
    TensorFlow quietly: stderr is empty (no download notice for a download that never began),
    and stdout begins with one line giving the network's own error and the fallback."""
    status, out, err, _ = command(
        "keras_vae.train", "--epochs", "1", "--hidden-units", "64", "--iw-samples", "5",
        "--out", str(tmp_path / "run"), KERAS_HOME=str(tmp_path / "keras"),
        HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    assert (status, err) == (0, ""), err
    assert out.splitlines()[0] == (
        "Could not download mnist ([Errno 111] Connection refused); using the embedded MNIST "
        "sample (5,000 training and 1,000 test images) instead."), out


@pytest.mark.slow
def test_a_gaussian_run_says_why_its_negative_elbo_can_be_negative(tmp_path):
    """After the test metrics, a Gaussian run prints one note: a density, its constant for the
    --sigma given, not comparable with a Bernoulli run."""
    out = str(tmp_path / "run")
    status, printed, err, _ = command("keras_vae.train", *QUICK, "--epochs", "1", "--likelihood",
                                      "gaussian", "--sigma", "0.1", "--out", out)
    assert (status, err) == (0, ""), err
    lines = printed.splitlines()
    assert lines[-3].startswith("Test set (1000 images): negative ELBO "), lines
    assert lines[-2] == (
        "Note: with --likelihood gaussian, -log p(x|z) is a density of grey pixels, not the "
        "probability of binary ones: its constant 784 * log(sigma * sqrt(2 pi)) is -1084.8 nats "
        "for --sigma 0.1, so it is negative wherever the density exceeds 1, and it changes with "
        "--sigma. It cannot be compared with a Bernoulli run's negative ELBO, which is never "
        "negative."), lines
    assert lines[-1] == f"Run directory: {out}", lines
    status, printed, err, _ = command("keras_vae.evaluate", out, "--iw-samples", "2")
    assert (status, err) == (0, lines[-2] + "\n"), err
    assert json.loads(printed)["num_iw_samples"] == 2
