"""Argument checks shared by the builders and the commands.

Each check raises `ValueError` in one form:
"Invalid value for `latent_dim`: expected a positive integer, received 0."
"""

import math
import numbers
import os

LIKELIHOODS = ("bernoulli", "gaussian")
ARCHITECTURES = ("mlp", "conv")
DATASETS = ("mnist", "fashion_mnist", "sample")
BINARIZATIONS = ("none", "static", "dynamic")
# The names `keras.activations.get` takes in Keras 3.15 (`keras.src.activations.ALL_OBJECTS_DICT`;
# a test keeps the list up to date), so a misspelt `--activation` is refused before Keras loads.
ACTIVATIONS = (
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
    "threshold",
)


class _Nothing:
    def __repr__(self):
        return "nothing"


# The `received` of an argument that was not given.
NOTHING = _Nothing()


def invalid(name, expected, received, why=None):
    """Returns the `ValueError` for argument `name`, with `why` after what was received:
    "Invalid value for `impl`: expected ..., received 'x', which was not found."."""
    because = f", {why}" if why else ""
    return ValueError(
        f"Invalid value for `{name}`: expected {expected}, received {received!r}{because}."
    )


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise invalid(name, "a positive integer", value)
    return int(value)


def _finite_real(value):
    return (not isinstance(value, bool) and isinstance(value, numbers.Real)
            and math.isfinite(value))


def positive_float(name, value):
    if not _finite_real(value) or value <= 0:
        raise invalid(name, "a positive finite number", value)
    return float(value)


def non_negative_float(name, value):
    if not _finite_real(value) or value < 0:
        raise invalid(name, "a non-negative finite number", value)
    return float(value)


def positive_number_text(name, text):
    """The positive finite number a user typed as `text` (a command-line flag's string)."""
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise invalid(name, "a positive number", text)
    return number


def integer_text(name, text, minimum=0):
    """The integer of at least `minimum` (0 or 1) a user typed as `text`, in decimal digits."""
    if not (text.isascii() and text.isdigit()) or int(text) < minimum:
        raise invalid(name, "a positive integer" if minimum else "a non-negative integer", text)
    return int(text)


def folder(name, path, expected):
    """Checks that `path` is a folder or can become one: no file (or broken link) in its place
    or above it. Returns `path`."""
    above = path
    while above and not os.path.lexists(above):
        above = os.path.dirname(above)
    if above and not os.path.isdir(above):
        which = "which is not a folder" if above == path else f"under {above}, not a folder"
        raise invalid(name, expected, path, which)
    return path


def seed(name, value):
    """Checks a random seed as Keras and NumPy take it: an integer in [0, 2**32)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not (
            0 <= value < 2**32):
        raise invalid(name, "an integer from 0 to 2**32 - 1", value)
    return int(value)


def choice(name, value, options):
    if value not in options:
        raise invalid(name, "one of " + ", ".join(repr(o) for o in options), value)
    return value


def activation(name, value):
    """Checks the name of a Keras activation, such as `"relu"`."""
    if value not in ACTIVATIONS:
        raise invalid(name, "the name of a Keras activation, such as 'relu'", value)
    return value


def pixel_range(name, x, likelihood):
    """Checks that data for the Bernoulli likelihood lies in [0, 1]; returns `x`.

    Raw `uint8` pixels (0 to 255) are the usual mistake: the Bernoulli likelihood of a pixel of
    255 is meaningless and training ends in a NaN loss.

    Args:
        name: the argument named in the error.
        x: a NumPy array (anything with `size`, `dtype`, `min()` and `max()`).
        likelihood: `"bernoulli"` (checked) or `"gaussian"` (any values).
    """
    if likelihood != "bernoulli" or not x.size:
        return x
    low, high = x.min(), x.max()
    if low < 0 or high > 1:
        why = None
        if x.dtype.kind in "iu":
            why = f"raw {x.dtype} pixels: divide them by 255"
        elif low >= 0 and high <= 255:
            why = "pixels of 0 to 255: divide them by 255"
        raise invalid(name, "pixel values in [0, 1] for likelihood='bernoulli'",
                      f"values in [{low:.3g}, {high:.3g}]", why)
    return x


def _positive_ints(name, value, expected):
    """Checks a non-empty sequence of positive integers; returns it as a tuple."""
    try:
        items = tuple(value)
    except TypeError:
        raise invalid(name, expected, value)
    if not items or any(
        isinstance(i, bool) or not isinstance(i, numbers.Integral) or i < 1 for i in items
    ):
        raise invalid(name, expected, value)
    return tuple(int(i) for i in items)


def hidden_units(value):
    """Checks `hidden_units`: a non-empty sequence of positive integers."""
    return _positive_ints("hidden_units", value, "a non-empty sequence of positive integers")


def shape(name, value):
    """Checks a per-example shape such as `(784,)` or `(28, 28, 1)`."""
    return _positive_ints(name, value, "a tuple of positive integers such as (784,)")


def conv_shape(name, value):
    """Checks a shape the convolutional architecture handles: `(height, width, channels)`."""
    dims = shape(name, value)
    if len(dims) != 3 or dims[0] % 4 or dims[1] % 4:
        raise invalid(
            name,
            "an image shape (height, width, channels) with height and width divisible by 4 "
            "for architecture='conv'",
            value,
        )
    return dims
