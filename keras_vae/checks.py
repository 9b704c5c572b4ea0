"""Argument checks shared by the builders and the commands.

Each check raises `ValueError` in one form:
"Invalid value for `latent_dim`: expected a positive integer, received 0."
"""

import math
import numbers

LIKELIHOODS = ("bernoulli", "gaussian")
ARCHITECTURES = ("mlp", "conv")


def invalid(name, expected, received):
    """Returns the `ValueError` for argument `name`."""
    return ValueError(
        f"Invalid value for `{name}`: expected {expected}, received {received!r}."
    )


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise invalid(name, "a positive integer", value)
    return int(value)


def positive_float(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise invalid(name, "a positive finite number", value)
    return float(value)


def non_negative_float(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise invalid(name, "a non-negative finite number", value)
    return float(value)


def choice(name, value, options):
    if value not in options:
        raise invalid(name, "one of " + ", ".join(repr(o) for o in options), value)
    return value


def hidden_units(value):
    """Checks `hidden_units`: a non-empty sequence of positive integers."""
    try:
        units = tuple(value)
    except TypeError:
        raise invalid("hidden_units", "a non-empty sequence of positive integers", value)
    if not units or any(
        isinstance(u, bool) or not isinstance(u, numbers.Integral) or u < 1 for u in units
    ):
        raise invalid("hidden_units", "a non-empty sequence of positive integers", value)
    return tuple(int(u) for u in units)


def shape(name, value):
    """Checks a per-example shape such as `(784,)` or `(28, 28, 1)`."""
    try:
        dims = tuple(value)
    except TypeError:
        raise invalid(name, "a tuple of positive integers such as (784,)", value)
    if not dims or any(
        isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1 for d in dims
    ):
        raise invalid(name, "a tuple of positive integers such as (784,)", value)
    return tuple(int(d) for d in dims)


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
