"""The SavedModel check passes graphs that only compute and names what reaches outside them."""

import ast
import importlib
import inspect
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as impl
from keras_vae.graded import graphcheck

VECTOR = tf.TensorSpec((None, 3))
SOLUTIONS = ["keras_vae", "tests.solutions.alternative", "tests.solutions.subclassed"]


def export(folder, *endpoints, tracked=()):
    """Writes an ExportArchive with `endpoints` (name, function) taking vectors of 3."""
    archive = keras.export.ExportArchive()
    for layer in tracked:
        archive.track(layer)
    for name, function in endpoints:
        signature = [VECTOR] * len(inspect.signature(function).parameters)
        archive.add_endpoint(name, function, input_signature=signature)
    archive.write_out(str(folder), verbose=False)
    return folder


def export_vae(folder, module, shape=(20,), **options):
    """Writes a small VAE of `module` with its train and test steps as endpoints."""
    encoder = module.build_encoder(shape, 3, hidden_units=(8,), **options)
    decoder = module.build_decoder(3, shape, hidden_units=(8,), **options)
    vae = module.build_vae(encoder, decoder, learning_rate=0.01)
    x = np.random.rand(4, *shape).astype("float32")
    vae._symbolic_build(data_batch=(x, x))
    archive = keras.export.ExportArchive()
    archive.track(vae)
    spec = tf.TensorSpec((None,) + shape)
    archive.add_endpoint("train_step", lambda x, y: vae.train_step((x, y)),
                         input_signature=[spec, spec])
    archive.add_endpoint("test_step", lambda x, y: vae.test_step((x, y)),
                         input_signature=[spec, spec])
    archive.write_out(str(folder), verbose=False)
    return folder


def read_proto(folder):
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((folder / "saved_model.pb").read_bytes())
    return saved_model


def assert_passes(folder):
    problems = graphcheck.check(folder)
    assert problems == [], f"expected no problems, received {problems}"


def assert_names(folder, text):
    problems = graphcheck.check(folder)
    assert any(text in problem for problem in problems), (
        f"expected a problem naming {text!r}, received {problems}")
    return problems


@pytest.fixture(scope="module")
def reference_vae(tmp_path_factory):
    return export_vae(tmp_path_factory.mktemp("reference") / "vae", impl)


def test_reference_train_step_passes_with_its_saver(reference_vae):
    """The reference VAE's train step passes, though its saver functions use SaveV2."""
    assert_passes(reference_vae)
    library = read_proto(reference_vae).meta_graphs[0].graph_def.library
    ops = {node.op for function in library.function for node in function.node_def}
    assert {"SaveV2", "RestoreV2"} <= ops, (
        f"expected the export to hold the saver's SaveV2 and RestoreV2, received {sorted(ops)}")


@pytest.mark.slow
def test_reference_convolutional_train_step_passes(tmp_path):
    """The reference convolutional VAE's train step, with its transposed convolutions, passes."""
    assert_passes(export_vae(tmp_path / "conv", impl, (8, 8, 1), architecture="conv"))


@pytest.mark.slow
@pytest.mark.parametrize("name", SOLUTIONS[1:])
def test_other_solutions_train_steps_pass(tmp_path, name):
    """The alternative and subclassed solutions' train steps pass."""
    assert_passes(export_vae(tmp_path / "vae", importlib.import_module(name)))


@pytest.mark.parametrize("name", SOLUTIONS)
def test_loss_endpoints_pass(tmp_path, name):
    """kl_divergence and bernoulli_nll of every solution pass."""
    module = importlib.import_module(name)
    assert_passes(export(tmp_path / "losses",
                         ("kl", lambda m, v: module.kl_divergence(m, v)),
                         ("nll", lambda x, p: module.bernoulli_nll(x, tf.sigmoid(p)))))


def test_reference_layers_pass(tmp_path):
    """The reference Sampling and KLDivergenceLayer, tracked with their variables, pass."""
    sampling, kl_layer = impl.Sampling(seed=0), impl.KLDivergenceLayer(0.5)
    zeros = np.zeros((2, 3), "float32")
    sampling([zeros, zeros])
    kl_layer([zeros, zeros])
    assert_passes(export(tmp_path / "layers",
                         ("sample", lambda m, v: sampling([m, v])),
                         ("kl", lambda m, v: kl_layer([m, v])[0]), tracked=(sampling, kl_layer)))


