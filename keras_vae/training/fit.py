"""The TensorFlow half of the training command: builds the models, fits them from the last
checkpoint, then saves, plots and evaluates the run.

`keras_vae.train` calls `fit_and_save` once it has checked the input, locked the run directory
and loaded the data.
"""

import importlib
import os
import time

from keras_vae import atomic, checks, cli, plots
from keras_vae.training import callbacks, distribute
from keras_vae.training.checkpoints import Checkpoints, checkpoint_callback
from keras_vae.training.rundir import RunDir
from keras_vae.impl import load_impl


def fit_and_save(config, data, x_val, log, warn, hold_signals):
    """Trains the run of `config` in its locked run directory; returns the test metrics.

    Args:
        config: the run's `TrainConfig`; its run directory is locked by this process.
        data, x_val: from `keras_vae.data.load_data(config)`.
        log, warn, hold_signals: as `keras_vae.train.train` takes them.
    """
    import keras
    import tensorflow as tf

    from keras_vae.likelihood import evaluate_model
    from keras_vae.training.build import build_models
    from keras_vae.training.metrics import report_loss_terms

    # The strategy comes before any other TensorFlow operation: a multi-worker one configures
    # the process.
    config = distribute.resolve(config)
    run_dir = RunDir(config.out)
    with cli.bad_input():
        run_dir.state(config)  # Now that the precision is known.
        strategy = distribute.choose_strategy(config.distribute)
        distribute.check_batch_size(config.batch_size, strategy)
    distribute.set_precision(config.mixed_precision)
    keras.utils.set_random_seed(config.seed)
    importlib.import_module(config.impl)  # An error in its code ends in its traceback.
    with cli.bad_input():
        impl = load_impl(config.impl)  # Only checks the contract's names.
        try:
            keras.activations.get(config.activation)
        except ValueError:
            raise checks.invalid("activation", "the name of a Keras activation, such as "
                                 "'relu'", config.activation) from None
    with strategy.scope():
        encoder, decoder, vae = build_models(config, impl)
        restore_compile = report_loss_terms(impl, vae, config.likelihood, config.sigma)
    for model in (encoder, decoder):  # Evaluation and sampling load them: fail now, not after.
        keras.saving.serialize_keras_object(model)
    annealed = []
    if config.kl_warmup_epochs:
        with cli.bad_input():
            annealed = callbacks.annealable_beta(impl, vae)
    checkpoints = Checkpoints(run_dir, warn)
    with strategy.scope():
        state = checkpoints.restore(vae)
    run_dir.write_config(config)

    gpus = tf.config.list_physical_devices("GPU")
    resuming = ""
    if state:
        resuming = f"; resuming after epoch {state['epoch']}" + (
            f" and {state['step']} steps of the next" if state["step"] else "")
    replicas = strategy.num_replicas_in_sync
    devices = f"{len(gpus)} GPU{'' if len(gpus) == 1 else 's'}" if gpus else "CPU"
    log(f"Device: {devices}, {config.distribute} "
        f"({replicas} replica{'' if replicas == 1 else 's'}), "
        f"{'mixed_float16' if config.mixed_precision else 'float32'}; data: {data.source}, "
        f"{len(data.x_train)} training, {len(x_val)} validation, {len(data.x_test)} test images"
        + resuming)
    start = time.perf_counter()
    _fit(config, vae, data, x_val, checkpoints, state, annealed, hold_signals)
    train_seconds = time.perf_counter() - start
    callbacks.restore_beta(annealed, config.beta)
    with strategy.scope():
        restore_compile()

    history = run_dir.read_history()
    _save_models(run_dir, vae, encoder, decoder, warn)
    _save_figures(config, run_dir, encoder, decoder, data, history)
    metrics = evaluate_model(config, impl, encoder, decoder, data.x_test)
    metrics.update(train_seconds=train_seconds, epochs_trained=len(history["loss"]),
                   data_source=data.source)
    run_dir.write_metrics(metrics)
    run_dir.remove_checkpoints()
    log(f"Test set ({metrics['num_test_images']} images): negative ELBO "
        f"{metrics['test_loss']:.2f} nats (reconstruction {metrics['test_reconstruction_loss']:.2f}"
        f" + KL {metrics['test_kl_loss']:.2f}); importance-weighted -log p(x) "
        f"{metrics['test_iw_nll']:.2f} nats (k={metrics['num_iw_samples']}).")
    if config.tensorboard:
        log(f"TensorBoard logs: {run_dir.logs} (python -m tensorboard.main "
            f"--logdir {run_dir.logs})")
    log(f"Run directory: {run_dir}")
    return metrics


