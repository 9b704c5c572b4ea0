"""Independent witnesses for the graded tests: float64 NumPy closed forms and messages."""

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


def as_numpy(value):
    if isinstance(value, (list, tuple)):
        return [as_numpy(v) for v in value]
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def expect_shape(received, expected, what):
    received = tuple(np.shape(received))
    assert received == tuple(expected), (
        f"{what}: expected shape {tuple(expected)}, received shape {received}."
    )


def expect_close(received, expected, what, hint, rtol=1e-4, atol=1e-4):
    """Asserts `received` matches the witness `expected`; the message names the likely mistake."""
    received = np.asarray(as_numpy(received), dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    expect_shape(received, expected.shape, what)
    if not np.allclose(received, expected, rtol=rtol, atol=atol):
        worst = np.unravel_index(np.argmax(np.abs(received - expected)), expected.shape)
        raise AssertionError(
            f"{what}: expected {np.round(expected[worst], 5)}, received "
            f"{np.round(received[worst], 5)} (at index {tuple(int(i) for i in worst)}).\n"
            f"Likely mistake: {hint}"
        )
