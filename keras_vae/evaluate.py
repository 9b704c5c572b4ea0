"""The evaluation command: a trained run's test-set negative ELBO and importance-weighted
`-log p(x)` (computed by `keras_vae.likelihood`).

Usage: `python -m keras_vae.evaluate RUN_DIR [--iw-samples K] [--data-path PATH]` prints the
metrics as JSON. TensorFlow loads only once the arguments are checked.
"""

import json
import os
import sys

from keras_vae import checks, cli
from keras_vae.likelihood import evaluate_model
from keras_vae.training.rundir import RunDir


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
        RunDir(args.run_dir).check_finished("RUN_DIR")
        if args.iw_samples is not None:
            checks.positive_int("--iw-samples", args.iw_samples)
        if args.data_path is not None and not os.path.isfile(args.data_path):
            raise checks.invalid("--data-path", "an existing .npz file", args.data_path)
    return args


def main(argv=None):
    try:
        args = parse_args(argv)
    except cli.UsageError as error:
        return cli.usage_error(error)
    cli.import_tensorflow()
    from keras_vae.data import load_data

    try:
        config, impl, encoder, decoder = RunDir(args.run_dir).load("RUN_DIR")
        with cli.bad_input():
            data, _ = load_data(config, data_path=args.data_path, log=cli.log_to_stderr)
    except cli.UsageError as error:
        # A --data-path given is named as typed; the run's own data_path as its field.
        return cli.usage_error(error, {"data_path": "--data-path"} if args.data_path else None)
    metrics = evaluate_model(config, impl, encoder, decoder, data.x_test, args.iw_samples)
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
