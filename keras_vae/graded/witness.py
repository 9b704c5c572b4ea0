"""Independent witnesses for the graded items: float64 NumPy closed forms, and the checks that
turn a disagreement into feedback. NumPy only: the grading process never imports TensorFlow.

`tests/test_witness.py` checks these closed forms against `tfp.distributions`.
"""

import numpy as np


def kl_divergence(z_mean, z_log_var):
    z_mean, z_log_var = np.float64(z_mean), np.float64(z_log_var)
    return 0.5 * np.sum(z_mean**2 + np.exp(z_log_var) - z_log_var - 1.0, axis=-1)


def bernoulli_nll(x, probs):
    x, probs = np.float64(x), np.float64(probs)
    terms = x * np.log(probs) + (1.0 - x) * np.log1p(-probs)
    return -terms.reshape(len(x), -1).sum(axis=1)


def gaussian_nll(x, mean, sigma):
    x, mean = np.float64(x), np.float64(mean)
    num_pixels = np.prod(x.shape[1:])
    squared_error = ((x - mean) ** 2).reshape(len(x), -1).sum(axis=1)
    return (squared_error / (2 * sigma**2) + num_pixels * np.log(sigma)
            + 0.5 * num_pixels * np.log(2 * np.pi))


def sigmoid(logits):
    return 1.0 / (1.0 + np.exp(-np.float64(logits)))


def array(received, what):
    """`received` as a float64 array, or an `AssertionError` saying what it was instead."""
    try:
        return np.asarray(received, dtype=np.float64)
    except (TypeError, ValueError):
        kind = type(received).__name__
        if isinstance(received, (list, tuple)):
            kind = f"a {kind} of {len(received)} values of different shapes"
        raise AssertionError(f"{what}: expected one array, received {kind}.") from None


def expect_shape(received, expected, what):
    received = array(received, what)
    assert received.shape == tuple(expected), (
        f"{what}: expected shape {tuple(expected)}, received shape {received.shape}."
    )


def expect_close(received, expected, what, hint, rtol=1e-4, atol=1e-4):
    """Asserts `received` matches the witness `expected`; the message names the likely mistake."""
    received = array(received, what)
    expected = np.asarray(expected, dtype=np.float64)
    expect_shape(received, expected.shape, what)
    if not np.all(np.isfinite(received)) and np.all(np.isfinite(expected)):
        raise AssertionError(f"{what}: expected finite values, received {received.ravel()[:4]}"
                             f"{' ...' if received.size > 4 else ''}.\nLikely mistake: {hint}")
    if not np.allclose(received, expected, rtol=rtol, atol=atol):
        worst = np.unravel_index(np.argmax(np.abs(received - expected)), expected.shape)
        raise AssertionError(
            f"{what}: expected {np.round(expected[worst], 5)}, received "
            f"{np.round(received[worst], 5)} (at index {tuple(int(i) for i in worst)}).\n"
            f"Likely mistake: {hint}"
        )


def expect_pair(received, what):
    """Asserts `received` is a list or tuple of two outputs and returns them."""
    if not isinstance(received, (list, tuple)) or len(received) != 2:
        count = len(received) if isinstance(received, (list, tuple)) else "one tensor"
        raise AssertionError(f"{what}: expected two outputs [z_mean, z_log_var], received "
                             f"{count}.")
    return received
