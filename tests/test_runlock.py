"""The run directory's lock and `--overwrite`'s setting aside, without training.

The whole command's use of them (a second process, a typo with --overwrite, a kill) is tested in
`tests/test_train.py` and `tests/test_faults.py`.
"""

import dataclasses
import os

import pytest

from keras_vae.training import runlock
from keras_vae.training.rundir import RunDir
from tests.test_rundir import CONFIG, finished


def test_the_lock_is_held_by_one_holder_and_a_failed_start_leaves_no_directory(tmp_path):
    run_dir = RunDir(tmp_path / "run")
    with runlock.lock(run_dir):
        with pytest.raises(runlock.RunDirectoryBusy, match=rf"^{run_dir} is in use by process "
                                                   rf"{os.getpid()} on "):
            with runlock.lock(run_dir):
                pass
    with runlock.lock(run_dir):  # Released with its holder.
        pass
    assert os.listdir(run_dir.path) == [".lock"]
    os.remove(run_dir.file(".lock"))
    os.rmdir(run_dir.path)
    with pytest.raises(ValueError):
        with runlock.lock(run_dir):
            raise ValueError("bad input")
    assert not os.path.exists(run_dir.path)
    kept = RunDir(tmp_path / "kept")
    with pytest.raises(ValueError):
        with runlock.lock(kept):  # A new directory whose run began: it stays.
            kept.write_config(CONFIG)
            raise ValueError("a failure after the run began")
    assert os.path.isfile(kept.config_file)


def finished_with_files(path):
    """A finished run with checkpoints, logs, every result, a partial write and a file of the
    user's; returns it and its files' bytes."""
    run_dir = finished(path)
    os.makedirs(run_dir.backup)
    os.makedirs(os.path.join(run_dir.logs, "train"))
    for path in run_dir.results(["manifold", "samples"]) + [
            run_dir.file("notes.txt"), os.path.join(run_dir.backup, "ckpt-000001.weights.h5"),
            os.path.join(run_dir.logs, "train", "events")]:
        if not os.path.exists(path):
            with open(path, "w") as file:
                file.write(os.path.basename(path))
    return run_dir, files(run_dir)


def files(run_dir):
    return {os.path.relpath(os.path.join(root, name), run_dir.path):
            open(os.path.join(root, name), "rb").read()
            for root, _, names in os.walk(run_dir.path) for name in names}


def test_overwrite_sets_the_run_aside_and_puts_it_back_if_no_new_run_begins(tmp_path):
    """set_aside leaves only what is not the run; settle without a new config.json puts every
    file back as it was."""
    run_dir, before = finished_with_files(tmp_path / "run")
    open(run_dir.file(".partial.x"), "w").close()
    runlock.set_aside(run_dir, ["manifold", "samples"])
    assert sorted(os.listdir(run_dir.path)) == [".replaced", "notes.txt"]
    assert run_dir.state(CONFIG) == "new"
    runlock.settle(run_dir)
    assert files(run_dir) == before
    runlock.settle(run_dir)  # Nothing set aside: nothing to do.
    assert files(run_dir) == before


def test_overwrite_removes_the_run_set_aside_once_the_new_one_begins(tmp_path):
    run_dir, _ = finished_with_files(tmp_path / "run")
    runlock.set_aside(run_dir, ["manifold", "samples"])
    run_dir.write_config(dataclasses.replace(CONFIG, latent_dim=9))
    runlock.settle(run_dir)
    assert sorted(os.listdir(run_dir.path)) == ["config.json", "notes.txt"]
    assert run_dir.read_config().latent_dim == 9


def test_a_kill_while_the_run_is_set_aside_or_put_back_loses_nothing(tmp_path):
    """config.json is set aside first and put back last: a kill part way through either leaves
    a directory that settle puts back whole."""
    run_dir, before = finished_with_files(tmp_path / "run")
    runlock.set_aside(run_dir, ["manifold", "samples"])
    # Killed part way through putting back: some files are back, config.json is not.
    os.replace(os.path.join(run_dir.replaced, "metrics.json"), run_dir.metrics_file)
    os.makedirs(run_dir.backup)  # A folder made again by the killed process.
    runlock.settle(run_dir)
    assert files(run_dir) == before
    # Killed part way through setting aside: config.json and the metrics are moved, the rest not.
    os.makedirs(run_dir.replaced)
    for name in ("config.json", "metrics.json"):
        os.replace(run_dir.file(name), os.path.join(run_dir.replaced, name))
    runlock.settle(run_dir)
    assert files(run_dir) == before
