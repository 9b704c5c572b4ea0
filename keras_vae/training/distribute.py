"""Training on several devices and machines with `tf.distribute`, and mixed precision.

The training command calls `choose_strategy` and `set_precision` before it builds any model,
then builds the encoder, the decoder and the VAE inside `strategy.scope()`:

    strategy = choose_strategy("mirrored")
    set_precision(True)
    with strategy.scope():
        vae = build_vae(build_encoder(...), build_decoder(...))
    vae.fit(make_dataset(x_train, batch_size))  # batch_size: the global batch

`fit` splits each global batch across the replicas, sums the replicas' gradients of their
losses scaled by `1 / num_replicas`, and reports the metrics of the global batch. What Keras
3.15 supports under each strategy is in `docs/distribution.md`; `build_vae` turns off what it
does not (XLA, several steps per compiled call) when its scope has several replicas.
"""

import json
import os

from keras_vae import checks

DISTRIBUTIONS = ("none", "mirrored", "multi-worker")
# NVIDIA GPUs with tensor cores (Volta and later) run float16 matrix products several times
# faster than float32; older ones do not (TensorFlow's mixed precision guide).
MIXED_PRECISION_COMPUTE_CAPABILITY = (7, 0)


def default_distribution():
    """`"mirrored"` when more than one GPU is visible, else `"none"`."""
    import tensorflow as tf

    return "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "none"


def choose_strategy(name):
    """Creates the `tf.distribute.Strategy` named by `name`.

    Call it before any other TensorFlow operation: `MultiWorkerMirroredStrategy` configures the
    collective ops of the process, which TensorFlow allows only at startup.

    Args:
        name: `"none"` (the default strategy: one device), `"mirrored"` (`MirroredStrategy`
            over every visible GPU; without a GPU, over every logical CPU device, one unless
            the CPU was split with `tf.config.set_logical_device_configuration`), or
            `"multi-worker"` (`MultiWorkerMirroredStrategy`, with the cluster and this
            process's task read from the `TF_CONFIG` environment variable).

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        ValueError: for an unknown `name`, or `"multi-worker"` without a valid `TF_CONFIG`.
    """
    checks.choice("distribute", name, DISTRIBUTIONS)
    import tensorflow as tf

    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = (tf.config.list_logical_devices("GPU")
                   or tf.config.list_logical_devices("CPU"))
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    check_tf_config()
    return _multi_worker_strategy_class()()


def _multi_worker_strategy_class():
    import tensorflow as tf

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        """`tf.distribute.MultiWorkerMirroredStrategy` whose `reduce` takes what Keras 3 gives.

        Keras 3.15's `fit` and `evaluate` call `strategy.reduce` on the nested `(x, y)` batch
        (to build the model's metrics) and with `axis=0` on the scalar metric results; the
        strategy takes one value at a time and no axis for a scalar, and fails both
        ("Attempt to convert a value (PerReplica...)", "Invalid reduction dimension 0 for
        input with 0 dimensions"). `MirroredStrategy` accepts both calls.
        """

        def reduce(self, reduce_op, value, axis):
            def reduce_one(one):
                rank = self.experimental_local_results(one)[0].shape.rank
                return super(MultiWorkerMirroredStrategy, self).reduce(
                    reduce_op, one, None if rank == 0 else axis)

            return tf.nest.map_structure(reduce_one, value)

    return MultiWorkerMirroredStrategy


def check_tf_config():
    """Raises `ValueError` unless `TF_CONFIG` names a cluster of workers and this task.

    The training command calls it before it touches the run directory or loads the data.
    """
    raw = os.environ.get("TF_CONFIG")
    expected = ('a TF_CONFIG environment variable such as {"cluster": {"worker": '
                '["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}')
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        workers = cluster["worker"]
        if not isinstance(workers, list) or not workers or task["type"] not in cluster:
            raise ValueError
        int(task["index"])
    except (TypeError, ValueError, KeyError):
        raise checks.invalid("distribute", expected + " for 'multi-worker'",
                             checks.NOTHING if raw is None else raw)


def is_chief():
    """Whether this process trains in the run directory itself (the others beside it).

    It does unless `TF_CONFIG` names it a task other than the `chief`, or, in a cluster
    without a chief, a worker other than worker 0.
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return True
    config = json.loads(raw)
    task = config.get("task", {})
    if task.get("type") == "chief":
        return True
    if "chief" in config.get("cluster", {}):
        return False
    return task.get("type", "worker") == "worker" and int(task.get("index", 0)) == 0


def worker_out(out):
    """The run directory of this process: `out` for the chief, `out.worker-N` for worker N.

    Every worker trains, checkpoints and resumes in lockstep, and saves the same models,
    plots and metrics at the end; the chief's directory is the run's. The others keep theirs
    beside it, so that each process locks and resumes its own run directory.
    """
    if os.environ.get("TF_CONFIG"):
        check_tf_config()  # is_chief reads it.
    if is_chief():
        return out
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    return f"{out}.{task['type']}-{int(task['index'])}"


def resolve(config):
    """Resolves a training config's choices that depend on the machine.

    Args:
        config: a frozen dataclass with the fields `distribute` (`"auto"` or one of
            `DISTRIBUTIONS`) and `mixed_precision` (`None` for automatic, or a bool).

    Returns:
        A copy with `distribute="auto"` replaced by `default_distribution()` and
        `mixed_precision=None` by `default_mixed_precision()`.
    """
    import dataclasses

    name = default_distribution() if config.distribute == "auto" else config.distribute
    mixed = config.mixed_precision
    if mixed is None:
        mixed = default_mixed_precision()
    return dataclasses.replace(config, distribute=name, mixed_precision=bool(mixed))


def check_batch_size(batch_size, strategy):
    """Raises `ValueError` unless the global `batch_size` splits evenly across the replicas.

    With equal shares every replica's mean loss has the same weight, so the gradient is that of
    the global batch's mean.
    """
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise checks.invalid("batch_size", f"a multiple of the {replicas} replicas",
                             batch_size)
    return batch_size


def default_mixed_precision():
    """Whether mixed precision is expected to pay: a GPU of compute capability 7.0 or more."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability and tuple(capability) >= MIXED_PRECISION_COMPUTE_CAPABILITY:
            return True
    return False


def set_precision(mixed):
    """Sets Keras' global dtype policy to `"mixed_float16"` or `"float32"`.

    Call it before building the models: a layer takes the policy in force when it is created.
    Under `"mixed_float16"` the layers compute in float16 and keep float32 weights, `compile`
    wraps the optimizer in a `LossScaleOptimizer`, and `keras_vae` keeps the encoder's heads,
    the decoder's output, the likelihood and the KL in float32.

    Args:
        mixed: bool, whether to train in mixed precision.

    Returns:
        The name of the policy set.
    """
    import keras

    name = "mixed_float16" if mixed else "float32"
    keras.config.set_dtype_policy(name)
    return name
