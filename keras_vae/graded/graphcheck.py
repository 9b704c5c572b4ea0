"""Checks that the graphs of an exported SavedModel only compute, before anything loads it.

The grader has a submission export SavedModels, and a process that never imports student code
loads and runs them. A graph can hold more than arithmetic: file reads and writes, Python
callbacks, and objects whose functions run as the model loads. `check` reads `saved_model.pb` as
a protocol buffer (it never loads the model) and reports:

- objects that run code or touch files when TensorFlow restores them: assets, resources (such
  as lookup tables), objects with their own savers, and registered Python classes;
- every op outside `ALLOWED_OPS`, in the main graph and in every library function, and in what
  they call through function-valued attributes (`If`, `While`, `PartitionedCall`...);
  `PrintV2` may print to the streams of `PRINT_STREAMS` only, never to a file.

TensorFlow's own saver is the one exemption: the functions called by the nodes that the meta
graph's `saver_def` names (`__inference__traced_save_*`, `__inference__traced_restore_*`) write
and read checkpoints, and `tf.saved_model.load` restores variables with its own ops instead. They
are held to `SAVER_OPS`, and only while nothing else (an endpoint, a gradient) calls them. A
model without an object graph is refused: TensorFlow would load it as a TensorFlow 1 model,
running its main graph and that saver.
"""

import os

MAX_BYTES = 64 * 2**20
MAX_PROBLEMS = 10

