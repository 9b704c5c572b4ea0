"""The training application behind `python -m keras_vae.train`: a run's settings, its run
directory, checkpoints, callbacks, signals, distribution and precision, and fitting."""
