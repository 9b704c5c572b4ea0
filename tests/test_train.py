"""The training, evaluation and sampling commands, end to end on the embedded sample."""

import csv
import json
import os
import signal

import matplotlib.image
import numpy as np
import pytest

from keras_vae import evaluate, rundir, sample, train

QUICK = ["--dataset", "sample", "--hidden-units", "64", "--iw-samples", "5"]


def history_rows(run_dir):
    with open(os.path.join(run_dir, "history.csv")) as file:
        return list(csv.DictReader(file))


def test_training_command_writes_models_history_plots_and_figures(tmp_path, capsys):
    """A 2-D run writes the models, history, config, metrics and five real plots."""
    out = str(tmp_path / "run")
    assert train.main(QUICK + ["--epochs", "2", "--latent-dim", "2", "--out", out]) == 0
    printed = capsys.readouterr()
    assert "Device: CPU" in printed.out and "negative ELBO" in printed.out
    for name in ("vae.keras", "encoder.keras", "decoder.keras", "config.json", "metrics.json"):
        assert os.path.isfile(os.path.join(out, name)), f"missing {name}"
    for name in train.FIGURES:
        image = matplotlib.image.imread(os.path.join(out, f"{name}.png"))
        assert image.ndim == 3 and image.shape[0] > 100 and image[..., :3].std() > 0.01, name
    rows = history_rows(out)
    assert len(rows) == 2 and {"loss", "reconstruction_loss", "kl_loss", "val_loss"} <= set(rows[0])
    with open(os.path.join(out, "metrics.json")) as file:
        metrics = json.load(file)
    assert np.isfinite(metrics["test_loss"]) and metrics["num_test_images"] == 1000
    assert metrics["test_iw_nll"] < metrics["test_loss"] + 1.0


