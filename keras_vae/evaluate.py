"""The evaluation command: a trained run's test-set negative ELBO and importance-weighted
`-log p(x)` (computed by `keras_vae.likelihood`).

Usage: `python -m keras_vae.evaluate RUN_DIR [--iw-samples K] [--data-path PATH]` prints the
metrics as JSON. TensorFlow loads only once the arguments, and the data file's shapes, are
checked.
"""

import json
import math
import sys

from keras_vae import checks, cli, data, datafiles
from keras_vae.likelihood import evaluate_model
from keras_vae.training.rundir import RunDir


def density_note(config):
    """Why a Gaussian run's negative ELBO can be negative, and is no Bernoulli run's number.

    The Gaussian `-log p(x|z) = sum((x - mean)**2) / (2 sigma**2) + D log sigma + D/2 log(2 pi)`
    is a density of grey pixels; its constant alone is `D log(sigma sqrt(2 pi))`, -1,084.8 nats
    for 784 pixels and `sigma = 0.1`.
    """
    pixels = math.prod(config.example_shape)
    constant = pixels * math.log(config.sigma * math.sqrt(2 * math.pi))
    return (f"Note: with --likelihood gaussian, -log p(x|z) is a density of grey pixels, not "
            f"the probability of binary ones: its constant {pixels} * log(sigma * sqrt(2 pi)) "
            f"is {constant:.1f} nats for --sigma {config.sigma:g}, so it is negative wherever "
            "the density exceeds 1, and it changes with --sigma. It cannot be compared with a "
            "Bernoulli run's negative ELBO, which is never negative.")


def parse_args(argv=None):
    """Parses and checks the command line, without importing TensorFlow."""
    parser = cli.ArgumentParser(
        prog="python -m keras_vae.evaluate",
        description="Prints the test-set negative ELBO, its two parts and the importance-\n"
                    "weighted -log p(x) of a trained run as JSON.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory written by python -m keras_vae.train")
    parser.add_argument("--iw-samples", type=int, default=None, metavar="K",
                        help="importance samples k per image (default: the run's --iw-samples)")
    parser.add_argument("--data-path", default=None, metavar="PATH",
                        help="local .npz in the mnist.npz layout (default: the run's data)")
    args = parser.parse_args(argv)
    with cli.bad_input():
        config = RunDir(args.run_dir).check_finished("RUN_DIR")
        if args.iw_samples is not None:
            checks.positive_int("--iw-samples", args.iw_samples)
        # The run's own data file is named by its field, one given by the flag.
        datafiles.image_shapes(config.dataset, args.data_path or config.data_path,
                          "--data-path" if args.data_path else "data_path")
    return args


def main(argv=None):
    try:
        args = parse_args(argv)
    except cli.UsageError as error:
        return cli.usage_error(error)
    cli.import_tensorflow()
    # A --data-path given is named as typed; the run's own data_path as its field.
    names = {"data_path": "--data-path"} if args.data_path else None
    try:
        config, impl, encoder, decoder = RunDir(args.run_dir).load("RUN_DIR")
        with cli.bad_input():
            images, _ = data.load_data(config, data_path=args.data_path, log=cli.log_to_stderr)
    except cli.UsageError as error:
        return cli.usage_error(error, names)
    metrics = evaluate_model(config, impl, encoder, decoder, images.x_test, args.iw_samples)
    print(json.dumps(metrics, indent=2))
    if config.likelihood == "gaussian":
        print(density_note(config), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
