"""Training under tf.distribute: strategies, exact losses, independent noise, several workers.

The CPU is split into two logical devices in a child process (TensorFlow allows that only
before its first operation), so the test process's TensorFlow stays on one device.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_vae.training import distribute

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPLIT_CPU = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
"""
# A probe VAE with known weights: z_log_var = -30, so z equals z_mean to 1e-6 and every loss
# is deterministic; the same weights on one device and on two replicas.
PROBE = """
import json, sys
import keras, numpy as np
import keras_vae
from tests.test_models import X, probe_models

def probe_vae(**options):
    encoder, decoder, forward = probe_models()
    return keras_vae.build_vae(encoder, decoder, beta=0.7, **options), forward
"""


def script(*parts):
    """Joins pieces of Python source, each dedented."""
    return "\n".join(textwrap.dedent(part) for part in parts)


def run_child(*parts, timeout=300):
    """Runs the joined `parts` in a fresh Python; returns the JSON of its last printed line."""
    environment = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", script(*parts)], cwd=ROOT,
                            env=environment, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"expected the child to exit 0, received {result.returncode}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_unknown_distribution_raises_value_error():
    """An unknown strategy name raises ValueError naming `distribute`."""
    with pytest.raises(ValueError, match=r"Invalid value for `distribute`: expected one of"):
        distribute.choose_strategy("horovod")


@pytest.mark.parametrize("tf_config", [None, "not json", '{"cluster": {}}',
                                       '{"cluster": {"worker": ["a:1"]}, "task": {}}'])
def test_multi_worker_without_valid_tf_config_raises_value_error(monkeypatch, tf_config):
    """multi-worker without a TF_CONFIG naming the workers and this task raises ValueError."""
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match=r"Invalid value for `distribute`: expected a TF_CONFIG"):
        distribute.choose_strategy("multi-worker")


def test_batch_size_must_split_evenly_across_replicas():
    """A global batch size that does not split evenly across the replicas raises ValueError."""

    class TwoReplicas:
        num_replicas_in_sync = 2

    assert distribute.check_batch_size(128, TwoReplicas()) == 128
    with pytest.raises(ValueError, match=r"`batch_size`: expected a multiple of the 2 replicas"):
        distribute.check_batch_size(127, TwoReplicas())


@pytest.mark.parametrize("tf_config, chief, out", [
    (None, True, "runs/a"),
    ('{"cluster": {"worker": ["h:1", "h:2"]}, "task": {"type": "worker", "index": 0}}',
     True, "runs/a"),
    ('{"cluster": {"worker": ["h:1", "h:2"]}, "task": {"type": "worker", "index": 1}}',
     False, "runs/a.worker-1"),
    ('{"cluster": {"chief": ["h:0"], "worker": ["h:1"]}, "task": {"type": "worker", "index": 0}}',
     False, "runs/a.worker-0"),
])
def test_only_the_chief_writes_into_the_run_directory(monkeypatch, tf_config, chief, out):
    """Worker 0 (or the chief) writes into the run directory; other workers beside it."""
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    assert distribute.is_chief() == chief, f"expected is_chief() {chief} for {tf_config}"
    assert distribute.worker_out("runs/a") == out


def test_set_precision_sets_the_global_policy():
    """set_precision(True) sets mixed_float16 and set_precision(False) float32."""
    import keras

    try:
        assert distribute.set_precision(True) == "mixed_float16"
        assert keras.config.dtype_policy().name == "mixed_float16"
    finally:
        assert distribute.set_precision(False) == "float32"
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.slow
def test_mirrored_losses_and_gradients_equal_one_device():
    """On two replicas, evaluate's losses and two fit steps' weights equal one device's."""
    figures = run_child(SPLIT_CPU, PROBE, """
    from keras_vae.graded import witness
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {}
    for name, scope in (("one", tf.distribute.get_strategy()), ("two", strategy)):
        with scope.scope():
            vae, forward = probe_vae(learning_rate=1e-2, seed=0)
        evaluated = vae.evaluate(X, X, batch_size=16, verbose=0, return_dict=True)
        vae.fit(X[:32], X[:32], batch_size=16, epochs=1, shuffle=False, verbose=0)
        results[name] = dict(evaluated, replicas=scope.num_replicas_in_sync,
                             jit_compile=bool(vae.jit_compile),
                             steps_per_execution=vae.steps_per_execution,
                             weights=[w.tolist() for w in vae.get_weights()])
    z_mean, z_log_var, probs = forward(X)
    results["witness"] = dict(
        reconstruction_loss=float(witness.bernoulli_nll(X, probs).mean()),
        kl_loss=float(witness.kl_divergence(z_mean, z_log_var).mean()))
    print(json.dumps(results))
    """)
    one, two, expected = figures["one"], figures["two"], figures["witness"]
    assert (one["replicas"], two["replicas"]) == (1, 2), "expected 1 and 2 replicas"
    assert (two["jit_compile"], two["steps_per_execution"]) == (False, 1), (
        f"expected XLA off and 1 step per call on two replicas, received "
        f"{two['jit_compile']}, {two['steps_per_execution']}")
    for key in ("reconstruction_loss", "kl_loss"):
        for name, received in (("one device", one[key]), ("two replicas", two[key])):
            assert abs(received - expected[key]) < 1e-5 * expected[key], (
                f"{key} on {name}: expected {expected[key]:.6f}, received {received:.6f}")
    for name, received in (("one device", one), ("two replicas", two)):
        loss = expected["reconstruction_loss"] + 0.7 * expected["kl_loss"]
        assert abs(received["loss"] - loss) < 1e-5 * loss, (
            f"loss on {name}: expected {loss:.6f}, received {received['loss']:.6f}")
    # Adam divides each gradient by its running RMS, so an entry whose gradient is near zero
    # moves by a rounding-sensitive fraction of the learning rate 1e-2: compare to 1% of it.
    for index, (a, b) in enumerate(zip(one["weights"], two["weights"])):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-4, atol=1e-4,
                                   err_msg=f"weight {index} after two steps: two replicas "
                                           "vs one device")