def test_evaluate_and_sample_commands_read_a_run(tmp_path, capsys):
    """evaluate prints the test figures as JSON; sample writes a grid of digits."""
    out = str(tmp_path / "run")
    assert train.main(QUICK + ["--epochs", "1", "--out", out]) == 0
    capsys.readouterr()
    assert evaluate.main([out, "--num-samples", "3"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["num_iw_samples"] == 3 and np.isfinite(figures["test_iw_nll"])
    assert sample.main([out, "--num-rows", "4"]) == 0
    assert matplotlib.image.imread(os.path.join(out, "samples.png")).shape[0] > 100


def test_evaluate_and_sample_refuse_an_unfinished_run_in_one_line(tmp_path, capsys):
    """A run directory without models: evaluate and sample exit 2 naming `run_dir`."""
    out = tmp_path / "run"
    (out / "backup").mkdir(parents=True)
    (out / "config.json").write_text(json.dumps({"hidden_units": [64]}))
    for command in (evaluate.main, sample.main):
        assert command([str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith(
            "error: Invalid value for `run_dir`: expected a "), err


@pytest.mark.parametrize("argv, name", [
    (["--latent-dim", "0"], "latent_dim"),
    (["--hidden-units", "64,x"], "hidden_units"),
    (["--hidden-units", "0"], "hidden_units"),
    (["--sigma", "-1"], "sigma"),
    (["--beta", "-0.5"], "beta"),
    (["--likelihood", "poisson"], "likelihood"),
    (["--dataset", "cifar10"], "dataset"),
    (["--architecture", "rnn"], "architecture"),
    (["--data-path", "/nonexistent/mnist.npz"], "data_path"),
    (["--epochs", "0"], "num_epochs"),
    (["--likelihood", "gaussian", "--binarize", "dynamic"], "binarize"),
    (["--impl", "no_such_module"], "impl"),
    (["--checkpoint-every-steps", "-1"], "checkpoint_every_steps"),
    (["--checkpoint-every-minutes", "-2"], "checkpoint_every_minutes"),
])
def test_bad_input_prints_one_line_and_exits_2_before_training(tmp_path, capsys, argv, name):
    """Bad input: one line on stderr naming the argument, exit status 2, no run directory."""
    out = tmp_path / "run"
    assert train.main(QUICK + argv + ["--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: Invalid value for `{name}`")
    assert not out.exists()


def test_nan_loss_stops_with_a_clear_message(tmp_path, capsys):
    """A NaN loss stops training with exit status 1 and says what to try."""
    out = str(tmp_path / "run")
    assert train.main(QUICK + ["--epochs", "2", "--impl", "tests.solutions.nan_loss",
                               "--out", out]) == 1
    assert "NaN" in capsys.readouterr().err
    assert not os.path.exists(os.path.join(out, "vae.keras"))


def with_callback(monkeypatch, **hooks):
    """Adds a `keras.callbacks.LambdaCallback(**hooks)` before the training command's own."""
    import keras

    original = train._callbacks
    monkeypatch.setattr(train, "_callbacks", lambda *args: original(*args) + [
        keras.callbacks.LambdaCallback(**hooks)])
    return lambda: monkeypatch.setattr(train, "_callbacks", original)


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
    assert train.main(QUICK + ["--epochs", "4", "--out", out]) == 0
    assert "resuming after epoch 2" in capsys.readouterr().out
    assert [row["epoch"] for row in history_rows(out)] == ["0", "1", "2", "3"]
    assert not os.path.exists(os.path.join(out, "backup"))


@pytest.mark.slow
def test_ctrl_c_within_an_epoch_resumes_from_the_last_step_checkpoint(tmp_path, monkeypatch,
                                                                     capsys):
    """With --checkpoint-every-steps 32, Ctrl-C at step 96 of epoch 2 resumes at its step 64."""
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
    manifest = rundir.read_json(os.path.join(out, "backup", rundir.LATEST))
    assert (manifest["epoch"], manifest["step"]) == (1, 64), manifest
    assert [row["epoch"] for row in history_rows(out)] == ["0"]
    restore()
    capsys.readouterr()
    assert train.main(argv) == 0
    assert "resuming after epoch 1 and 64 steps of the next" in capsys.readouterr().out
    assert [row["epoch"] for row in history_rows(out)] == ["0", "1"]


def test_a_finished_run_is_not_trained_over_without_overwrite(tmp_path, capsys):
    """A finished run: the same command says so (exit 0), another config exits 2, --overwrite
    retrains; a lock file left by a dead process blocks nothing."""
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text("process 999999 on a-dead-host (started 2020-01-01 00:00:00)\n")
    argv = QUICK + ["--epochs", "1", "--out", str(out)]
    assert train.main(argv) == 0
    model = (out / "vae.keras").read_bytes()
    capsys.readouterr()
    assert train.main(argv) == 0
    printed = capsys.readouterr()
    assert printed.out.strip().splitlines() == [
        f"The run in {out} is already finished: its models, plots and metrics.json are there. "
        "Add --overwrite to train it anew."] and printed.err == ""
    assert train.main(QUICK + ["--epochs", "2", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: Invalid value for `out`: expected a new run directory, the run's own settings, "
        f"or --overwrite to replace it, received '{out} holding a finished run that differs in "
        "num_epochs'.")
    assert (out / "vae.keras").read_bytes() == model
    assert train.main(QUICK + ["--epochs", "1", "--latent-dim", "3", "--out", str(out),
                               "--overwrite"]) == 0
    assert [row["epoch"] for row in history_rows(out)] == ["0"]
    assert json.loads((out / "config.json").read_text())["latent_dim"] == 3
    assert (out / "vae.keras").read_bytes() != model


def test_a_run_directory_in_use_is_left_alone(tmp_path, capsys):
    """While another holder has the lock: exit 2, one line naming it, nothing changed."""
    out = tmp_path / "run"
    with rundir.lock(str(out)):
        before = {path.name: path.read_bytes() for path in out.iterdir()}
        assert train.main(QUICK + ["--epochs", "1", "--out", str(out)]) == 2
        assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    printed = capsys.readouterr()
    holder = before[".lock"].decode().strip()
    assert holder.startswith(f"process {os.getpid()} on "), holder
    assert printed.out == "" and printed.err.splitlines() == [
        f"error: {out} is in use by {holder}; wait for it to finish, or stop it and run this "
        "command again."]


def test_resume_refuses_a_different_config(tmp_path, monkeypatch, capsys):
    """An unfinished run is not resumed with other settings: exit 2 naming `out`."""
    out = tmp_path / "run"
    (out / "backup").mkdir(parents=True)
    (out / "config.json").write_text(json.dumps({"latent_dim": 5, "hidden_units": [64]}))
    assert train.main(QUICK + ["--epochs", "1", "--out", str(out)]) == 2
    assert "Invalid value for `out`" in capsys.readouterr().err


def test_training_command_runs_a_student_implementation(tmp_path):
    """--impl trains a differently written solution and plots what it reports."""
    out = str(tmp_path / "run")
    assert train.main(QUICK + ["--epochs", "1", "--impl", "tests.solutions.alternative",
                               "--out", out]) == 0
    assert os.path.isfile(os.path.join(out, "loss_curves.png"))


@pytest.mark.slow
def test_convolutional_gaussian_run_with_warmup_schedule_and_early_stopping(tmp_path):
    """The conv architecture, Gaussian likelihood, KL warm-up, cosine decay and early stopping run."""
    out = str(tmp_path / "run")
    assert train.main(QUICK + ["--epochs", "3", "--architecture", "conv", "--likelihood",
                               "gaussian", "--sigma", "0.3", "--kl-warmup", "2",
                               "--lr-schedule", "cosine", "--early-stopping", "2",
                               "--out", out]) == 0
    assert len(history_rows(out)) == 3


def test_evaluate_prints_only_json_on_stdout_when_offline(tmp_path, monkeypatch, capsys):
    """Offline, evaluate's stdout is pure JSON: download notices go to stderr."""
    import keras

    def fail():
        print("Downloading data from https://example.invalid/mnist.npz")
        raise Exception("URL fetch failure")

    out = str(tmp_path / "run")
    assert train.main(["--hidden-units", "32", "--iw-samples", "2", "--epochs", "1",
                       "--out", out, "--dataset", "sample"]) == 0
    with open(os.path.join(out, "config.json")) as file:
        config = json.load(file)
    config["dataset"] = "mnist"
    with open(os.path.join(out, "config.json"), "w") as file:
        json.dump(config, file)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", fail)
    capsys.readouterr()
    assert evaluate.main([out, "--num-samples", "2"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["num_test_images"] == 1000
    assert "Downloading" in printed.err and "embedded MNIST sample" in printed.err
