"""Test-set likelihood of VAEs trained with `python -m keras_vae.train`, for the README table.

Usage: `python benchmarks/likelihood.py --data-path PATH [--iw-samples 1000] [--only NAME ...]`

Each configuration is one training command (dynamic binarization for training, a fixed seeded
binarization of the test set, 10% of the training images held out for validation); this
script runs it, then collects `metrics.json` and `history.csv` from its run directory.
Without `--data-path` the commands use Keras' full MNIST (60,000 training images).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from keras_vae.training.rundir import RunDir  # noqa: E402

CONFIGS = {
    "mlp-default-30-epochs": ["--epochs", "30"],
    "mlp-early-stopping": ["--epochs", "200", "--early-stopping", "10"],
    "burda-early-stopping": ["--hidden-units", "200,200", "--activation", "tanh",
                             "--latent-dim", "50", "--epochs", "300", "--early-stopping", "10"],
    "burda-warmup-cosine": ["--hidden-units", "200,200", "--activation", "tanh",
                            "--latent-dim", "50", "--epochs", "300", "--early-stopping", "10",
                            "--kl-warmup", "10", "--lr-schedule", "cosine"],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-path", default=None)
    parser.add_argument("--iw-samples", type=int, default=1000)
    parser.add_argument("--out", default="runs/likelihood")
    parser.add_argument("--only", nargs="*", default=list(CONFIGS))
    args = parser.parse_args(argv)
    rows = []
    for name in args.only:
        command = [sys.executable, "-m", "keras_vae.train", *CONFIGS[name],
                   "--iw-samples", str(args.iw_samples), "--out", os.path.join(args.out, name)]
        if args.data_path:
            command += ["--data-path", args.data_path]
        print(" ".join(command[1:]), flush=True)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        run_dir = RunDir(os.path.join(args.out, name))
        metrics = run_dir.read_metrics()
        with open(run_dir.history_file) as file:
            history = list(csv.DictReader(file))
        best = min(history, key=lambda row: float(row["val_loss"]))
        rows.append(dict(name=name, command=" ".join(command[1:]), **metrics,
                         best_epoch=int(best["epoch"]) + 1, best_val_loss=float(best["val_loss"]),
                         wall_seconds=time.perf_counter() - start))
        print(json.dumps(rows[-1]), flush=True)
    with open(os.path.join(args.out, "results.json"), "w") as file:
        json.dump(rows, file, indent=2)


if __name__ == "__main__":
    main()