# Reviewed by hand: math, arrays, neural networks, linear algebra, random numbers, control flow,
# resource variables, optimizer updates, tensor lists and arrays (gradients of loops), tf.print
# and tf.debugging.
ALLOWED_OPS = frozenset({
    "Abs", "Acos", "Acosh", "Add", "AddN", "AddV2", "All", "Any", "ApproximateEqual", "ArgMax",
    "ArgMin", "Asin", "Asinh", "Assert", "AssignAddVariableOp", "AssignSubVariableOp",
    "AssignVariableOp", "Atan", "Atan2", "Atanh", "AvgPool", "AvgPoolGrad", "BatchMatMul",
    "BatchMatMulV2", "BatchMatMulV3", "BesselI0e", "BesselI1e", "Betainc", "BiasAdd",
    "BiasAddGrad", "BiasAddV1", "Bitcast", "BitwiseAnd", "BitwiseOr", "BitwiseXor",
    "BroadcastArgs", "BroadcastGradientArgs", "BroadcastTo", "Bucketize", "Case", "Cast", "Ceil",
    "CheckNumerics", "CheckNumericsV2", "Cholesky", "CholeskyGrad", "ClipByValue", "Concat",
    "ConcatOffset", "ConcatV2", "Const", "ControlTrigger", "Conv", "Conv2D",
    "Conv2DBackpropFilter", "Conv2DBackpropInput", "Cos", "Cosh", "Cumprod", "Cumsum",
    "CumulativeLogsumexp", "DepthToSpace", "DepthwiseConv2dNative",
    "DepthwiseConv2dNativeBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "Diag",
    "DiagPart", "Digamma", "Div", "DivNoNan", "DynamicPartition", "DynamicStitch", "Einsum", "Elu",
    "EluGrad", "EmptyTensorList", "EnsureShape", "Enter", "Equal", "Erf", "Erfc", "Erfinv",
    "EuclideanNorm", "Exit", "Exp", "ExpandDims", "Expm1", "Fill", "Floor", "FloorDiv", "FloorMod",
    "FusedBatchNorm", "FusedBatchNormGrad", "FusedBatchNormGradV2", "FusedBatchNormGradV3",
    "FusedBatchNormV2", "FusedBatchNormV3", "Gather", "GatherNd", "GatherV2", "Greater",
    "GreaterEqual", "Identity", "IdentityN", "If", "Igamma", "IgammaGradA", "Igammac", "InTopKV2",
    "Inv", "InvGrad", "Invert", "InvertPermutation", "IsFinite", "IsInf", "IsNan", "L2Loss",
    "LeakyRelu", "LeakyReluGrad", "LeftShift", "Less", "LessEqual", "Lgamma", "LinSpace",
    "ListDiff", "Log", "Log1p", "LogMatrixDeterminant", "LogSoftmax", "LogicalAnd", "LogicalNot",
    "LogicalOr", "LoopCond", "LowerBound", "MatMul", "MatrixBandPart", "MatrixDeterminant",
    "MatrixDiag", "MatrixDiagPart", "MatrixDiagPartV2", "MatrixDiagPartV3", "MatrixDiagV2",
    "MatrixDiagV3", "MatrixInverse", "MatrixSetDiag", "MatrixSetDiagV2", "MatrixSetDiagV3",
    "MatrixSolve", "MatrixTriangularSolve", "Max", "MaxPool", "MaxPoolGrad", "MaxPoolGradGrad",
    "MaxPoolGradGradV2", "MaxPoolGradV2", "MaxPoolV2", "Maximum", "Mean", "Merge", "Min",
    "Minimum", "MirrorPad", "MirrorPadGrad", "Mod", "Mul", "MulNoNan", "Multinomial", "Ndtri",
    "Neg", "NextIteration", "NoOp", "NotEqual", "OneHot", "OnesLike", "Pack", "Pad", "PadV2",
    "ParameterizedTruncatedNormal", "PartitionedCall", "PlaceholderWithDefault", "Polygamma",
    "Pow", "PreventGradient", "Print", "PrintV2", "Prod", "Qr", "RandomGamma", "RandomGammaGrad",
    "RandomPoissonV2", "RandomShuffle", "RandomStandardNormal", "RandomUniform",
    "RandomUniformInt", "Range", "Rank", "ReadVariableOp", "RealDiv", "Reciprocal",
    "ReciprocalGrad", "Relu", "Relu6", "Relu6Grad", "ReluGrad", "Reshape", "ResizeArea",
    "ResizeBicubic", "ResizeBicubicGrad", "ResizeBilinear", "ResizeBilinearGrad",
    "ResizeNearestNeighbor", "ResizeNearestNeighborGrad", "ResourceApplyAdaMax",
    "ResourceApplyAdadelta", "ResourceApplyAdagrad", "ResourceApplyAdagradV2", "ResourceApplyAdam",
    "ResourceApplyAdamWithAmsgrad", "ResourceApplyAddSign", "ResourceApplyCenteredRMSProp",
    "ResourceApplyFtrl", "ResourceApplyFtrlV2", "ResourceApplyGradientDescent",
    "ResourceApplyKerasMomentum", "ResourceApplyMomentum", "ResourceApplyPowerSign",
    "ResourceApplyProximalAdagrad", "ResourceApplyProximalGradientDescent", "ResourceApplyRMSProp",
    "ResourceGather", "ResourceGatherNd", "ResourceScatterAdd", "ResourceScatterNdAdd",
    "ResourceScatterNdUpdate", "ResourceScatterSub", "ResourceScatterUpdate",
    "ResourceStridedSliceAssign", "ReverseSequence", "ReverseV2", "RightShift", "Rint",
    "RngReadAndSkip", "RngSkip", "Roll", "Round", "Rsqrt", "RsqrtGrad", "ScaleAndTranslate",
    "ScaleAndTranslateGrad", "ScatterNd", "Select", "SelectV2", "SelfAdjointEigV2", "Selu",
    "SeluGrad", "Shape", "ShapeN", "Sigmoid", "SigmoidGrad", "Sign", "Sin", "Sinh", "Size",
    "Slice", "Snapshot", "Softmax", "SoftmaxCrossEntropyWithLogits", "Softplus", "SoftplusGrad",
    "Softsign", "SoftsignGrad", "SpaceToDepth", "SparseSoftmaxCrossEntropyWithLogits", "Split",
    "SplitV", "Sqrt", "SqrtGrad", "Square", "SquaredDifference", "Squeeze",
    "StatefulPartitionedCall", "StatefulRandomBinomial", "StatefulStandardNormalV2",
    "StatefulTruncatedNormal", "StatefulUniform", "StatefulUniformFullInt", "StatefulUniformInt",
    "StatelessCase", "StatelessIf", "StatelessMultinomial",
    "StatelessParameterizedTruncatedNormal", "StatelessRandomBinomial", "StatelessRandomGammaV2",
    "StatelessRandomGammaV3", "StatelessRandomGetAlg", "StatelessRandomGetKeyCounter",
    "StatelessRandomGetKeyCounterAlg", "StatelessRandomNormal", "StatelessRandomNormalV2",
    "StatelessRandomPoisson", "StatelessRandomUniform", "StatelessRandomUniformFullInt",
    "StatelessRandomUniformFullIntV2", "StatelessRandomUniformInt", "StatelessRandomUniformIntV2",
    "StatelessRandomUniformV2", "StatelessShuffle", "StatelessTruncatedNormal",
    "StatelessTruncatedNormalV2", "StatelessWhile", "StopGradient", "StridedSlice",
    "StridedSliceGrad", "StringFormat", "Sub", "Sum", "Svd", "Switch", "Tan", "Tanh", "TanhGrad",
    "TensorArrayCloseV3", "TensorArrayConcatV3", "TensorArrayGatherV3", "TensorArrayGradV3",
    "TensorArrayGradWithShape", "TensorArrayReadV3", "TensorArrayScatterV3", "TensorArraySizeV3",
    "TensorArraySplitV3", "TensorArrayV3", "TensorArrayWriteV3", "TensorListConcat",
    "TensorListConcatLists", "TensorListConcatV2", "TensorListElementShape",
    "TensorListFromTensor", "TensorListGather", "TensorListGetItem", "TensorListLength",
    "TensorListPopBack", "TensorListPushBack", "TensorListPushBackBatch", "TensorListReserve",
    "TensorListResize", "TensorListScatter", "TensorListScatterIntoExistingList",
    "TensorListScatterV2", "TensorListSetItem", "TensorListSplit", "TensorListStack",
    "TensorScatterAdd", "TensorScatterMax", "TensorScatterMin", "TensorScatterSub",
    "TensorScatterUpdate", "Tile", "TileGrad", "TopKV2", "Transpose", "TruncateDiv", "TruncateMod",
    "TruncatedNormal", "Unique", "Unpack", "UnsortedSegmentMax", "UnsortedSegmentMin",
    "UnsortedSegmentProd", "UnsortedSegmentSum", "UpperBound", "VarIsInitializedOp",
    "VariableShape", "Where", "While", "Xdivy", "Xlog1py", "Xlogy", "ZerosLike", "Zeta",
})
SAVER_OPS = frozenset({
    "AssignVariableOp", "Const", "DisableCopyOnRead", "Identity", "MergeV2Checkpoints", "NoOp",
    "Pack", "ReadVariableOp", "RestoreV2", "SaveV2", "Select", "ShardedFilename",
    "StaticRegexFullMatch", "StringJoin",
})
MAIN_GRAPH_OPS = ALLOWED_OPS | {"Placeholder", "VarHandleOp"}
PRINT_STREAMS = frozenset({"stdout", "stderr", "log(info)", "log(warning)", "log(error)"})
OBJECT_KINDS = frozenset({"user_object", "function", "bare_concrete_function", "variable",
                          "constant", "captured_tensor"})