def test_debugging_leftovers_pass(tmp_path):
    """tf.print to the standard streams, tf.debugging asserts and tf.ensure_shape pass."""
    def debug(x):
        tf.print("x", x)
        tf.print("x", x, output_stream=sys.stdout)
        tf.debugging.assert_all_finite(x, "x is not finite")
        tf.debugging.assert_greater(tf.reduce_sum(tf.abs(x)) + 1.0, 0.0)
        return tf.ensure_shape(x, (None, 3)) * 2.0

    assert_passes(export(tmp_path / "debug", ("debug", debug)))


def writes(x):
    tf.io.write_file("/tmp/leak", tf.strings.as_string(x[0, 0]))
    return x


def prints_to_file(x):
    tf.print(x, output_stream="file:///tmp/leak")
    return x


@tf.function
def writes_inside(x):
    return writes(x)


OUTSIDE = {
    "write_file": (writes, "WriteFile"),
    "read_file": (lambda x: x * tf.cast(tf.strings.length(tf.io.read_file("/etc/hostname")),
                                        tf.float32), "ReadFile"),
    "print_to_file": (prints_to_file, "PrintV2"),
    "py_function": (lambda x: tf.py_function(lambda t: t, [x], tf.float32), "EagerPyFunc"),
    "numpy_function": (lambda x: tf.numpy_function(lambda t: t, [x], tf.float32), "PyFunc"),
    "cond_branch": (lambda x: tf.cond(tf.reduce_sum(x) > 0, lambda: writes(x), lambda: x),
                    "WriteFile"),
    "while_body": (lambda x: tf.while_loop(lambda i, y: i < 2, lambda i, y: (i + 1, writes(y)),
                                           (0, x))[1], "WriteFile"),
    "nested_function": (lambda x: writes_inside(x) + 1.0, "WriteFile"),
}


@pytest.mark.parametrize("case", sorted(OUTSIDE))
def test_ops_that_reach_outside_are_named(tmp_path, case):
    """File I/O, Python callbacks and printing to a file fail, named, in branches and callees."""
    function, op = OUTSIDE[case]
    assert_names(export(tmp_path / case, (case, function)), f"op {op}")


def save_module(folder, module, function, spec=VECTOR):
    """Writes `module` with `function` as its tf.function `f`, with tf.saved_model.save."""
    module.f = tf.function(function, input_signature=[spec])
    tf.saved_model.save(module, str(folder))
    return folder


def test_captured_constant_passes(tmp_path):
    """A function capturing a constant passes: TensorFlow rebuilds it from the graph's Const."""
    weights = tf.constant([1.0, 2.0, 3.0])

    def scale(x):
        return x * weights

    assert_passes(save_module(tmp_path / "constant", tf.Module(), scale))


def test_lookup_table_is_refused_as_a_resource(tmp_path):
    """A tracked StaticHashTable fails: its initializer runs when the model loads."""
    module = tf.Module()
    module.table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer([1, 2], [3.0, 4.0]), default_value=0.0)

    def find(keys):
        return module.table.lookup(keys)

    folder = save_module(tmp_path / "table", module, find, tf.TensorSpec((None,), tf.int32))
    assert_names(folder, "object root.table is a resource")


def test_asset_is_refused(tmp_path):
    """A tracked asset fails: the model would carry a file and read it."""
    (tmp_path / "vocabulary.txt").write_text("a\nb\n")
    module = tf.Module()
    module.vocabulary = tf.saved_model.Asset(str(tmp_path / "vocabulary.txt"))

    def identity(x):
        return x

    assert_names(save_module(tmp_path / "asset", module, identity), "is an asset")


@pytest.mark.parametrize("content", [b"", b"not a protocol buffer \xff\xff\xff", "truncated"])
def test_unreadable_saved_model_is_a_problem(tmp_path, reference_vae, content):
    """An empty, garbage or truncated saved_model.pb is a problem, not an exception."""
    if content == "truncated":
        content = (reference_vae / "saved_model.pb").read_bytes()[:5000]
    (tmp_path / "saved_model.pb").write_bytes(content)
    problems = graphcheck.check(tmp_path)
    assert len(problems) == 1, f"expected one problem, received {problems}"


def test_missing_folder_is_a_problem(tmp_path):
    """A folder that does not exist, or holds no saved_model.pb, is a problem."""
    for folder in (tmp_path / "missing", tmp_path):
        problems = graphcheck.check(folder)
        assert problems == [f"{folder} holds no saved_model.pb file"], (
            f"expected the missing file named, received {problems}")


