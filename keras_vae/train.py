"""Trains a VAE on MNIST-like data with `model.fit` and writes a run directory.

Usage: `python -m keras_vae.train [--epochs N] [--latent-dim K] [--impl MODULE] [--out DIR] ...`

The run directory holds `vae.keras`, `encoder.keras`, `decoder.keras`, `history.csv`,
`config.json`, `metrics.json` and the plots. A checkpoint is written after every epoch (and, on
request, every N steps or minutes within one), atomically, so a run killed at any moment, even
with SIGKILL, resumes from its last checkpoint when the same command is run again. One process
at a time trains in a run directory, and a finished run is not trained over without --overwrite.
"""

import contextlib
import dataclasses
import importlib
import importlib.util
import os
import signal
import sys

from keras_vae import checks, cli
from keras_vae.evaluate import density_note
from keras_vae.impl import find_impl, load_impl
from keras_vae.training.build import check_builder_options
from keras_vae.training import runlock
from keras_vae.training.rundir import RunDir
from keras_vae.training.config import LR_SCHEDULES, TrainConfig
from keras_vae.data import load_data
from keras_vae.training.distribute import DISTRIBUTIONS
from keras_vae.training.signals import Signals

__all__ = ["main", "parse_args", "train"]

EPILOG = """\
exit status:
  0    the run is finished, also when it already was: the command then says where its results
       are and trains nothing, so a script or notebook cell can safely run it again
  1    training failed: a NaN loss, no readable checkpoint left, or an error in the
       implementation's code (its traceback is printed)
  2    bad input, found before training starts, or the run directory is in use by another
       process
  130  interrupted by Ctrl-C (SIGINT); 143: by SIGTERM. The finished epochs are kept: run the
       same command to resume.
"""


def build_parser():
    """The command line of `python -m keras_vae.train`; each `dest` is a `TrainConfig` field."""
    defaults = TrainConfig()
    parser = cli.ArgumentParser(prog="python -m keras_vae.train", description=__doc__,
                                epilog=EPILOG)
    add = parser.add_argument
    add("--dataset", choices=checks.DATASETS, default=defaults.dataset,
        help="mnist and fashion_mnist are downloaded once by Keras; offline, mnist falls back "
             "to the embedded sample of 5,000 training and 1,000 test digits")
    add("--data-path", metavar="PATH", help="local .npz in the mnist.npz layout, used instead "
                                            "of --dataset")
    add("--likelihood", choices=checks.LIKELIHOODS, default=defaults.likelihood,
        help="the decoder's p(x|z)")
    add("--sigma", type=float, default=defaults.sigma, help="the Gaussian decoder's fixed std")
    add("--beta", type=float, default=defaults.beta, help="weight of the KL term")
    add("--latent-dim", type=int, default=defaults.latent_dim, metavar="K",
        help="size of z; 2 also plots the latent manifold")
    add("--architecture", choices=checks.ARCHITECTURES, default=defaults.architecture,
        help="dense layers, or convolutions on 28x28 images")
    add("--hidden-units", default="512", metavar="UNITS",
        help="comma-separated dense layer sizes, e.g. 200,200")
    add("--activation", default=defaults.activation, help="hidden activation, e.g. relu, tanh")
    add("--epochs", dest="num_epochs", type=int, default=defaults.num_epochs, metavar="N",
        help="passes over the training images")
    add("--batch-size", type=int, default=defaults.batch_size, metavar="N",
        help="images per step, across all replicas")
    add("--learning-rate", type=float, default=defaults.learning_rate, help="Adam's step size")
    add("--binarize", choices=checks.BINARIZATIONS,
        help="training pixels drawn as {0, 1}: afresh every epoch (dynamic) or once (static) "
             "(default: dynamic for bernoulli, none for gaussian)")
    add("--seed", type=int, default=defaults.seed,
        help="seed of the initial weights, the noise and the shuffling")
    add("--out", default=defaults.out, metavar="DIR", help="run directory")
    # The default shown is this package's own (assignments in the student bundle).
    add("--impl", default=defaults.impl, metavar="MODULE",
        help="module implementing the contract")
    add("--validation-split", type=float, default=defaults.validation_split, metavar="FRACTION",
        help="fraction of the training images held out for validation")
    add("--kl-warmup", dest="kl_warmup_epochs", type=int, default=0, metavar="N",
        help="epochs over which beta rises linearly from 0 (0: off)")
    add("--lr-schedule", choices=LR_SCHEDULES, default="constant",
        help="cosine decays the learning rate to 0 over --epochs")
    add("--early-stopping", type=int, default=0, metavar="PATIENCE",
        help="epochs without a better validation loss before stopping (0: off)")
    add("--iw-samples", dest="num_iw_samples", type=int, default=defaults.num_iw_samples,
        metavar="K", help="importance samples k per image for the test-set -log p(x)")
    add("--checkpoint-every-steps", type=int, default=0, metavar="N",
        help="also checkpoint within an epoch every N training steps, rounded up to the 32 "
             "steps of one compiled call (0: only at the end of each epoch)")
    add("--checkpoint-every-minutes", type=float, default=0.0, metavar="M",
        help="also checkpoint within an epoch once M minutes have passed since the last "
             "checkpoint (0: off)")
    add("--distribute", choices=DISTRIBUTIONS,
        help="none, mirrored (every visible GPU) or multi-worker (the machines of TF_CONFIG) "
             "(default: mirrored when more than one GPU is visible, else none)")
    add("--mixed-precision", action="store_true", default=None,
        help="train in mixed_float16 (default: on for a GPU of compute capability 7.0 or "
             "more, off on CPU)")
    add("--no-mixed-precision", dest="mixed_precision", action="store_false", default=None,
        help="train in float32")
    add("--tensorboard", action="store_true",
        help="write TensorBoard logs (the losses per epoch and the plots) to DIR/logs")
    add("--overwrite", action="store_true",
        help="discard the run directory's results, history and checkpoints and train anew")
    return parser


