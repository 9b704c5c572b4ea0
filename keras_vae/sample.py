"""Draws a grid of new digits from the prior with a trained run's decoder.

Usage: `python -m keras_vae.sample RUN_DIR [--num-rows 10] [--seed 0] [--out PATH]`
"""

import argparse
import os
import sys

from keras_vae import checks


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m keras_vae.sample", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="run directory written by python -m keras_vae.train")
    parser.add_argument("--num-rows", type=int, default=10, help="the grid is num-rows square")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="PNG path (default: RUN_DIR/samples.png)")
    args = parser.parse_args(argv)
    try:
        checks.positive_int("num_rows", args.num_rows)
        if not os.path.isfile(os.path.join(args.run_dir, "decoder.keras")):
            raise checks.invalid("run_dir", "a run directory holding decoder.keras",
                                 args.run_dir)
        from keras_vae import plots, train

        _, _, _, decoder = train.load_run(args.run_dir)
        figure = plots.plot_prior_samples(decoder, args.num_rows, args.seed)
        path = args.out or os.path.join(args.run_dir, "samples.png")
        figure.savefig(path, dpi=100)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
