"""The assignment's notebook and its check cells (`keras_vae.graded.notebook`).

The slow tests execute `assignments/vae.ipynb` end to end with nbclient, offline, in a copy of
the repository (against the stubs and against a complete solution), in the student bundle, and
from an empty folder as in Colab, where a stand-in for git provides the clone.
"""

import ast
import json
import os
import pathlib
import re
import shutil
import sys

import pytest

from keras_vae import cli
from keras_vae.graded import rubric
from keras_vae.graded.notebook import check
from keras_vae.graded.feedback import NOT_IMPLEMENTED
from keras_vae.impl import CONTRACT

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "assignments" / "vae.ipynb"
SOLUTION = ROOT / "tests" / "solutions" / "alternative.py"
KERNEL = "keras-vae-test"
PLOTS = ("loss_curves.png", "reconstructions.png", "prior_samples.png", "latent_space.png")
ROW = re.compile(r"^(\S+)\s+(\d+)/(\d+)\s+(PASS|FAIL|NOT RUN) ", re.MULTILINE)
# What TensorFlow prints besides a check's rows: its start-up lines, its C++ log lines, and its
# Python loggers' records ("INFO:tensorflow:Assets written to ...", "WARNING:absl:...").
TENSORFLOW_LINES = re.compile(cli.STARTUP_NOISE.pattern + r"|INFO:tensorflow|WARNING:absl"
                              r"|^[IWE]\d{4} [\d:.]+ +\d+ \w+\.cc:\d+\]", re.MULTILINE)
# The task order of assignments/README.md, Part 2.
TASKS = [["reparameterize", "Sampling"], ["kl_divergence", "KLDivergenceLayer"],
         ["bernoulli_nll", "gaussian_nll"], ["build_encoder", "build_decoder"], ["build_vae"]]


def read_notebook(path=NOTEBOOK):
    nbformat = pytest.importorskip("nbformat")
    return nbformat.read(str(path), as_version=4)


def check_arguments(notebook):
    """The argument of each check cell's `check(...)` call, by cell id (`None`: the rubric)."""
    # IPython turns `!command` and `%pip` lines into Python.
    transformer = pytest.importorskip("IPython.core.inputtransformer2").TransformerManager()
    found = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(transformer.transform_cell(cell.source))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check":
                found[cell.id] = ast.literal_eval(node.args[0]) if node.args else None
    return found


def text_of(cell):
    return "".join(output.get("text", "") for output in cell.outputs
                   if output.output_type == "stream")


def assert_only_checks(cells):
    """Each check cell shows its rubric rows and nothing of TensorFlow's."""
    for cell_id in check_arguments(read_notebook()):
        found = TENSORFLOW_LINES.findall(text_of(cells[cell_id]))
        assert not found, f"{cell_id}: expected only the checks, received {found}"


def verdicts(cell):
    """The `{item id: verdict}` rows that a check cell printed."""
    return {match[0]: match[3] for match in ROW.findall(text_of(cell))}


