"""The float32 floor of the loss and likelihood math under mixed precision.

Kept apart from `losses.py`, which the student bundle leaves out (students write the losses),
so that evaluation can use it in the bundle too.
"""

import keras
from keras import ops


def at_least_float32(values):
    """Casts a float16 or bfloat16 tensor to float32; leaves float32 and float64 as they are.

    The loss terms are summed over hundreds of pixels and compared across batches, beyond what
    a 10-bit mantissa holds; `1 - 1e-7` rounds to 1 in float16, so the Bernoulli clip would
    give `log(0)`. Under a mixed precision policy the loss math therefore runs in float32.
    """
    values = ops.convert_to_tensor(values)
    if keras.backend.standardize_dtype(values.dtype) in ("float16", "bfloat16"):
        return ops.cast(values, "float32")
    return values
