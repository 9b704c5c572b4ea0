"""Draws a grid of new digits from the prior with a trained run's decoder.

Usage: `python -m keras_vae.sample RUN_DIR [--num-rows 10] [--seed S] [--out PATH]` writes the
grid as a PNG and prints its path. Each run draws new digits, with a seed of its own unless
`--seed` gives one; the figure's title names it, so `--seed` draws the same digits again. The
run's own seed (`seed` in its config.json) draws the digits of its prior_samples.png.
TensorFlow loads only once the arguments are checked.
"""

import os
import random
import sys

from keras_vae import atomic, checks, cli
from keras_vae.training.rundir import RunDir

# The grid is drawn in a 6-inch figure: at 100 rows a digit is 6 pixels wide, and a grid of
# 1,000 rows (a million digits) takes gigabytes.
MAX_ROWS = 100


def parse_args(argv=None):
    """Parses and checks the command line, without importing TensorFlow."""
    parser = cli.ArgumentParser(prog="python -m keras_vae.sample", description=__doc__)
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory written by python -m keras_vae.train")
    parser.add_argument("--num-rows", type=int, default=10, metavar="N",
                        help=f"the grid is N by N digits, N at most {MAX_ROWS}")
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help="seed of the latent draws, named in the figure's title (default: a "
                        "new one each time)")
    parser.add_argument("--out", default=None, metavar="PATH",
                        help="PNG to write (default: RUN_DIR/samples.png)")
    args = parser.parse_args(argv)
    with cli.bad_input():
        if not 1 <= args.num_rows <= MAX_ROWS:
            raise checks.invalid("--num-rows", f"an integer from 1 to {MAX_ROWS}", args.num_rows)
        if args.seed is not None and args.seed < 0:  # NumPy takes any non-negative integer.
            raise checks.invalid("--seed", "a non-negative integer", args.seed)
        RunDir(args.run_dir).check_finished("RUN_DIR")
        if args.out is not None:
            folder = os.path.dirname(args.out) or "."
            if not args.out.lower().endswith(".png") or os.path.isdir(args.out):
                raise checks.invalid("--out", "a .png file", args.out)
            if not os.path.isdir(folder):
                raise checks.invalid("--out", "a path in an existing folder", args.out)
    return args


def main(argv=None):
    try:
        args = parse_args(argv)
    except cli.UsageError as error:
        return cli.usage_error(error)
    cli.import_tensorflow()
    from keras_vae import plots

    run_dir = RunDir(args.run_dir)
    try:
        config, _, _, decoder = run_dir.load("RUN_DIR")
    except cli.UsageError as error:
        return cli.usage_error(error)
    seed = random.randrange(2**32) if args.seed is None else args.seed
    figure = plots.plot_prior_samples(decoder, args.num_rows, seed, config.latent_dim)
    png = plots.png_bytes(figure)
    path = args.out or run_dir.figure_file("samples")
    atomic.replace_atomically(path, lambda partial: _write_bytes(partial, png))
    print(path)
    return 0


def _write_bytes(path, contents):
    with open(path, "wb") as file:
        file.write(contents)


if __name__ == "__main__":
    sys.exit(main())