# The class that rebuilds captured constants from the graph's Const ops.
REGISTERED_CLASSES = frozenset({"tf.TrackableConstant"})
WHY_NOT_KIND = {"asset": "an asset, a file the model carries and reads",
                "resource": "a resource, whose functions run when the model loads"}


def check(export_dir):
    """Problems that forbid running the SavedModel in `export_dir`.

    Returns:
        A list of at most `MAX_PROBLEMS` sentences for an instructor, each naming the object or
        op at fault; `[]` when the graphs only compute. A missing, oversized or unreadable file
        is a problem, never an exception.
    """
    meta_graph, problem = _read(str(export_dir))
    if problem:
        return [problem]
    try:
        problems = _object_problems(meta_graph.object_graph_def) + _op_problems(meta_graph)
    except Exception as error:  # a proto that this module cannot walk is not one to load
        problems = [f"the SavedModel could not be checked ({type(error).__name__}: {error})"]
    problems = list(dict.fromkeys(problems))
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS + 1
        problems = problems[:MAX_PROBLEMS - 1] + [f"and {more} more problems"]
    return problems


def _read(export_dir):
    """The one meta graph of `export_dir`'s saved_model.pb, or the problem that prevents it."""
    # Imported here, so that importing this module for its lists does not start TensorFlow.
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(export_dir, "saved_model.pb")
    if not os.path.isfile(path):
        return None, f"{export_dir} holds no saved_model.pb file"
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        return None, f"saved_model.pb cannot be read ({error.strerror})"
    if len(data) > MAX_BYTES:
        return None, f"saved_model.pb is larger than {MAX_BYTES // 2**20} MB"
    saved_model = saved_model_pb2.SavedModel()
    try:
        saved_model.ParseFromString(data)
    except Exception as error:  # whatever the parser raises, the file is not a SavedModel
        return None, f"saved_model.pb is not a readable SavedModel ({type(error).__name__})"
    if len(saved_model.meta_graphs) != 1:
        return None, (f"the SavedModel holds {len(saved_model.meta_graphs)} meta graphs, "
                      "where an export holds exactly one")
    if not saved_model.meta_graphs[0].object_graph_def.nodes:
        return None, "the SavedModel has no object graph: it would load as a TensorFlow 1 model"
    return saved_model.meta_graphs[0], None