FLAG_NAMES = cli.flag_names(build_parser())


def parse_args(argv=None):
    """Parses the command line into a validated `TrainConfig` and the `--overwrite` flag.

    Imports no TensorFlow: every check here is quick.

    Raises:
        cli.UsageError: naming the flag of the first invalid argument.
    """
    args = vars(build_parser().parse_args(argv))
    overwrite = args.pop("overwrite")
    with cli.bad_input():
        units = args["hidden_units"]
        try:
            args["hidden_units"] = tuple(int(unit) for unit in units.split(","))
        except ValueError:  # An empty item too: "512,,256" is not two layers.
            args["hidden_units"] = ()
        if not args["hidden_units"] or min(args["hidden_units"]) < 1:
            raise checks.invalid("hidden_units", "comma-separated positive integers such as "
                                 "512,256", units)
        if args["binarize"] is None:
            args["binarize"] = "dynamic" if args["likelihood"] == "bernoulli" else "none"
        args["distribute"] = args["distribute"] or "auto"
        args["out"] = os.path.normpath(args["out"])
        config = TrainConfig(**args).validate()
        find_impl(config.impl)
        if config.tensorboard and importlib.util.find_spec("tensorboard") is None:
            raise checks.invalid("tensorboard", "the tensorboard package installed (pip "
                                 "install tensorboard)", "a Python without it")
    return config, overwrite