def test_notebook_is_valid_and_cleared():
    """The notebook is valid nbformat v4 and holds no outputs or execution counts."""
    nbformat = pytest.importorskip("nbformat")
    notebook = read_notebook()
    nbformat.validate(notebook)
    assert notebook.nbformat == 4, f"expected nbformat 4, received {notebook.nbformat}"
    dirty = [cell.id for cell in notebook.cells if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"expected cleared outputs, received outputs in cells {dirty}"


def test_check_cells_follow_the_tasks_of_the_readme():
    """One check cell per task, in the README's order, then one for the whole rubric."""
    arguments = check_arguments(read_notebook())
    tasks = [value if isinstance(value, list) else [value] for value in arguments.values()
             if value is not None]
    assert tasks == TASKS, f"expected check cells for {TASKS}, received {tasks}"
    assert list(arguments)[-1] == "check-all" and arguments["check-all"] is None
    assert sorted(sum(TASKS, [])) == sorted(CONTRACT), "every contract name is one task's"


def test_check_reports_an_import_error_on_every_row(tmp_path, monkeypatch, capsys):
    """A module that does not import gives its syntax error as the verdict of each row."""
    (tmp_path / "impl_with_syntax_error.py").write_text("def reparameterize(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    check("kl_divergence", impl_name="impl_with_syntax_error")
    printed = capsys.readouterr().out
    ids = [item.id for item in rubric.rubric() if item.uses[0] == "kl_divergence"]
    assert ROW.findall(printed) and all(row[3] == "FAIL" for row in ROW.findall(printed)), printed
    assert [row[0] for row in ROW.findall(printed)] == ids, printed
    assert printed.count("SyntaxError") == len(ids), f"expected one SyntaxError per row: {printed}"
    assert "line 1" in printed, f"expected the line of the error, received {printed}"


def test_check_reports_a_module_without_the_contract(tmp_path, monkeypatch, capsys):
    """A module lacking contract names fails every row with the missing names."""
    (tmp_path / "impl_without_names.py").write_text("def reparameterize():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    check(["reparameterize", "Sampling"], impl_name="impl_without_names")
    printed = capsys.readouterr().out
    assert "lacks Sampling" in printed and "Score: 0/" in printed, printed


def test_check_rejects_an_unknown_task():
    """A task that names nothing graded is a mistake in the notebook, so it raises."""
    with pytest.raises(ValueError, match="Invalid value for `task`"):
        check("kl")


def test_a_check_prints_its_rows_and_nothing_of_tensorflows(capfd, caplog):
    """Exporting and loading graphs says nothing, even with every logger at DEBUG (as in a
    notebook that shows INFO records): no "INFO:tensorflow:Assets written to", no absl
    warnings, no start-up lines, on stdout or stderr."""
    import logging

    caplog.set_level(logging.DEBUG)
    check("reparameterize", impl_name="tests.solutions.alternative")
    printed = capfd.readouterr()
    assert ROW.findall(printed.out) and all(row[3] == "PASS" for row in ROW.findall(printed.out))
    found = TENSORFLOW_LINES.findall(printed.out + printed.err)
    assert not found and not printed.err, f"expected only the rows, received {printed}"
    logged = [f"{record.levelname}:{record.name}:{record.getMessage()}"
              for record in caplog.records if record.name in ("tensorflow", "absl")]
    assert not logged, f"expected no records of TensorFlow's loggers, received {logged}"


@pytest.mark.slow
def test_check_picks_up_edits_to_the_module(tmp_path, monkeypatch, capsys):
    """A check after the file changes grades the new code, without a new kernel."""
    module = tmp_path / "impl_being_edited.py"
    # Star imports, so that the stubs' Keras classes are not registered a second time.
    module.write_text("from assignments import *\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "impl_being_edited", raising=False)
    check("kl_divergence", impl_name="impl_being_edited")
    before = capsys.readouterr().out
    module.write_text("from tests.solutions.alternative import *\n")
    check("kl_divergence", impl_name="impl_being_edited")
    after = capsys.readouterr().out
    rows = ROW.findall(before)
    assert rows and before.count("NotImplementedError") == len(rows), before
    assert ROW.findall(after) and all(row[3] == "PASS" for row in ROW.findall(after)), after
    sys.modules.pop("impl_being_edited", None)


def repository_copy(destination, solution=None):
    """Copies the files the notebook needs; `solution` replaces the stubs."""
    ignore = shutil.ignore_patterns("__pycache__", "grading_seed", "runs")
    for folder in ("keras_vae", "assignments"):
        shutil.copytree(ROOT / folder, destination / folder, ignore=ignore)
    shutil.copy(ROOT / "requirements.txt", destination)
    if solution is not None:
        shutil.copy(solution, destination / "assignments" / "__init__.py")
    return destination


def student_bundle(destination):
    from keras_vae.release import write_student_bundle

    write_student_bundle(str(destination))
    return destination


def execute(notebook, folder, tmp_path, monkeypatch):
    """Executes `notebook` in a fresh kernel of this interpreter, from `folder`, offline."""
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # A kernel spec of its own, found first on JUPYTER_PATH whatever else is installed.
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "keras-vae tests", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # As a student's kernel starts.
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("MPLBACKEND", "agg")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    client = nbclient.NotebookClient(notebook, kernel_name=KERNEL, timeout=600,
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    return {cell.id: cell for cell in notebook.cells}


def assert_not_implemented(cells):
    graded = {}
    for cell_id in check_arguments(read_notebook()):
        rows, text = verdicts(cells[cell_id]), text_of(cells[cell_id])
        assert rows and set(rows.values()) == {"FAIL"}, f"{cell_id}: expected FAIL rows: {text}"
        assert text.count(NOT_IMPLEMENTED) == len(rows), f"{cell_id}: {text}"
        graded.update(rows)
    assert sorted(graded) == sorted(item.id for item in rubric.rubric())


@pytest.mark.slow
@pytest.mark.parametrize("layout", [repository_copy, student_bundle])
def test_notebook_runs_to_the_end_against_the_stubs(layout, tmp_path, monkeypatch):
    """Against the stubs every check says "not implemented yet" and training fails softly."""
    root = layout(tmp_path / "root")
    cells = execute(read_notebook(), root / "assignments", tmp_path, monkeypatch)
    assert f"Working in {root}" in text_of(cells["setup"]), text_of(cells["setup"])
    assert_not_implemented(cells)
    assert_only_checks(cells)
    assert "Training failed" in text_of(cells["train"]), text_of(cells["train"])
    assert "did not train" in text_of(cells["plots"]), text_of(cells["plots"])
    assert not list((root / "runs").rglob("*.png")), "expected no plots from the stubs"


@pytest.mark.slow
def test_notebook_passes_every_check_and_plots_for_a_solution(tmp_path, monkeypatch):
    """Against a complete solution every check passes and the plots are shown inline."""
    root = repository_copy(tmp_path / "root", solution=SOLUTION)
    cells = execute(read_notebook(), root / "assignments", tmp_path, monkeypatch)
    assert f"Working in {root}" in text_of(cells["setup"]), text_of(cells["setup"])
    for cell_id in check_arguments(read_notebook()):
        rows, text = verdicts(cells[cell_id]), text_of(cells[cell_id])
        assert rows and set(rows.values()) == {"PASS"}, f"{cell_id}: expected PASS rows: {text}"
    assert len(verdicts(cells["check-all"])) == len(rubric.rubric())
    assert_only_checks(cells)
    assert "Training failed" not in text_of(cells["train"]), text_of(cells["train"])
    missing = [name for name in PLOTS if not (root / "runs" / "notebook" / name).is_file()]
    assert not missing, f"expected {PLOTS} in runs/notebook, {missing} missing"
    images = [output for output in cells["plots"].outputs if "image/png" in output.get("data", {})]
    assert len(images) == len(PLOTS), f"expected {len(PLOTS)} inline images, received {len(images)}"


@pytest.mark.slow
def test_setup_clones_and_installs_outside_a_checkout(tmp_path, monkeypatch):
    """Outside a checkout (Colab) the setup cell clones the repository and installs its pins."""
    source = repository_copy(tmp_path / "source")
    # A stand-in for git that "clones" the local copy: `git clone --quiet URL DIRECTORY`.
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    (bin_folder / "git").write_text(f'#!/bin/sh\nfor last; do :; done\ncp -R "{source}" "$last"\n')
    (bin_folder / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    notebook = read_notebook()
    notebook.cells = [cell for cell in notebook.cells if cell.id in ("setup", "check-1")]
    content = tmp_path / "content"
    content.mkdir()
    cells = execute(notebook, content, tmp_path, monkeypatch)
    setup = text_of(cells["setup"])
    assert f"Working in {content / 'keras-vae'}" in setup and "ERROR" not in setup, setup
    assert (content / "keras-vae" / "assignments" / "__init__.py").is_file()
    rows = verdicts(cells["check-1"])
    assert rows and set(rows.values()) == {"FAIL"}, text_of(cells["check-1"])
