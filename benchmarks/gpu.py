"""What a GPU does with keras_vae: fit throughput in float32 and mixed precision, scaling over
GPUs, and the wall time to a test -log p(x) of 100 nats.

Usage:
    python benchmarks/gpu.py throughput [--architecture mlp conv] [--batch-size 128 512 2048]
    python benchmarks/gpu.py scaling [--batch-size 1024] [--mixed-precision]
    python benchmarks/gpu.py target [--target-nll 100] [--data-path mnist.npz]

Every mode takes `--device auto|gpu|cpu` (auto: the GPUs when there are any; cpu hides them)
and `--json PATH`, and prints the device and the machine's own matrix-multiply throughput in
float32 and float16, measured in the same run, beside its figures.

- `throughput`: images per second of `keras_vae.build_vae` + `make_dataset` + `fit`, the
  fastest epoch after the first, for each architecture, precision and batch size; the fraction
  of the matmul throughput of that precision that the training FLOPs reach.
- `scaling`: the same `fit` under `MirroredStrategy` over the first 1, 2, 4, ... GPUs at one
  global batch size, and the speed-up over one GPU.
- `target`: trains the default MLP (784-512-16, batch 128, Adam 1e-3) epoch by epoch and
  estimates the test-set `-log p(x)` (importance weighted, k = `--iw-samples`) after each one,
  until it reaches `--target-nll`; reports the training wall time to get there, and the wall
  time with the evaluations. Needs the MNIST test set (`keras.datasets` or `--data-path`): on
  the embedded sample it runs, but its figure is not MNIST's.
"""

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("throughput", "scaling", "target"))
    parser.add_argument("--device", choices=("auto", "gpu", "cpu"), default="auto")
    parser.add_argument("--architecture", nargs="+", default=["mlp", "conv"])
    parser.add_argument("--batch-size", type=int, nargs="+", default=None,
                        help="throughput: 128 512 2048; scaling: 1024 (global); target: 128")
    parser.add_argument("--precision", nargs="+", choices=("float32", "mixed"),
                        default=["float32", "mixed"], help="throughput: precisions to compare")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="scaling and target: train in mixed_float16")
    parser.add_argument("--epochs", type=int, default=3, help="throughput and scaling")
    parser.add_argument("--num-images", type=int, default=60000,
                        help="throughput and scaling: images per epoch (the sample, repeated)")
    parser.add_argument("--target-nll", type=float, default=100.0)
    parser.add_argument("--max-epochs", type=int, default=100, help="target: give up after")
    parser.add_argument("--iw-samples", type=int, default=100, help="target: k per image")
    parser.add_argument("--dataset", default="mnist", help="target: mnist or sample")
    parser.add_argument("--data-path", default=None, help="local .npz in the mnist.npz layout")
    parser.add_argument("--json", default=None)
    return parser.parse_args(argv)


