"""The sampling command's argument checks, before TensorFlow loads (whole runs: test_train)."""

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
