"""Pytest plugin of the graded tests: the `--impl` option, the `impl` fixture and the rubric.

A graded test carries `@pytest.mark.graded(id="kl.closed_form", points=2)`. With
`--grade-log PATH` the plugin appends one JSON line per event (the rubric after collection, the
start and the result of every graded test), flushed at once, so that `keras_vae.grade` can
score a run that crashed or was killed part-way.
"""

import json

import pytest

NOT_IMPLEMENTED = "not implemented yet (the stub still raises NotImplementedError)"


def pytest_addoption(parser):
    group = parser.getgroup("keras_vae grading")
    group.addoption("--impl", default=None,
                    help="module implementing the contract (default: keras_vae)")
    group.addoption("--grade-log", default=None, help="append grading events to this file")


def pytest_configure(config):
    config.addinivalue_line("markers", "graded(id, points): a graded test of the rubric")
    config._graded_rows = {}


@pytest.fixture(scope="session")
def impl(request):
    """The module under test, imported on first use so an import error costs only points."""
    from keras_vae.impl import load_impl

    try:
        return load_impl(request.config.getoption("--impl"))
    except Exception as error:  # any failure of student code must only cost points
        pytest.fail(f"could not import the implementation: {type(error).__name__}: {error}",
                    pytrace=False)


def _graded(item):
    marker = item.get_closest_marker("graded")
    if marker is None:
        return None
    doc = (item.obj.__doc__ or item.name).strip().splitlines()[0]
    return {"nodeid": item.nodeid, "id": marker.kwargs["id"],
            "points": marker.kwargs["points"], "title": doc}


def _log(config, record):
    path = config.getoption("--grade-log")
    if path:
        with open(path, "a") as file:
            file.write(json.dumps(record) + "\n")


def pytest_collection_finish(session):
    rubric = [row for row in map(_graded, session.items) if row]
    for row in rubric:
        session.config._graded_rows[row["nodeid"]] = dict(row, status="not run", message="")
    _log(session.config, {"event": "rubric", "rubric": rubric})


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if item.nodeid in item.config._graded_rows:
        _log(item.config, {"event": "start", "nodeid": item.nodeid})


def short_message(report):
    """The part of a failure a student needs: the assertion message, or the error line."""
    if report.passed:
        return ""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    if "NotImplementedError" in text:
        return NOT_IMPLEMENTED
    return text.replace("AssertionError: ", "").replace("Failed: ", "").strip()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    row = item.config._graded_rows.get(item.nodeid)
    if row is not None and row["status"] != "failed" and (
        report.when == "call" or report.failed or report.skipped
    ):
        row.update(status="passed" if report.passed else "failed",
                   message=short_message(report))
        _log(item.config, {"event": "result", "nodeid": item.nodeid, "status": row["status"],
                           "message": row["message"], "duration": report.duration})
    return report


def format_rubric(rows):
    """Formats rubric rows (`id`, `points`, `status`, `title`, `message`) as a table."""
    lines = [f"{'id':<32} {'points':>7}  verdict"]
    for row in rows:
        earned = row["points"] if row["status"] == "passed" else 0
        mark = {"passed": "PASS", "failed": "FAIL"}.get(row["status"], "NOT RUN")
        lines.append(f"{row['id']:<32} {earned:>3}/{row['points']:<3}  {mark} {row['title']}")
        if row["status"] != "passed" and row["message"]:
            lines.extend("      " + line for line in row["message"].splitlines()[:6])
    score = sum(r["points"] for r in rows if r["status"] == "passed")
    lines.append(f"Score: {score}/{sum(r['points'] for r in rows)}")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    rows = list(config._graded_rows.values())
    if rows:
        terminalreporter.section("assignment rubric")
        terminalreporter.write_line(format_rubric(rows))