def select_device(device):
    """Hides the GPUs for `cpu`; fails for `gpu` without one. Returns the device in words."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
        gpus = []
    if device == "gpu" and not gpus:
        raise SystemExit("error: --device gpu, but TensorFlow sees no GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                 for gpu in gpus]
        return f"{len(gpus)} GPU: {', '.join(names)}"
    return f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"


def matmul_flops(dtype, size=4096, seconds=1.0):
    """Measured throughput of a square `size` matrix multiply in `dtype`, in FLOP/s."""
    import tensorflow as tf

    a = tf.random.normal((size, size), dtype=dtype)
    b = tf.random.normal((size, size), dtype=dtype)
    matmul = tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, b), tf.float32)))
    matmul().numpy()
    repeats, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or repeats < 3:
        matmul().numpy()
        repeats += 1
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def training_images(args):
    import numpy as np

    from keras_vae.data import load_images

    images = load_images("sample", args.data_path, log=lambda line: None).x_train
    return images[np.arange(args.num_images) % len(images)].reshape(-1, 784)


def fit_throughput(x, architecture, batch_size, epochs, mixed, strategy=None):
    """Images per second of the fastest epoch after the first, and the training FLOPs/image."""
    import keras
    import tensorflow as tf

    import keras_vae
    from keras_vae.data import make_dataset
    from keras_vae.training.distribute import set_precision
    from speed import EpochTimer, forward_flops

    set_precision(mixed)
    shape = (28, 28, 1) if architecture == "conv" else (784,)
    try:
        with (strategy or tf.distribute.get_strategy()).scope():
            encoder = keras_vae.build_encoder(shape, 16, architecture=architecture)
            decoder = keras_vae.build_decoder(16, shape, architecture=architecture)
            vae = keras_vae.build_vae(encoder, decoder)
        timer = EpochTimer()
        vae.fit(make_dataset(x.reshape((-1,) + shape), batch_size, "dynamic"), epochs=epochs,
                callbacks=[timer], shuffle=False, verbose=0)
    finally:
        set_precision(False)
    flops = 3 * (forward_flops(encoder) + forward_flops(decoder))
    keras.backend.clear_session()
    steps = len(x) // batch_size
    return steps * batch_size / min(timer.times[1:] or timer.times), flops


def throughput(args, limits):
    x = training_images(args)
    rows = []
    for architecture in args.architecture:
        for batch_size in args.batch_size or (128, 512, 2048):
            for precision in args.precision:
                rate, flops = fit_throughput(x, architecture, batch_size, args.epochs,
                                             precision == "mixed")
                limit = limits["float16" if precision == "mixed" else "float32"]
                rows.append(dict(architecture=architecture, batch_size=batch_size,
                                 precision=precision, images_per_second=rate,
                                 train_flops_per_image=flops,
                                 fraction_of_matmul=rate * flops / limit))
                print(f"{architecture:4s} batch {batch_size:5d} {precision:7s} "
                      f"{rate:10,.0f} images/s  {rows[-1]['fraction_of_matmul']:6.1%} of the "
                      f"{'float16' if precision == 'mixed' else 'float32'} matmul", flush=True)
    return rows


def scaling(args):
    import tensorflow as tf

    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    counts = [n for n in (1, 2, 4, 8, 16) if n <= len(devices)]
    batch_size = (args.batch_size or [1024])[0]
    x = training_images(args)
    rows = []
    for architecture in args.architecture:
        for count in counts:
            strategy = tf.distribute.MirroredStrategy([d.name for d in devices[:count]])
            rate, _ = fit_throughput(x, architecture, batch_size, args.epochs,
                                     args.mixed_precision, strategy)
            base = rate if count == 1 else base
            rows.append(dict(architecture=architecture, devices=count, batch_size=batch_size,
                             images_per_second=rate, speedup=rate / base))
            print(f"{architecture:4s} {count} device(s), global batch {batch_size}: "
                  f"{rate:10,.0f} images/s, x{rate / base:.2f}", flush=True)
    return rows


def target(args):
    """Training wall time until the test -log p(x) estimate reaches `args.target_nll`."""
    import keras

    from keras_vae import impl as impl_module
    from keras_vae.data import make_dataset
    from keras_vae.training.distribute import set_precision
    from keras_vae.likelihood import importance_weighted_nll
    from keras_vae.data import load_data
    from keras_vae.training.config import TrainConfig
    from keras_vae.training.build import build_models

    config = TrainConfig(dataset=args.dataset, data_path=args.data_path,
                         batch_size=(args.batch_size or [128])[0], num_epochs=args.max_epochs,
                         validation_split=0.0)
    data, _ = load_data(config, log=print)
    impl = impl_module.load_impl("keras_vae")
    set_precision(args.mixed_precision)
    try:
        keras.utils.set_random_seed(config.seed)
        encoder, decoder, vae = build_models(config, impl)
        train_data = make_dataset(data.x_train, config.batch_size, config.binarize)
        train_seconds = eval_seconds = 0.0
        curve = []
        for epoch in range(args.max_epochs):
            start = time.perf_counter()
            vae.fit(train_data, initial_epoch=epoch, epochs=epoch + 1, shuffle=False, verbose=0)
            train_seconds += time.perf_counter() - start
            start = time.perf_counter()
            nll = importance_weighted_nll(impl, encoder, decoder, data.x_test, args.iw_samples)
            eval_seconds += time.perf_counter() - start
            curve.append(dict(epoch=epoch + 1, train_seconds=train_seconds, test_iw_nll=nll))
            print(f"epoch {epoch + 1}: -log p(x) {nll:.2f} nats after {train_seconds:.1f} s "
                  "of training", flush=True)
            if nll <= args.target_nll:
                break
    finally:
        set_precision(False)
    reached = curve[-1]["test_iw_nll"] <= args.target_nll
    return dict(data=data.source, reached=reached, epochs=len(curve),
                train_seconds=train_seconds if reached else None,
                wall_seconds_with_evaluation=train_seconds + eval_seconds if reached else None,
                iw_samples=args.iw_samples, curve=curve)


def main(argv=None):
    args = parse_args(argv)
    device = select_device(args.device)
    import tensorflow as tf

    limits = {dtype: matmul_flops(getattr(tf, dtype)) for dtype in ("float32", "float16")}
    print(f"device: {device}; matmul: {limits['float32'] / 1e12:.2f} TFLOP/s float32, "
          f"{limits['float16'] / 1e12:.2f} TFLOP/s float16", flush=True)
    results = dict(device=device, tensorflow=tf.__version__, mode=args.mode,
                   matmul_flops=limits)
    if args.mode == "throughput":
        results["rows"] = throughput(args, limits)
    elif args.mode == "scaling":
        results["rows"] = scaling(args)
    else:
        results["target"] = target(args)
        figure = results["target"]
        print(f"{figure['data']}: " + (
            f"-log p(x) <= {args.target_nll} after {figure['epochs']} epochs, "
            f"{figure['train_seconds']:.1f} s of training "
            f"({figure['wall_seconds_with_evaluation']:.1f} s with the evaluations)"
            if figure["reached"] else f"not reached in {figure['epochs']} epochs"))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
