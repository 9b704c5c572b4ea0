"""The notebook's check cells: the rubric items of one task, run on the student's current code.

Each call reloads the student's module, so edits saved in an editor count without restarting the
kernel, and prints the rubric table of the task's items, and nothing else of TensorFlow's: not its
start-up lines, nor what its loggers say as the graphs are exported and loaded. A check never
raises: an import error is the verdict of every row, so the notebook runs on to its end whatever
the module holds.
"""

import contextlib
import importlib
import logging
import sys
import traceback

from keras_vae import checks, cli
from keras_vae.graded import feedback, report, rubric

# TensorFlow's Python loggers: "INFO:tensorflow:Assets written to ..." for each exported graph,
# "WARNING:absl:Importing a function ... with unsaved custom gradients" as one loads.
QUIET_LOGGERS = ("tensorflow", "absl")


@contextlib.contextmanager
def _quiet_tensorflow():
    """Imports TensorFlow without its start-up lines (`cli.import_tensorflow`), and lets its
    loggers pass only errors while a check runs.

    A filter, not a level: TensorFlow sets absl's verbosity, and with it the level of absl's
    logger, back and forth as it exports a model.
    """
    def errors_only(record):
        return record.levelno >= logging.ERROR

    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    for logger in loggers:
        logger.addFilter(errors_only)
    try:
        cli.import_tensorflow()
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(errors_only)


def _fresh_module(impl_name):
    """Imports `impl_name` anew and checks its contract names; raises what goes wrong."""
    from keras_vae.impl import load_impl

    from keras_vae.graded import inprocess

    importlib.invalidate_caches()
    inprocess.forget()
    module = sys.modules.get(impl_name)
    if module is not None:
        importlib.reload(module)
    return load_impl(impl_name)


def _import_failure(impl_name, error):
    if isinstance(error, ValueError) and str(error).startswith("Invalid value for `impl`"):
        return str(error)
    # format_exception_only names the file and line of a syntax error.
    cause = "".join(traceback.format_exception_only(type(error), error)).strip()
    return f"{impl_name} could not be imported:\n{cause}"


def check(task=None, impl_name="assignments"):
    """Grades one task of the assignment on the public seed and prints its rubric rows.

    Args:
        task: contract name, such as `"kl_divergence"`, or a list of them; the items whose name
            under test (`item.uses[0]`) is among them are run. `None` runs the whole rubric.
        impl_name: module name of the implementation, `"assignments"` for the student's.

    Raises:
        ValueError: if `task` names nothing in the contract (a typo in the notebook).
    """
    names = None if task is None else [task] if isinstance(task, str) else list(task)
    items = [item for item in rubric.rubric() if names is None or item.uses[0] in names]
    if not items:
        raise checks.invalid("task", "contract names with graded items", task)
    rows = rubric.rows(items)
    with _quiet_tensorflow():
        _grade(items, rows, impl_name)
    print(report.format_rubric(list(rows.values())))


def _grade(items, rows, impl_name):
    """Runs `items` on the module `impl_name`, written into their `rows`."""
    try:
        module = _fresh_module(impl_name)
    except Exception as error:  # any import failure is every row's verdict
        message = _import_failure(impl_name, error)
        for row in rows.values():
            row.update(status="failed", message=message)
        return
    from keras_vae.graded.inprocess import run_item

    for item in items:
        try:
            message = run_item(item, module)
        except Exception as error:  # a judge tripped by an odd observation
            message = f"The check itself failed: {type(error).__name__}: {error}"
        rows[item.id].update(status="passed" if message is None else "failed",
                             message=message or "")
    feedback.explain_dependencies(rows, {item.id: item for item in items})
