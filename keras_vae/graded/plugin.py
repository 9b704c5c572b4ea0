"""Pytest plugin of the graded tests: `--impl`, the `impl` fixture and the rubric summary.

Plain `pytest` runs each rubric item in the test process itself, on the public inputs: the
quick way for a student to grade their own work. The grade that counts comes from
`python -m keras_vae.grade`, which runs the submission's code only in a sandboxed process that
sees no graded input.
With `--impl`, only the graded tests are collected.
"""

import pytest

from keras_vae.graded import rubric
from keras_vae.graded.feedback import explain_dependencies
from keras_vae.graded.report import format_rubric
from keras_vae.impl import IMPL_HELP


def pytest_addoption(parser):
    group = parser.getgroup("keras_vae grading")
    group.addoption("--impl", default=None,
                    help=IMPL_HELP)


def pytest_configure(config):
    config.addinivalue_line("markers", "graded(id, points): a graded item of the rubric")
    config._graded_rows = {}


def pytest_collection_modifyitems(config, items):
    if config.getoption("--impl"):
        deselected = [item for item in items if not item.get_closest_marker("graded")]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item.get_closest_marker("graded")]


@pytest.fixture(scope="session")
def impl(request):
    """The module under test, imported on first use so an import error costs only points."""
    from keras_vae.graded.exporter import describe
    from keras_vae.graded.feedback import error_message
    from keras_vae.impl import load_impl

    try:
        return load_impl(request.config.getoption("--impl"))
    except Exception as error:  # any failure of student code must only cost points
        pytest.fail(f"could not import the implementation: "
                    f"{error_message(describe(error, set()))}", pytrace=False)


def pytest_collection_finish(session):
    items = {item.id: item for item in rubric.rubric()}
    for test in session.items:
        marker = test.get_closest_marker("graded")
        if marker is not None:
            session.config._graded_rows.update(rubric.rows([items[marker.kwargs["id"]]]))


def short_message(report):
    """The part of a failure a student needs: the assertion message, or the error line."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return text.replace("AssertionError: ", "").replace("Failed: ", "").strip()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    marker = item.get_closest_marker("graded")
    row = item.config._graded_rows.get(marker.kwargs["id"]) if marker else None
    if row is not None and row["status"] != "failed" and (
        report.when == "call" or report.failed or report.skipped
    ):
        row.update(status="passed" if report.passed else "failed",
                   message="" if report.passed else short_message(report))
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    rows = config._graded_rows
    if rows:
        items = {item.id: item for item in rubric.rubric() if item.id in rows}
        explain_dependencies(rows, items)
        terminalreporter.section("assignment rubric")
        terminalreporter.write_line(format_rubric(list(rows.values())))
