"""Run directories written by an earlier release still load, evaluate and resume.

`tests/fixtures/release_77633a5/` (its README says how it was made) holds a finished run, whose
`.keras` files name the classes' modules of the flat layout (`keras_vae.layers`,
`keras_vae.models`), and an unfinished run killed as its second checkpoint was written. The
commands are run as a terminal runs them, on copies.
"""

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest

from keras_vae import train
from keras_vae.training.rundir import RunDir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "release_77633a5")
# The flags the fixture's runs were trained with (its README), but for --epochs and --out.
ARGUMENTS = ["--dataset", "sample", "--latent-dim", "2", "--hidden-units", "4", "--iw-samples", "3"]


def copy(name, tmp_path):
    return shutil.copytree(os.path.join(FIXTURES, name), tmp_path / name)


def command(*args, timeout=300):
    result = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=timeout)
    return result.returncode, result.stdout, result.stderr


def history_epochs(run_dir):
    with open(RunDir(run_dir).history_file, newline="") as file:
        return [row["epoch"] for row in csv.DictReader(file)]


def test_the_same_command_line_finds_the_old_runs_finished_and_unfinished(tmp_path):
    """The old `config.json` files read as today's `TrainConfig`, and the command line that
    made them matches them: the finished run is finished, the killed one resumable."""
    for name, epochs, expected in (("finished", "2", "finished"),
                                   ("unfinished", "3", "unfinished")):
        run_dir = copy(name, tmp_path)
        config, _ = train.parse_args(ARGUMENTS + ["--epochs", epochs, "--out", str(run_dir)])
        assert RunDir(run_dir).state(config) == expected
    assert RunDir(tmp_path / "finished").check_finished().num_iw_samples == 3
    other, _ = train.parse_args(ARGUMENTS + ["--epochs", "3", "--latent-dim", "3",
                                         "--out", str(tmp_path / "unfinished")])
    with pytest.raises(ValueError, match="differs in latent_dim"):
        RunDir(tmp_path / "unfinished").state(other)


@pytest.mark.slow
def test_old_keras_files_load_after_import_keras_vae_in_a_fresh_process():
    """As a Keras user loads them: `import keras_vae`, then `keras.saving.load_model`."""
    program = ("import keras_vae, keras, sys\n"
               "for name in ('vae', 'encoder', 'decoder'):\n"
               "    model = keras.saving.load_model(sys.argv[1] + f'/{name}.keras')\n"
               "    print(name, type(model).__name__, model.count_params())\n"
               "vae = keras.saving.load_model(sys.argv[1] + '/vae.keras')\n"
               "print(sorted({f'{type(layer).__module__}.{type(layer).__name__}' for layer in "
               "vae._flatten_layers() if type(layer).__module__.startswith('keras_vae')}))\n")
    result = subprocess.run([sys.executable, "-c", program, os.path.join(FIXTURES, "finished")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    *lines, vae_layers = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["vae", "Functional"], ["encoder", "Functional"], ["decoder", "Functional"]]
    # Parameters: encoder 784*4+4 + 2*(4*2+2), decoder 2*4+4 + 4*784+784, and the VAE both
    # with the KL layer's beta.
    assert [int(line.split()[2]) for line in lines] == [3160 + 3932 + 1, 3160, 3932]
    # The classes saved under keras_vae.layers come back as today's reference classes.
    assert vae_layers == ("['keras_vae.reference.layers.KLDivergenceLayer', "
                          "'keras_vae.reference.layers.Sampling']")


@pytest.mark.slow
def test_the_old_finished_run_evaluates_and_is_not_trained_again(tmp_path):
    run_dir = copy("finished", tmp_path)
    status, printed, err = command("keras_vae.evaluate", str(run_dir))
    assert status == 0, err
    metrics = json.loads(printed)
    saved = json.loads((run_dir / "metrics.json").read_text())
    # Both are one-sample Monte Carlo estimates of the same test negative ELBO over 1,000
    # images, so they agree closely; the models are the old ones, not retrained.
    assert metrics["num_iw_samples"] == 3
    assert abs(metrics["test_loss"] - saved["test_loss"]) < 0.01 * saved["test_loss"]
    before = {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()}
    status, printed, err = command("keras_vae.train", *ARGUMENTS, "--epochs", "2",
                                   "--out", str(run_dir))
    assert (status, err) == (0, "")
    assert printed == (f"The run in {run_dir} is already finished: its models, plots and "
                       "metrics.json are there. Add --overwrite to train it anew.\n")
    after = {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()}
    assert {name: after[name] for name in before} == before


@pytest.mark.slow
def test_the_old_unfinished_run_resumes_after_its_last_checkpoint_and_finishes(tmp_path):
    run_dir = copy("unfinished", tmp_path)
    manifest = json.loads((run_dir / "backup" / "checkpoint.json").read_text())
    assert history_epochs(run_dir) == ["0"]  # Killed before history.csv caught up.
    status, printed, err = command("keras_vae.train", *ARGUMENTS, "--epochs", "3",
                                   "--out", str(run_dir))
    assert status == 0, err
    assert "; resuming after epoch 2\n" in printed
    assert "Epoch 3/3" in printed and "Epoch 1/3" not in printed and "Epoch 2/3" not in printed
    assert history_epochs(run_dir) == ["0", "1", "2"]
    with open(RunDir(run_dir).history_file, newline="") as file:
        rows = list(csv.DictReader(file))
    for row, old in zip(rows, manifest["history"]):
        assert float(row["loss"]) == old["loss"]
    assert RunDir(run_dir).is_finished() and not os.path.exists(run_dir / "backup")