def edit(reference_vae, tmp_path, change):
    """Copies the reference export's saved_model.pb to `tmp_path` after `change(meta_graph)`."""
    saved_model = read_proto(reference_vae)
    change(saved_model.meta_graphs[0])
    (tmp_path / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    return tmp_path


def train_step_function(meta_graph):
    """The largest library function: the train step's own, which its endpoint calls."""
    return max(meta_graph.graph_def.library.function, key=lambda f: len(f.node_def))


@pytest.mark.parametrize("op", ["WriteFile", "SaveV2", "MatchingFiles", "NoSuchOp"])
def test_op_added_to_an_endpoint_function_is_named(reference_vae, tmp_path, op):
    """An op written into the train step's FunctionDef by hand fails, saver ops included."""
    def change(meta_graph):
        train_step_function(meta_graph).node_def.add(name="smuggled", op=op)

    assert_names(edit(reference_vae, tmp_path, change), f"op {op}")


def test_op_named_by_a_function_attribute_is_named(reference_vae, tmp_path):
    """A call whose function attribute names an op, not a function, runs that op: it fails."""
    def change(meta_graph):
        node = train_step_function(meta_graph).node_def.add(name="call", op="PartitionedCall")
        node.attr["f"].func.name = "WriteFile"

    assert_names(edit(reference_vae, tmp_path, change), "op WriteFile")


def test_saver_function_called_by_an_endpoint_loses_its_exemption(reference_vae, tmp_path):
    """When the train step calls the saver's function, that function's SaveV2 fails."""
    def change(meta_graph):
        save = next(f for f in meta_graph.graph_def.library.function
                    if "traced_save" in f.signature.name)
        node = train_step_function(meta_graph).node_def.add(name="call", op="PartitionedCall")
        node.attr["f"].func.name = save.signature.name

    assert_names(edit(reference_vae, tmp_path, change), "op SaveV2")


def test_op_added_to_the_main_graph_is_named(reference_vae, tmp_path):
    """A WriteFile node in the main graph, which a TensorFlow 1 loader would run, fails."""
    def change(meta_graph):
        meta_graph.graph_def.node.add(name="smuggled", op="WriteFile")

    assert_names(edit(reference_vae, tmp_path, change), "the main graph uses the op WriteFile")


def test_missing_object_graph_is_a_problem(reference_vae, tmp_path):
    """A SavedModel without an object graph fails: it would load as a TensorFlow 1 model."""
    assert_names(edit(reference_vae, tmp_path, lambda graph: graph.ClearField("object_graph_def")),
                 "no object graph")


def test_two_meta_graphs_are_a_problem(reference_vae, tmp_path):
    """A SavedModel with a second meta graph fails: it would load as a TensorFlow 1 model."""
    saved_model = read_proto(reference_vae)
    saved_model.meta_graphs.add().CopyFrom(saved_model.meta_graphs[0])
    (tmp_path / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    assert_names(tmp_path, "2 meta graphs")


def test_problems_are_capped(reference_vae, tmp_path):
    """Thirty unknown ops give at most MAX_PROBLEMS sentences, the last one counting the rest."""
    def change(meta_graph):
        for index in range(30):
            train_step_function(meta_graph).node_def.add(name=f"n{index}", op=f"Unknown{index}")

    problems = graphcheck.check(edit(reference_vae, tmp_path, change))
    assert len(problems) == graphcheck.MAX_PROBLEMS and "21 more" in problems[-1], (
        f"expected {graphcheck.MAX_PROBLEMS} problems ending with '21 more', received {problems}")


def test_allowed_ops_are_real_ops_written_in_order():
    """ALLOWED_OPS is a sorted literal of registered ops, none of them reaching outside."""
    from tensorflow.python.framework import op_def_registry

    source = ast.parse(inspect.getsource(graphcheck))
    literal = next(node.value.args[0] for node in source.body if isinstance(node, ast.Assign)
                   and node.targets[0].id == "ALLOWED_OPS")
    names = [element.value for element in literal.elts]
    misplaced = [(a, b) for a, b in zip(names, names[1:]) if a >= b]
    assert misplaced == [], f"expected ALLOWED_OPS sorted without repeats, received {misplaced}"
    unknown = [name for name in graphcheck.ALLOWED_OPS | graphcheck.SAVER_OPS
               if op_def_registry.get(name) is None]
    assert unknown == [], f"expected registered TensorFlow ops, received {unknown}"
    words = ("File", "Save", "Restore", "PyFunc", "Summary", "Dataset", "Iterator", "Queue",
             "Table", "Collective", "Debug", "Remote", "Immutable", "Abort")
    outside = [name for name in graphcheck.ALLOWED_OPS if any(word in name for word in words)]
    assert outside == [], f"expected no file, Python or I/O ops, received {outside}"
