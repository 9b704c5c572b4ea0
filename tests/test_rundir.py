"""The run-state and config-compatibility rules of a run directory, without training.

`RunDir.state` decides whether a command line starts a new run, resumes an unfinished one or
finds a finished one; `config.differences` decides which changed settings a run accepts. The
whole commands are tested in `tests/test_train.py` and `tests/test_faults.py`.
"""

import dataclasses
import json
import math
import os

import pytest

from keras_vae.training.config import RESUMABLE_CHANGES, TrainConfig, differences
from keras_vae.training.rundir import RunDir

CONFIG = TrainConfig(dataset="sample", latent_dim=2, num_epochs=3, impl="keras_vae")


def unfinished(path, config=CONFIG):
    run_dir = RunDir(path)
    os.makedirs(run_dir.backup)
    run_dir.write_config(config)
    return run_dir


def finished(path, config=CONFIG):
    run_dir = RunDir(path)
    os.makedirs(run_dir.path)
    run_dir.write_config(config)
    run_dir.write_metrics({"test_loss": 1.0})
    return run_dir


def test_a_run_directory_names_every_file_it_holds(tmp_path):
    run_dir = RunDir(tmp_path / "run")
    assert str(run_dir) == str(tmp_path / "run")
    assert [os.path.relpath(path, run_dir.path) for path in (
        run_dir.config_file, run_dir.history_file, run_dir.metrics_file, run_dir.backup,
        run_dir.logs, run_dir.vae_weights_file, run_dir.model_file("encoder"),
        run_dir.figure_file("manifold"))] == [
        "config.json", "history.csv", "metrics.json", "backup", "logs", "vae.weights.h5",
        "encoder.keras", "manifold.png"]


def test_an_empty_or_config_only_directory_is_a_new_run(tmp_path):
    assert RunDir(tmp_path / "missing").state(CONFIG) == "new"
    run_dir = RunDir(tmp_path / "run")
    os.makedirs(run_dir.path)
    assert run_dir.state(CONFIG) == "new"
    run_dir.write_config(dataclasses.replace(CONFIG, latent_dim=9))
    # A config.json without checkpoints or metrics: killed before its first checkpoint.
    assert run_dir.state(CONFIG) == "new"


def test_checkpoints_make_an_unfinished_run_and_metrics_a_finished_one(tmp_path):
    assert unfinished(tmp_path / "a").state(CONFIG) == "unfinished"
    assert finished(tmp_path / "b").state(CONFIG) == "finished"


@pytest.mark.parametrize("field, value", [
    ("num_epochs", 10), ("checkpoint_every_steps", 5), ("checkpoint_every_minutes", 2.0),
    ("distribute", "mirrored"), ("tensorboard", True), ("out", "elsewhere")])
def test_an_unfinished_run_resumes_with_more_epochs_other_checkpoints_devices_or_place(
        tmp_path, field, value):
    changed = dataclasses.replace(CONFIG, **{field: value})
    assert unfinished(tmp_path / "run").state(changed) == "unfinished"


@pytest.mark.parametrize("field, value, values", [
    ("latent_dim", 3, "2 in the run, 3 given"), ("beta", 0.5, "1.0 in the run, 0.5 given"),
    ("learning_rate", 0.01, "0.001 in the run, 0.01 given"), ("seed", 1, "0 in the run, 1 given"),
    ("hidden_units", (8, 4), "512 in the run, 8,4 given"),
    ("likelihood", "gaussian", "bernoulli in the run, gaussian given"),
    ("impl", "assignments", "keras_vae in the run, assignments given"),
    ("mixed_precision", True, "False in the run, True given"),
    ("num_iw_samples", 7, "100 in the run, 7 given"),
    ("data_path", "digits.npz", "none in the run, digits.npz given")])
def test_an_unfinished_run_refuses_a_change_of_what_it_trains(tmp_path, field, value, values):
    """The error names each differing setting with the run's value and the one given."""
    run_dir = unfinished(tmp_path / "run")
    changed = dataclasses.replace(CONFIG, **{field: value})
    with pytest.raises(ValueError) as raised:
        run_dir.state(changed, name="--out")
    assert str(raised.value) == (
        "Invalid value for `--out`: expected a new run directory, the run's own settings, or "
        f"--overwrite to replace it, received '{run_dir}', which holds an unfinished run that "
        f"differs in {field} ({values}).")


