"""The pixel configurations and inputs that the Bernoulli and Gaussian items share: pixel
counts and image shapes drawn from the grading seed."""

import numpy as np


def num_pixels(rng):
    return int(rng.choice([n for n in range(40, 400) if n != 784]))


def image_shape(rng):
    return (int(rng.integers(3, 12)), int(rng.integers(3, 12)), int(rng.integers(1, 4)))


def pixel_config(rng):
    return {"num_pixels": num_pixels(rng), "image_shape": list(image_shape(rng)),
            "sigmas": [float(rng.uniform(0.3, 0.8)), float(rng.uniform(1.5, 3.0))]}


def pixel_inputs(rng, config, name, low, high):
    """Data `x` in [0, 1] and parameters `name` in [low, high], flat and as images."""
    batch_size = int(rng.integers(3, 7))
    flat, images = (batch_size, config["num_pixels"]), (batch_size,) + tuple(config["image_shape"])
    return {"x": rng.uniform(size=flat).astype(np.float32),
            name: rng.uniform(low, high, size=flat).astype(np.float32),
            "x_image": rng.uniform(size=images).astype(np.float32),
            f"{name}_image": rng.uniform(low, high, size=images).astype(np.float32)}
