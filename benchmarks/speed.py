"""Training throughput of keras_vae's `fit` path against the two usual ways to write a Keras VAE.

Usage: `python benchmarks/speed.py [--architecture mlp conv] [--batch-size 128] [--epochs 4]`

All three train the same encoder and decoder (`keras_vae.build_encoder` / `build_decoder`) with
Adam on the same dynamically binarized images, at the same batch size:

- `keras_vae.training.fit`: `keras_vae.build_vae` + `keras_vae.data.make_dataset` + `model.fit`;
- `train_step`: a `keras.Model` subclass with a custom `train_step` and `GradientTape`, as in
  the keras.io VAE example, fitted on an in-memory array;
- `tf.function`: a plain training loop over a `tf.data` pipeline with a compiled step, as
  usually written (no XLA), and the same loop with `jit_compile=True` for reference.

Throughput is images per second in the fastest epoch after the first (compilation excluded),
over `--rounds` interleaved rounds of every method: on a shared machine the slow epochs measure
the neighbours, the fastest one the code. The
machine's limit is a large float32 matrix multiply measured in the same run; the fraction is
the training FLOPs per image (3x the forward pass) times the throughput, over that limit.
"""

import argparse
import json
import math
import os
import platform
import sys
import time

import keras
import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import keras_vae  # noqa: E402
from keras_vae.data import load_images, make_dataset  # noqa: E402


def forward_flops(model):
    """Multiply-adds x 2 of the Dense, Conv2D and Conv2DTranspose layers of a model."""
    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            height, width = layer.input.shape[1:3]
            flops += 2 * height * width * math.prod(layer.kernel.shape)
        elif isinstance(layer, keras.layers.Conv2D):
            height, width = layer.output.shape[1:3]
            flops += 2 * height * width * math.prod(layer.kernel.shape)
    return flops


def matmul_limit(size=2048, repeats=20):
    """Measured float32 matrix-multiply throughput of this machine, in FLOP/s."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    matmul()
    start = time.perf_counter()
    for _ in range(repeats):
        matmul().numpy()
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def models(architecture, latent_dim):
    shape = (28, 28, 1) if architecture == "conv" else (784,)
    encoder = keras_vae.build_encoder(shape, latent_dim, architecture=architecture)
    decoder = keras_vae.build_decoder(latent_dim, shape, architecture=architecture)
    return shape, encoder, decoder


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def negative_elbo(x, reconstruction, z_mean, z_log_var):
    return tf.reduce_mean(keras_vae.bernoulli_nll(x, reconstruction)
                          + keras_vae.kl_divergence(z_mean, z_log_var))


def run_fit(x, architecture, batch_size, epochs, latent_dim, jit_compile):
    shape, encoder, decoder = models(architecture, latent_dim)
    vae = keras_vae.build_vae(encoder, decoder, jit_compile=jit_compile)
    timer = EpochTimer()
    vae.fit(make_dataset(x.reshape((-1,) + shape), batch_size, "dynamic"), epochs=epochs,
            callbacks=[timer], verbose=0, shuffle=False)
    return timer.times, encoder, decoder


class KerasIoVAE(keras.Model):
    """The keras.io formulation: a subclass with its own train_step and loss trackers."""

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.sampling = keras_vae.Sampling()
        self.total_loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var = self.encoder(data)
            reconstruction = self.decoder(self.sampling([z_mean, z_log_var]))
            loss = negative_elbo(data, reconstruction, z_mean, z_log_var)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(loss)
        return {"loss": self.total_loss_tracker.result()}


def run_train_step(x, architecture, batch_size, epochs, latent_dim):
    shape, encoder, decoder = models(architecture, latent_dim)
    vae = KerasIoVAE(encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    timer = EpochTimer()
    binary = (np.random.default_rng(0).random(x.shape, np.float32) < x).astype(np.float32)
    vae.fit(binary.reshape((-1,) + shape), epochs=epochs, batch_size=batch_size,
            callbacks=[timer], verbose=0)
    return timer.times


def run_tf_function(x, architecture, batch_size, epochs, latent_dim, jit_compile=False):
    shape, encoder, decoder = models(architecture, latent_dim)
    optimizer = keras.optimizers.Adam(1e-3)
    variables = encoder.trainable_variables + decoder.trainable_variables
    dataset = (tf.data.Dataset.from_tensor_slices(x.reshape((-1,) + shape)).shuffle(len(x))
               .batch(batch_size)
               .map(lambda b: tf.cast(tf.random.uniform(tf.shape(b)) < b, tf.float32))
               .prefetch(tf.data.AUTOTUNE))

    @tf.function(jit_compile=jit_compile)
    def step(batch):
        with tf.GradientTape() as tape:
            z_mean, z_log_var = encoder(batch, training=True)
            epsilon = tf.random.normal(tf.shape(z_mean))
            reconstruction = decoder(keras_vae.reparameterize(z_mean, z_log_var, epsilon),
                                     training=True)
            loss = negative_elbo(batch, reconstruction, z_mean, z_log_var)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for batch in dataset:
            loss = step(batch)
        loss.numpy()
        times.append(time.perf_counter() - start)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", nargs="+", default=["mlp", "conv"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--num-images", type=int, default=20000)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--data-path", default=None)
    parser.add_argument("--jit", default="auto", help="jit_compile of the fit path: auto, true, false")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    images = load_images("sample", args.data_path, log=print).x_train
    x = images[np.arange(args.num_images) % len(images)].reshape(-1, 784)
    limit = matmul_limit()
    gpus = tf.config.list_physical_devices("GPU")
    device = gpus[0].name if gpus else f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"
    print(f"device: {device}; measured float32 matmul limit: {limit / 1e9:.1f} GFLOP/s")
    jit = {"auto": "auto", "true": True, "false": False}[args.jit.lower()]
    results = []
    for architecture in args.architecture:
        runs = {name: [] for name in
                ("keras_vae.training.fit", "train_step", "tf.function", "tf.function+XLA")}
        for _ in range(args.rounds):
            times, encoder, decoder = run_fit(x, architecture, args.batch_size, args.epochs,
                                              args.latent_dim, jit)
            runs["keras_vae.training.fit"] += times[1:]
            runs["train_step"] += run_train_step(x, architecture, args.batch_size, args.epochs,
                                                 args.latent_dim)[1:]
            runs["tf.function"] += run_tf_function(x, architecture, args.batch_size,
                                                   args.epochs, args.latent_dim)[1:]
            runs["tf.function+XLA"] += run_tf_function(x, architecture, args.batch_size,
                                                       args.epochs, args.latent_dim,
                                                       jit_compile=True)[1:]
        flops = 3 * (forward_flops(encoder) + forward_flops(decoder))
        ours = len(x) / min(runs["keras_vae.training.fit"])
        for method, epoch_times in runs.items():
            rate = len(x) / min(epoch_times)
            row = dict(architecture=architecture, method=method, batch_size=args.batch_size,
                       images_per_second=rate, ratio_fit_over_this=ours / rate,
                       train_mflop_per_image=flops / 1e6,
                       fraction_of_matmul_limit=rate * flops / limit)
            results.append(row)
            print(f"{architecture:5s} {method:14s} {rate:9.0f} img/s  fit/this {ours / rate:5.2f}  "
                  f"{flops / 1e6:6.2f} MFLOP/img  {100 * rate * flops / limit:5.1f}% of matmul limit")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"device": device, "matmul_gflops": limit / 1e9, "results": results},
                      file, indent=2)


if __name__ == "__main__":
    main()
