"""Runs rubric items in this process: the quick path of plain `pytest`, the notebook and tests.

The item's graphs are exported, checked, loaded and judged exactly as `python -m
keras_vae.grade` does across its processes, and the observations take the same round trip
through the channel's encoding, so a verdict here is the grader's verdict on the same seed.
Nothing is contained here: this is feedback for the student's own code.
"""

import os
import tempfile

from keras_vae.graded import channel, feedback, rubric, verdict


# Exports made in this process, by (module, seed, export name): items of one export share
# them, as they do in the grader. `forget` empties it when the module's code may have changed.
_EXPORTED = {}


def forget():
    """Drops every export made so far (the notebook calls it after reloading a module)."""
    for folder, _, _ in _EXPORTED.values():
        folder.cleanup()
    _EXPORTED.clear()


def export(name, impl, seed):
    """Exports `name`'s graphs of `impl`; returns `(folder, facts, config)`.

    Raises:
        Exception: whatever the implementation's code raises while its graphs are built.
    """
    key = (id(impl), seed, name)
    if key not in _EXPORTED:
        import keras

        from keras_vae.graded import exports

        config = rubric.configs()[name](rubric.config_rng(seed, name))
        keras.utils.set_random_seed(rubric.export_seed(seed, name))
        archives, facts = exports.EXPORTS[name](impl, config)
        folder = tempfile.TemporaryDirectory(prefix="keras-vae-export-")
        for archive_name, archive in archives.items():
            archive.write_out(os.path.join(folder.name, name, archive_name), verbose=False)
        _EXPORTED[key] = (folder, channel.roundtrip(facts), config)
    folder, facts, config = _EXPORTED[key]
    return folder.name, facts, config


def run_item(item, impl, seed=rubric.PUBLIC_SEED):
    """Exports, runs and judges `item` against the module `impl`.

    Returns:
        `None` when the item passes, else the feedback message.
    """
    from keras_vae.graded.exporter import describe, submission_files
    from keras_vae.graded.runner import observe

    try:
        folder, facts, config = export(item.export, impl, seed)
    except Exception as error:  # the implementation's error is the verdict's message
        return feedback.error_message(describe(error, submission_files(impl)))
    inputs = channel.roundtrip(rubric.inputs(item, config, seed), keep_dtype=True)
    return verdict.judge(item, inputs, observe(item, folder, inputs), facts)
