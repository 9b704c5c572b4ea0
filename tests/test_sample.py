"""The sampling command: its argument checks, before TensorFlow loads, and its draws from a
run's decoder (whole trained runs: test_train)."""

import json

import pytest

from keras_vae import sample


def test_an_unfinished_run_is_refused_in_one_line(tmp_path, capsys):
    """A run directory without models: exit 2 naming RUN_DIR, one line."""
    (tmp_path / "backup").mkdir()
    (tmp_path / "config.json").write_text(json.dumps({"hidden_units": [64]}))
    assert sample.main([str(tmp_path)]) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err.startswith(
        "error: Invalid value for `RUN_DIR`: expected a finished run directory holding "
        "config.json, encoder.keras, decoder.keras, received "), printed.err
    assert len(printed.err.splitlines()) == 1


@pytest.mark.parametrize("argv, flag", [(["--num-rows", "0"], "--num-rows"),
                                        (["--num-rows", "101"], "--num-rows"),
                                        (["--out", "/no/such/folder/s.png"], "--out"),
                                        (["--out", "grid"], "--out"),
                                        (["--out", "grid.jpg"], "--out"),
                                        (["--seed", "-1"], "--seed")])
def test_bad_flags_name_the_flag(tmp_path, capsys, argv, flag):
    """Bad flags: exit 2 and one line naming the flag as typed."""
    for name in ("config.json", "encoder.keras", "decoder.keras"):
        (tmp_path / name).write_text("{}")
    assert sample.main([str(tmp_path)] + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: Invalid value for `{flag}`: expected ") and err.count("\n") == 1


def finished_run(run_dir, latent_dim=2):
    """A run directory with a config and untrained reference models: what sampling reads."""
    import keras_vae
    from keras_vae.training.config import TrainConfig
    from keras_vae.training.rundir import RunDir

    config = TrainConfig(out=str(run_dir), latent_dim=latent_dim, hidden_units=(8,))
    run_dir.mkdir()
    RunDir(run_dir).write_config(config)
    keras_vae.build_encoder((784,), latent_dim, (8,)).save(run_dir / "encoder.keras")
    decoder = keras_vae.build_decoder(latent_dim, (784,), (8,))
    decoder.save(run_dir / "decoder.keras")
    return config, decoder


def test_samples_are_new_digits_unless_a_seed_is_given(tmp_path, capsys):
    """Without --seed each call draws new digits, so samples.png is not the run's
    prior_samples.png; --seed draws the same digits again, and the run's seed draws those of
    prior_samples.png, byte for byte."""
    from keras_vae import plots

    config, decoder = finished_run(tmp_path / "run")
    paths = [tmp_path / f"{name}.png" for name in ("first", "second", "seeded", "again")]
    for path, seed in zip(paths, [[], [], ["--seed", str(config.seed)],
                                  ["--seed", str(config.seed)]]):
        assert sample.main([str(tmp_path / "run"), "--num-rows", "3", "--out", str(path)]
                           + seed) == 0
    assert capsys.readouterr().out.split() == [str(path) for path in paths]
    first, second, seeded, again = (path.read_bytes() for path in paths)
    prior_samples = plots.png_bytes(plots.plot_prior_samples(decoder, 3, config.seed, 2))
    assert first != second and prior_samples not in (first, second)
    assert seeded == again == prior_samples


def test_a_grid_past_the_largest_is_refused_in_a_terminal(tmp_path):
    """`--num-rows 1000` (a million digits, gigabytes): one line naming the flag and the
    largest grid, exit 2, before the run directory is read."""
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-m", "keras_vae.sample", str(tmp_path),
                             "--num-rows", "1000"], cwd=root, capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", (
        "error: Invalid value for `--num-rows`: expected an integer from 1 to 100, received "
        "1000.\n"))
