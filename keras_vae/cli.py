"""What the commands share: one-line errors for bad input, and a quiet TensorFlow start-up.

Each command checks its arguments before it imports TensorFlow, so bad input costs a fraction of
a second and prints one line:

    error: Invalid value for `--latent-dim`: expected a positive integer, received 0.

Then it imports TensorFlow with `import_tensorflow`, which keeps TensorFlow's start-up lines
(oneDNN, CUDA drivers, CPU instructions) off the terminal and passes every other line on.
"""

import argparse
import contextlib
import os
import re
import sys
import tempfile

# Lines TensorFlow 2.21 prints on stderr while it loads and finds its devices. Its C++ logging
# starts before TF_CPP_MIN_LOG_LEVEL is read, so these reach the terminal whatever its value.
STARTUP_NOISE = re.compile("|".join([
    r"WARNING: All log messages before absl::InitializeLog\(\) is called",
    r"port\.cc:\d+\] oneDNN custom operations are on",
    r"cudart_stub\.cc:\d+\] Could not find cuda drivers",
    r"cuda_platform\.cc:\d+\] failed call to cuInit",
    r"cuda_(dnn|fft|blas)\.cc:\d+\] Unable to register",
    r"computation_placer\.cc:\d+\] computation placer already registered",
    r"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized",
    r"To enable the following instructions: .* rebuild TensorFlow",
    r"TF-TRT Warning: Could not find TensorRT",
]))


class UsageError(ValueError):
    """Bad input found before training: the command prints it in one line and exits 2.

    A `ValueError` raised anywhere else (in the implementation's code, say) is not one: the
    command lets it end in a traceback and exit status 1.
    """


@contextlib.contextmanager
def bad_input():
    """Turns the `ValueError` of an argument check inside it into a `UsageError`."""
    try:
        yield
    except UsageError:
        raise
    except ValueError as error:
        raise UsageError(str(error)) from None


def one_line(error, flag_names=None):
    """The error line a command prints, naming each argument by `flag_names[name]` where given
    (the map `flag_names(parser)` makes)."""
    message = " ".join(str(error).split())
    match = re.match(r"Invalid value for `(\w+)`", message)
    if match and flag_names and match[1] in flag_names:
        message = f"Invalid value for `{flag_names[match[1]]}`" + message[match.end():]
    return f"error: {message}"


def usage_error(error, flag_names=None):
    """Prints the one-line error of bad input on stderr; returns the exit status, 2."""
    print(one_line(error, flag_names), file=sys.stderr)
    return 2


def error(exception):
    """Prints a run's error that is not bad input (a NaN loss, unreadable checkpoints) on stderr
    as one line; returns the exit status, 1."""
    print(one_line(exception), file=sys.stderr)
    return 1


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and shows each option's default, unless its help
    already says it or it has none."""

    def _get_help_string(self, action):
        help = action.help or ""
        if ("default" in help or any(action.default is value
                                     for value in (None, False, argparse.SUPPRESS))
                or not action.option_strings):
            return help
        return f"{help} (default: %(default)s)".strip()


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors are one line in the commands' form.

    It takes no abbreviated flag: `--over` is refused like any unknown flag, not read as
    `--overwrite`, and a flag added later cannot change what an old command line means.
    """

    def __init__(self, **kwargs):
        super().__init__(formatter_class=HelpFormatter, allow_abbrev=False, **kwargs)

    def error(self, message):
        match = re.fullmatch(r"argument (\S+?)(?:/\S+)?: invalid (?:(\w+) value: (.*)|choice: "
                             r"(.*) \(choose from (.*)\))", message)
        if match and match[2]:
            kind = {"int": "an integer", "float": "a number"}.get(match[2], match[2])
            message = f"Invalid value for `{match[1]}`: expected {kind}, received {match[3]}."
        elif match:
            message = (f"Invalid value for `{match[1]}`: expected one of {match[5]}, "
                       f"received {match[4]}.")
        else:
            message = f"{message} (see {self.prog} --help)."
        self.exit(2, f"error: {message}\n")


def flag_names(parser):
    """Maps each option's `dest` to the flag a user types, e.g. `num_epochs -> --epochs`."""
    return {action.dest: action.option_strings[0] for action in parser._actions
            if action.option_strings}


def import_tensorflow():
    """Imports TensorFlow and Keras and lists the devices, keeping the start-up lines quiet.

    TensorFlow's own INFO lines are turned off (`TF_CPP_MIN_LOG_LEVEL=1`, unless already set),
    and what it prints on file descriptor 2 while it loads goes to a temporary file; every line
    there that is not in `STARTUP_NOISE` (a warning, an error, a traceback) is printed after.

    Returns:
        The `tensorflow` module.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow as tf

            tf.config.list_physical_devices()  # Looks for CUDA drivers: more start-up lines.
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines()
    for line in lines:
        if line.strip() and not STARTUP_NOISE.search(line):
            print(line, file=sys.stderr)
    return tf


def log_to_stderr(line):
    print(line, file=sys.stderr)