def _fit(config, vae, data, x_val, checkpoints, state, annealed, hold_signals):
    """Trains from the checkpoint `state` (or the start) to the last epoch, checkpointing the
    weights to save at the end."""
    from keras_vae.data import make_dataset

    progress = dict(epoch=0, step=0, history=[], complete=False)
    progress.update(state or {})
    if progress["complete"]:
        return
    progress.update(offset=progress["step"], nan_epoch=None)  # Steps before this fit call.
    steps_per_epoch = len(data.x_train) // config.batch_size
    train_data = make_dataset(data.x_train, config.batch_size, config.binarize,
                              seed=config.seed)
    val_data = (make_dataset(x_val, config.batch_size, shuffle=False)
                if len(x_val) else None)
    checkpoint = checkpoint_callback(config, vae, checkpoints, progress, steps_per_epoch,
                                     hold_signals)
    options = dict(validation_data=val_data, shuffle=False,
                   callbacks=callbacks.training_callbacks(config, annealed, len(x_val))
                   + [checkpoint], verbose=1 if os.isatty(1) else 2)
    if progress["step"]:
        # The rest of an epoch checkpointed within: its row averages the steps trained now.
        vae.fit(train_data, initial_epoch=progress["epoch"], epochs=progress["epoch"] + 1,
                steps_per_epoch=steps_per_epoch - progress["step"], **options)
    if progress["epoch"] < config.num_epochs and not vae.stop_training:
        vae.fit(train_data, initial_epoch=progress["epoch"], epochs=config.num_epochs,
                **options)
    if progress["nan_epoch"] is not None:
        raise FloatingPointError(
            f"The loss became NaN or infinite in epoch {progress['nan_epoch'] + 1}; the models "
            "were not saved. Try a lower --learning-rate (with --overwrite), or check the data "
            "range.")
    # The weights to save (EarlyStopping may have restored the best epoch's), kept until saved.
    with hold_signals():
        checkpoints.save(vae, progress["epoch"], 0, progress["history"], complete=True)


def _save_models(run_dir, vae, encoder, decoder, warn):
    """Saves the three models as `.keras` files; a VAE that Keras cannot serialize (a subclass
    without `get_config`) as `vae.weights.h5` instead, with a warning."""
    import keras

    for name, model in (("encoder", encoder), ("decoder", decoder)):
        atomic.replace_atomically(run_dir.model_file(name), model.save)
    try:
        config = keras.saving.serialize_keras_object(vae)
    except NotImplementedError:
        config = None
    if config is None:
        warn(f"warning: {type(vae).__name__} does not implement get_config(), so Keras cannot "
             f"write vae.keras; its weights are in {run_dir.vae_weights_file}.")
        atomic.replace_atomically(run_dir.vae_weights_file, vae.save_weights)
    else:
        atomic.replace_atomically(run_dir.model_file("vae"), vae.save)


def _save_figures(config, run_dir, encoder, decoder, data, history):
    """Writes the run's PNG plots, and with --tensorboard the same images to its logs."""
    labels = dict(label_name="digit")
    if config.data_path:
        labels = dict(label_name="label")
    elif config.dataset == "fashion_mnist":
        labels = dict(label_name="class", class_names=plots.FASHION_MNIST_CLASSES)
    figures = plots.run_figures(encoder, decoder, data.x_test, data.y_test, history,
                                config.latent_dim, config.seed, **labels)
    pngs = {}
    for name, figure in figures.items():
        pngs[name] = plots.png_bytes(figure)
        atomic.replace_atomically(run_dir.figure_file(name),
                                  lambda partial, png=pngs[name]: _write_bytes(partial, png))
    if config.tensorboard:
        callbacks.log_figures(run_dir, pngs, step=len(history.get("loss", [])))


def _write_bytes(path, contents):
    with open(path, "wb") as file:
        file.write(contents)