@pytest.mark.slow
def test_replicas_draw_independent_reproducible_noise():
    """Two replicas' epsilon are uncorrelated, standard normal, and the same in a rerun."""
    draws = run_child(SPLIT_CPU, """
    import json
    import numpy as np
    from keras_vae.reference.layers import Sampling
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    zeros = tf.zeros((2000, 8))

    def draw(seed):
        with strategy.scope():
            sampling = Sampling(seed=seed)
        step = tf.function(lambda: strategy.run(sampling, args=([zeros, zeros],)))
        # Two steps, so that a replica's draw can also be compared with the next step's.
        return [np.asarray(value).ravel().tolist() for _ in range(2)
                for value in strategy.experimental_local_results(step())]

    print(json.dumps({"first": draw(7), "again": draw(7)}))
    """)
    first = np.array(draws["first"])  # (step * replica, values): r0s0, r1s0, r0s1, r1s1
    np.testing.assert_array_equal(np.array(draws["again"]), first,
                                  err_msg="a rerun with the same seed drew other noise")
    size = first.shape[1]
    bound = 6 / np.sqrt(size)
    for row, name in enumerate(("replica 0 step 0", "replica 1 step 0", "replica 0 step 1",
                                "replica 1 step 1")):
        assert abs(first[row].mean()) < bound and abs(first[row].std() - 1) < 6 / np.sqrt(
            2 * size), f"{name}: expected N(0, 1), received mean {first[row].mean():.4f}, " \
                       f"std {first[row].std():.4f}"
    correlations = np.corrcoef(first)
    for i in range(4):
        for j in range(i + 1, 4):
            assert abs(correlations[i, j]) < bound, (
                f"draws {i} and {j}: expected |correlation| < {bound:.4f}, received "
                f"{correlations[i, j]:.4f}")


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.mark.slow
def test_two_workers_train_like_one_device(tmp_path):
    """Two worker processes on localhost end fit with one device's weights and losses."""
    ports = _free_ports(2)
    worker = script(PROBE, """
    import tensorflow as tf
    from keras_vae.training import distribute
    strategy = distribute.choose_strategy(sys.argv[1])
    with strategy.scope():
        vae, _ = probe_vae(learning_rate=1e-2, seed=0)
    history = vae.fit(X, X, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    evaluated = vae.evaluate(X, X, batch_size=16, verbose=0, return_dict=True)
    np.savez(sys.argv[2], *vae.get_weights())
    print(json.dumps(dict(history=history, evaluated=evaluated,
                          replicas=strategy.num_replicas_in_sync)))
    """)
    environment = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                     "task": {"type": "worker", "index": index}}
        processes.append(subprocess.Popen(
            [sys.executable, "-c", worker, "multi-worker",
             str(tmp_path / f"worker{index}.npz")], cwd=ROOT, text=True,
            env=dict(environment, TF_CONFIG=json.dumps(tf_config)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outputs = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=240)
            assert process.returncode == 0, (
                f"expected each worker to exit 0, received {process.returncode}:\n"
                f"{stderr[-3000:]}")
            outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    single = run_child(worker.replace("sys.argv[1]", '"none"').replace(
        "sys.argv[2]", repr(str(tmp_path / "single.npz"))))
    assert [output["replicas"] for output in outputs] == [2, 2], "expected 2 replicas"
    expected = np.load(tmp_path / "single.npz")
    for index, output in enumerate(outputs):
        received = np.load(tmp_path / f"worker{index}.npz")
        for key in expected.files:
            np.testing.assert_allclose(received[key], expected[key], rtol=1e-4, atol=1e-4,
                                       err_msg=f"worker {index}, weight {key} vs one device")
        for key, value in single["evaluated"].items():  # After training: as loose as weights.
            assert abs(output["evaluated"][key] - value) < 1e-4 * abs(value), (
                f"worker {index} {key}: expected {value:.6f}, received "
                f"{output['evaluated'][key]:.6f}")


def test_resolve_picks_this_machines_defaults(monkeypatch):
    """resolve turns "auto" and None into one device in float32 on a machine without a GPU."""
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Config:
        out: str = "runs/a"
        distribute: str = "auto"
        mixed_precision: bool | None = None

    monkeypatch.setattr(distribute, "default_distribution", lambda: "none")
    monkeypatch.setattr(distribute, "default_mixed_precision", lambda: False)
    assert distribute.resolve(Config()) == Config(distribute="none", mixed_precision=False)
    assert distribute.resolve(Config(distribute="mirrored", mixed_precision=True)) == Config(
        distribute="mirrored", mixed_precision=True)
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["h:1", "h:2"]}, '
                                    '"task": {"type": "worker", "index": 1}}')
    # `train` has already chosen this worker's run directory: resolve leaves `out` alone.
    assert distribute.resolve(Config(distribute="multi-worker")) == Config(
        distribute="multi-worker", mixed_precision=False)


def test_without_a_gpu_the_defaults_are_one_device_in_float32():
    """On this GPU-less machine the defaults are no distribution and float32."""
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible")
    assert (distribute.default_distribution(), distribute.default_mixed_precision()) == (
        "none", False)
