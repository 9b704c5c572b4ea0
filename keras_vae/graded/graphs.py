"""The runner's view of a submission's exported graphs: load, call, read and set variables.

Everything here runs in the runner, which never imports the submission: the graphs are
loaded with `tf.saved_model.load` only after `graphcheck.check` found nothing in them that
reaches outside the computation. What a graph's variables are (their shapes and whether they
train) is read from the SavedModel's own object graph, not from anything the submission's
process reported.
"""

import os

import numpy as np


# The endpoints that run the model forward; the training step also uses the optimizer's.
FORWARD_ENDPOINTS = ("call", "call_training", "test_step", "encoder", "decoder")


class ForbiddenGraph(Exception):
    """A graph that uses ops outside the allow-list; the message lists them."""


class MissingGraph(Exception):
    """An archive the export was to write and did not."""


class Graphs:
    """The archives of one export, loaded on first use.

    Args:
        folder: the export's folder, holding one SavedModel folder per archive name.
    """

    def __init__(self, folder):
        self.folder = folder
        self._loaded = {}

    def path(self, name):
        return os.path.join(self.folder, name)

    def load(self, name):
        """The archive `name`, checked and loaded; raises `ForbiddenGraph`."""
        if name not in self._loaded:
            import tensorflow as tf

            from keras_vae.graded import graphcheck

            if not os.path.isfile(os.path.join(self.path(name), "saved_model.pb")):
                raise MissingGraph(f"the export wrote no graph {name!r}")
            problems = graphcheck.check(self.path(name))
            if problems:
                raise ForbiddenGraph("; ".join(problems))
            self._loaded[name] = tf.saved_model.load(self.path(name))
        return self._loaded[name]

    def call(self, name, *arrays, endpoint="call"):
        """Runs `endpoint` of archive `name` on `arrays`; returns NumPy values."""
        import tensorflow as tf

        function = getattr(self.load(name), endpoint)
        return to_numpy(function(*[tf.constant(np.asarray(a, np.float32)) for a in arrays]))

    def variables(self, name):
        """The archive's weight variables, as listed by its export."""
        return list(getattr(self.load(name), "weights", []))

    def trainable_shapes(self, name, endpoints=None):
        """The shapes of the trainable float variables saved in the archive, read from its
        object graph (each shape once); with `endpoints`, only those that these endpoints'
        functions use."""
        self.load(name)
        return sorted({shape for shape, trainable in saved_variables(self.path(name), endpoints)
                       if trainable})

    def set_by_shape(self, name, values):
        """Assigns `values` (`{shape: array}`) to the archive's trainable variables of those
        shapes; every trainable variable must have a shape of its own.

        Raises:
            AssertionError: when a shape is missing or shared, or other variables train.
        """
        trainable = [v for v in self.variables(name) if v.trainable]
        shapes = sorted(tuple(v.shape) for v in trainable)
        # The optimizer's own variables (Nadam keeps a trainable scalar) are used by the
        # training step only: the model's weights are those its forward endpoints use.
        saved = set(self.trainable_shapes(name, FORWARD_ENDPOINTS))
        extra = sorted(saved - set(values))
        if not saved >= set(values) or not set(shapes) >= set(values):
            hint = "build_vae must join the encoder and decoder it is given, not new ones."
        else:
            hint = ("the VAE adds trainable weights of its own, such as a layer's "
                    "add_weight(...) left with trainable=True; keep beta a number or a "
                    "non-trainable weight.")
        assert shapes == sorted(values) and not extra and saved >= set(values), (
            f"the VAE's trainable variables: expected those of the encoder and decoder it was "
            f"given, of shapes {sorted(values)}, received shapes {shapes}"
            f"{f' and others of shapes {extra}' if extra and set(extra) - set(shapes) else ''}"
            f".\nLikely mistake: {hint}")
        for variable in trainable:
            variable.assign(np.asarray(values[tuple(variable.shape)], np.float32))


def saved_variables(export_dir, endpoints=None):
    """`(shape, trainable)` of every float variable in the SavedModel's object graph; with
    `endpoints` (names), of those bound by the functions of these endpoints only."""
    from tensorflow.core.protobuf import saved_model_pb2

    model = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as file:
        model.ParseFromString(file.read())
    graph = model.meta_graphs[0].object_graph_def
    used = None
    if endpoints is not None:
        used = set()
        for child in graph.nodes[0].children:
            node = graph.nodes[child.node_id]
            if child.local_name in endpoints and node.WhichOneof("kind") == "function":
                for name in node.function.concrete_functions:
                    used.update(graph.concrete_functions[name].bound_inputs)
    found = []
    for index, node in enumerate(graph.nodes):
        if used is not None and index not in used:
            continue
        if node.WhichOneof("kind") == "variable" and node.variable.dtype in (1, 2, 19):
            shape = tuple(int(d.size) for d in node.variable.shape.dim)
            found.append((shape, node.variable.trainable))
    return found


def to_numpy(value):
    """Tensors, nested in lists, tuples and dicts, as float64 NumPy arrays."""
    if isinstance(value, dict):
        return {str(k): to_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_numpy(v) for v in value]
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value, np.float64)
