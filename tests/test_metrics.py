"""The loss terms training reports for any implementation (`keras_vae.training.metrics`)."""

import csv
import os
import shutil
import subprocess
import sys

import pytest

from keras_vae import plots

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERMS = ("loss", "reconstruction_loss", "kl_loss")


def tiny_vae(impl, beta=1.0):
    encoder = impl.build_encoder((16,), 2, (4,))
    decoder = impl.build_decoder(2, (16,), (4,))
    return impl.build_vae(encoder, decoder, "bernoulli", 1.0, beta, 1e-3)


def test_the_reference_reports_both_terms_itself():
    """Nothing is added to the reference's VAE, and it is not compiled again."""
    import keras_vae
    from keras_vae.training.metrics import LOSS_TERMS, report_loss_terms, reported_names

    vae = tiny_vae(keras_vae)
    compiled = vae._compile_config
    assert set(LOSS_TERMS) <= reported_names(vae)
    report_loss_terms(keras_vae, vae, "bernoulli", 1.0)()
    assert vae._compile_config is compiled, "expected the reference's own compile kept"


def test_a_vae_of_the_contract_alone_gets_both_terms_and_its_compile_back():
    """A VAE reporting only `loss` reports both terms after `report_loss_terms`; the function
    it returns puts back the compile its build_vae gave it, optimizer included."""
    from keras_vae.training.metrics import LOSS_TERMS, report_loss_terms, reported_names
    from tests.solutions import alternative

    vae = tiny_vae(alternative)
    own = dict(vae._compile_config.config)
    assert not set(LOSS_TERMS) & reported_names(vae)
    restore = report_loss_terms(alternative, vae, "bernoulli", 1.0)
    assert set(LOSS_TERMS) <= reported_names(vae)
    assert vae.optimizer is own["optimizer"] and vae.loss is own["loss"]
    restore()
    assert vae._compile_config.config == own
    assert not [layer for layer in vae._flatten_layers() if "call" in vars(layer)]


def history_rows(run_dir):
    with open(os.path.join(run_dir, "history.csv"), newline="") as file:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(file)]


@pytest.mark.slow
def test_a_students_run_logs_and_plots_the_terms_of_the_reference(tmp_path):
    """`train --impl assignments` with a correct solution that logs only `loss` writes the
    reference's history columns, with loss = reconstruction_loss + beta * kl_loss for every
    logged value, and draws the same three loss panels."""
    package = tmp_path / "assignments"
    package.mkdir()
    shutil.copy(os.path.join(ROOT, "tests", "solutions", "alternative.py"),
                package / "__init__.py")
    out = tmp_path / "run"
    beta = 0.5
    result = subprocess.run(
        [sys.executable, "-m", "keras_vae.train", "--impl", "assignments", "--dataset", "sample",
         "--hidden-units", "64", "--iw-samples", "5", "--epochs", "2", "--beta", str(beta),
         "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": ROOT})
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    rows = history_rows(out)
    expected = {"epoch"} | set(TERMS) | {f"val_{name}" for name in TERMS}
    assert len(rows) == 2 and set(rows[0]) == expected, f"expected {expected}: {rows}"
    for row in rows:
        for prefix in ("", "val_"):
            total = row[f"{prefix}reconstruction_loss"] + beta * row[f"{prefix}kl_loss"]
            assert abs(row[f"{prefix}loss"] - total) < 1e-4 * row[f"{prefix}loss"], row
            assert row[f"{prefix}kl_loss"] > 0, row
    from keras_vae.training.rundir import RunDir

    titles = [ax.get_title() for ax in plots.plot_history(RunDir(out).read_history()).axes]
    assert [title.split(" ")[0] for title in titles] == ["loss", "reconstruction", "KL"], titles
    assert (out / "loss_curves.png").is_file()