def train(config, overwrite=False, log=print, warn=None, hold_signals=contextlib.nullcontext):
    """Trains, saves, plots and evaluates the run of `config`; returns the test metrics.

    Resumes an unfinished run in `config.out` from its last checkpoint; a finished run of the
    same config is not trained again (its metrics are returned) unless `overwrite`. TensorFlow
    is imported only once the run directory is known to need training.

    Args:
        config: a `TrainConfig`.
        overwrite: whether to discard what `config.out` holds and train anew.
        log: function called with each line of progress.
        warn: function called with one line per unreadable checkpoint (default: to stderr).
        hold_signals: context manager factory; no interrupt is raised while a checkpoint is
            written inside it.

    Raises:
        cli.UsageError: (a `ValueError`) for bad input: an invalid config, a run directory
            holding another run, data that does not fit the config.
        runlock.RunDirectoryBusy: when another process trains in the run directory.
        checkpoints.CheckpointError: when the run's checkpoints exist but none can be read.
        FloatingPointError: when the loss becomes NaN or infinite.
    """
    from keras_vae.training import distribute

    with cli.bad_input():
        config.validate()
        find_impl(config.impl)
        if config.distribute == "multi-worker":
            distribute.check_tf_config()
            config = dataclasses.replace(config, out=distribute.worker_out(config.out))
            checks.folder("out", config.out, "a folder for the run directory")
    run_dir = RunDir(config.out)
    with runlock.lock(run_dir):
        return _train_locked(config, run_dir, overwrite, log, warn or cli.log_to_stderr,
                             hold_signals)


def _train_locked(config, run_dir, overwrite, log, warn, hold_signals):
    runlock.settle(run_dir)  # An --overwrite stopped before its run began: the old run back.
    with cli.bad_input():
        # With --overwrite, what the directory holds is replaced, whatever it is.
        found = "new" if overwrite else run_dir.state(config, flag_names=FLAG_NAMES)
    if found == "finished":
        run_dir.remove_checkpoints()  # Left when killed as it finished.
        log(f"The run in {run_dir} is already finished: its models, plots and "
            "metrics.json are there. Add --overwrite to train it anew.")
        return run_dir.read_metrics()
    # The checks that can refuse the run come before anything in the directory is moved.
    cli.import_tensorflow()
    importlib.import_module(config.impl)  # An error in its code ends in its traceback.
    with cli.bad_input():
        # Only checks the contract's names, and that its builders take the options given.
        check_builder_options(config, load_impl(config.impl))
        data, x_val = load_data(config, log=log)
        if config.batch_size > len(data.x_train):  # Offline MNIST is the embedded sample.
            raise checks.invalid("batch_size", f"at most the {len(data.x_train)} training "
                                 "images", config.batch_size)
    if overwrite:
        from keras_vae.plots import FIGURES

        # Set aside, not removed: the refusals that need the models or the devices (a batch
        # that the replicas cannot split) come in fit_and_save, before it writes the new run's
        # config.json.
        runlock.set_aside(run_dir, FIGURES + ("samples",))
    elif found == "new":
        run_dir.remove_checkpoints()  # Not known to belong to this run.
    from keras_vae.training.fit import fit_and_save

    try:
        return fit_and_save(config, data, x_val, _noting_densities(config, log), warn,
                            hold_signals)
    finally:
        runlock.settle(run_dir)


def _noting_densities(config, log):
    """`log`, which for a Gaussian run adds after the test metrics why they can be negative."""
    if config.likelihood != "gaussian":
        return log

    def log_and_note(line):
        log(line)
        if line.startswith("Test set ("):
            log(density_note(config))
    return log_and_note


def main(argv=None):
    signals = Signals()
    out = None
    with signals.installed():
        try:
            config, overwrite = parse_args(argv)
            out = config.out
            train(config, overwrite, hold_signals=signals.hold)
        except (cli.UsageError, runlock.RunDirectoryBusy) as error:
            return cli.usage_error(error, FLAG_NAMES)
        except KeyboardInterrupt:
            signum = signals.received or signal.SIGINT
            kept = f" in {out}" if out else ""
            print(f"\nInterrupted by {signal.Signals(signum).name}: the finished epochs are kept"
                  f"{kept}; run the same command to resume.", file=sys.stderr)
            return 128 + signum
        except Exception as error:
            from keras_vae.training.checkpoints import CheckpointError

            if not isinstance(error, (FloatingPointError, CheckpointError)):
                raise  # An error in the implementation's code: its traceback, exit status 1.
            return cli.error(error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
