"""The training, evaluation and sampling commands, end to end on the embedded sample."""

import csv
import json
import os

import matplotlib.image
import numpy as np
import pytest

from keras_vae import evaluate, sample, train

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


def test_interrupted_run_resumes_from_its_last_finished_epoch(tmp_path, monkeypatch, capsys):
    """Ctrl-C after epoch 2 keeps 2 epochs; the same command then trains only epochs 3 and 4."""
    import keras

    out = str(tmp_path / "run")
    original = train._callbacks

    def interrupt_after_two(config, vae, num_val):
        def stop(epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt
        return original(config, vae, num_val) + [keras.callbacks.LambdaCallback(on_epoch_end=stop)]

    monkeypatch.setattr(train, "_callbacks", interrupt_after_two)
    assert train.main(QUICK + ["--epochs", "4", "--out", out]) == 130
    assert len(history_rows(out)) == 2 and os.path.isdir(os.path.join(out, "backup"))
    monkeypatch.setattr(train, "_callbacks", original)
    capsys.readouterr()
    assert train.main(QUICK + ["--epochs", "4", "--out", out]) == 0
    assert "resuming" in capsys.readouterr().out
    assert [row["epoch"] for row in history_rows(out)] == ["0", "1", "2", "3"]
    assert train.main(QUICK + ["--epochs", "4", "--latent-dim", "3", "--out", out]) == 0


def test_resume_refuses_a_different_config(tmp_path, monkeypatch, capsys):
    """An unfinished run is not resumed with other settings: exit 2 naming `out`."""
    out = tmp_path / "run"
    (out / "backup").mkdir(parents=True)
    (out / "config.json").write_text(json.dumps({"latent_dim": 5}))
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