def _object_problems(object_graph):
    """Objects that run code or touch files when TensorFlow restores them."""
    nodes = object_graph.nodes
    paths, queue = {0: "root"}, [0]
    for node_id in queue:
        for child in nodes[node_id].children:
            if child.node_id not in paths and child.node_id < len(nodes):
                paths[child.node_id] = f"{paths[node_id]}.{child.local_name}"
                queue.append(child.node_id)
    problems = []
    for node_id, node in enumerate(nodes):
        name, kind = paths.get(node_id, f"number {node_id}"), node.WhichOneof("kind")
        if kind not in OBJECT_KINDS:
            why = WHY_NOT_KIND.get(kind, f"of the kind {kind}, which the grader does not load")
            problems.append(f"object {name} is {why}")
        if node.saveable_objects:
            problems.append(f"object {name} has its own save and restore functions")
        if node.registered_saver:
            problems.append(f"object {name} names the registered saver {node.registered_saver!r}")
        if node.registered_name and node.registered_name not in REGISTERED_CLASSES:
            problems.append(f"object {name} is restored by the registered class "
                            f"{node.registered_name!r}")
    return problems


def _targets(node):
    """`(name, attrs)` of what running `node` runs: its op and the functions its attrs name.

    A name is a library function or an op: a function attribute naming an op runs that op alone.
    """
    yield node.op, node.attr
    values = list(node.attr.values())
    for value in values:
        for func in ([value.func] if value.HasField("func") else []) + list(value.list.func):
            yield func.name, func.attr
            values.extend(func.attr.values())


def _closure(roots, library):
    """The library functions that the names `roots` are or call, directly or not."""
    seen, queue = set(), [name for name in roots if name in library]
    while queue:
        name = queue.pop()
        if name not in seen:
            seen.add(name)
            queue += [target for node in library[name].node_def
                      for target, _ in _targets(node) if target in library]
    return seen


def _op_problem(op, attrs, allowed):
    """Why running the op `op` with the attributes `attrs` is refused, or `None`."""
    if op not in allowed:
        return f"uses the op {op}, which is not among the ops known to only compute"
    stream = attrs["output_stream"].s.decode(errors="replace") if "output_stream" in attrs else ""
    if op == "PrintV2" and stream not in PRINT_STREAMS | {""}:  # "" is the default, stderr
        return (f"uses the op PrintV2 with output_stream {stream!r}, which prints elsewhere than "
                "standard output, standard error or the log")
    return None


def _op_problems(meta_graph):
    """Ops outside the allowed lists, in the main graph and in every library function."""
    graph = meta_graph.graph_def
    library = {function.signature.name: function for function in graph.library.function}
    saver_nodes = {name.split(":")[0].lstrip("^") for name in
                   (meta_graph.saver_def.save_tensor_name, meta_graph.saver_def.restore_op_name)}
    roots, saver_roots = set(meta_graph.object_graph_def.concrete_functions), set()
    for node in meta_graph.object_graph_def.nodes:
        roots.update(node.function.concrete_functions)
        roots.add(node.bare_concrete_function.concrete_function_name)
    roots.update(gradient.gradient_func for gradient in graph.library.gradient)
    roots.update(gradient.gradient_func for gradient in graph.library.registered_gradients)
    for node in graph.node:
        (saver_roots if node.name in saver_nodes else roots).update(
            target for target, _ in _targets(node))
    saver_only = _closure(saver_roots, library) - _closure(roots, library)

    scans = [("the main graph", graph.node, MAIN_GRAPH_OPS)]
    for name in sorted(library):
        saver = name in saver_only
        scans.append((f"saver function {name}" if saver else f"function {name}",
                      library[name].node_def, SAVER_OPS if saver else ALLOWED_OPS))
    problems = []
    for where, nodes, allowed in scans:
        for node in nodes:
            for op, attrs in _targets(node):
                problem = op not in library and _op_problem(op, attrs, allowed)
                if problem:
                    problems.append(f"{where} {problem}")
    return problems