def test_a_finished_run_is_the_same_run_only_with_as_many_epochs(tmp_path):
    """More epochs than a finished run's: refused, saying how to train them, with the flags a
    user types where they are given."""
    run_dir = finished(tmp_path / "run")
    assert run_dir.state(dataclasses.replace(CONFIG, checkpoint_every_steps=9)) == "finished"
    with pytest.raises(ValueError) as raised:
        run_dir.state(dataclasses.replace(CONFIG, num_epochs=4, beta=2.0),
                      flag_names={"num_epochs": "--epochs", "out": "--out"})
    assert str(raised.value) == (
        "Invalid value for `out`: expected a new run directory, the run's own settings, or "
        f"--overwrite to replace it, received '{run_dir}', which holds a finished run that "
        "differs in beta (1.0 in the run, 2.0 given), --epochs (3 in the run, 4 given) and "
        "trains no further: give another --out to train 4 epochs.")


def test_settings_left_to_the_machine_match_any_saved_value():
    for saved, asked in (({"distribute": "mirrored"}, {"distribute": "auto"}),
                         ({"distribute": "auto"}, {"distribute": "none"}),
                         ({"mixed_precision": True}, {"mixed_precision": None}),
                         ({"mixed_precision": None}, {"mixed_precision": False})):
        assert differences(dataclasses.replace(CONFIG, **saved),
                           dataclasses.replace(CONFIG, **asked), finished=True) == []
    assert differences(dataclasses.replace(CONFIG, mixed_precision=True),
                       dataclasses.replace(CONFIG, mixed_precision=False), False) == [
        "mixed_precision"]


def test_differences_lists_every_field_that_differs_in_field_order():
    changed = dataclasses.replace(CONFIG, seed=4, beta=2.0, latent_dim=5, num_epochs=9)
    assert differences(CONFIG, changed, finished=False) == ["beta", "latent_dim", "seed"]
    assert differences(CONFIG, changed, finished=True) == [
        "beta", "latent_dim", "num_epochs", "seed"]
    assert set(RESUMABLE_CHANGES) <= {field.name for field in dataclasses.fields(TrainConfig)}


def test_a_config_json_with_unknown_or_missing_keys_reads_as_todays_config(tmp_path):
    run_dir = RunDir(tmp_path)
    saved = dict(dataclasses.asdict(CONFIG), hidden_units=[16, 8], a_key_from_later=1)
    del saved["tensorboard"]
    with open(run_dir.config_file, "w") as file:
        json.dump(saved, file)
    assert run_dir.read_config() == dataclasses.replace(CONFIG, hidden_units=(16, 8))


@pytest.mark.parametrize("text", ["{not json", "null", "[]", '{"impl": 5, "seed": "x"}'])
def test_an_unreadable_config_json_names_the_argument(tmp_path, text):
    run_dir = RunDir(tmp_path)
    with open(run_dir.config_file, "w") as file:
        file.write(text)
    for name in ("encoder", "decoder"):
        open(run_dir.model_file(name), "w").close()
    with pytest.raises(ValueError, match=r"^Invalid value for `(RUN_DIR|impl)`: expected a "):
        config = run_dir.check_finished("RUN_DIR")
        config.validate()


def test_check_finished_needs_the_config_and_both_models(tmp_path):
    run_dir = finished(tmp_path / "run")
    with pytest.raises(ValueError) as raised:
        run_dir.check_finished("RUN_DIR")
    assert str(raised.value) == (
        "Invalid value for `RUN_DIR`: expected a finished run directory holding config.json, "
        f"encoder.keras, decoder.keras, received '{run_dir}'.")
    for name in ("encoder", "decoder"):
        open(run_dir.model_file(name), "w").close()
    assert run_dir.check_finished() == CONFIG


def test_history_round_trips_through_history_csv(tmp_path):
    run_dir = RunDir(tmp_path)
    run_dir.write_history([{"epoch": 0, "loss": 2.5, "kl_loss": 0.25},
                           {"epoch": 1, "loss": 1.5, "kl_loss": 0.5}])
    assert open(run_dir.history_file).readline() == "epoch,kl_loss,loss\n"
    assert run_dir.read_history() == {"kl_loss": [0.25, 0.5], "loss": [2.5, 1.5]}
    run_dir.remove_history()
    run_dir.remove_history()  # Already gone: nothing to do.
    assert not os.path.exists(run_dir.history_file)


def test_epochs_that_logged_fewer_metrics_read_as_nan(tmp_path):
    """A run resumed by a version that logs more metrics reads its earlier epochs' missing
    values as NaN, not an error."""
    run_dir = RunDir(tmp_path)
    run_dir.write_history([{"epoch": 0, "loss": 2.5},
                           {"epoch": 1, "loss": 1.5, "kl_loss": 0.5}])
    history = run_dir.read_history()
    assert history["loss"] == [2.5, 1.5] and history["kl_loss"][1] == 0.5
    assert math.isnan(history["kl_loss"][0]), history
