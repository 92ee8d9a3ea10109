"""Synthetic ``.tflite`` models with a known amount of work, written without TensorFlow.

For *measuring speed* when there is no time to import TensorFlow and convert a Keras model
(a lesson must run in under a minute): :func:`conv_stack` writes a float32 stack of 3x3
convolutions straight into TFLite's FlatBuffer format with LiteRT's generated schema classes
(``ai_edge_litert.schema_py_generated``). The weights are random (seeded): the model's
outputs mean nothing, its size and its latency are real. Read its work with
:class:`edgelab.convert.ConvertedModel` (``.stats()``), run it with
:func:`edgelab.devices.measure_latency`.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from edgelab import _checks

NOTE = "random (untrained) weights: for size and speed only, its outputs mean nothing"


def conv_stack(input_size: int = 64, channels: int = 32, layers: int = 4, in_channels: int = 3,
               seed: int = 0) -> bytes:
    """A float32 model: ``layers`` 3x3 convolutions (stride 1, SAME padding, ReLU) with
    ``channels`` filters each, on an ``input_size`` x ``input_size`` x ``in_channels`` input.
    Multiply-accumulates per inference: ``input_size² x 9 x channels x (in_channels +
    (layers - 1) x channels)``. Returns the ``.tflite`` bytes."""
    from edgelab.flatbuffer import schema

    size = _checks.count("input_size", input_size, minimum=4, maximum=1024)
    width = _checks.count("channels", channels, minimum=1, maximum=1024)
    depth = _checks.count("layers", layers, minimum=1, maximum=64)
    cin = _checks.count("in_channels", in_channels, minimum=1, maximum=64)
    s = schema()
    rng = np.random.default_rng(seed)

    buffers = [s.BufferT()]  # buffer 0 is the empty buffer by convention
    tensors = []

    def tensor(name: str, shape: list, data: Optional[np.ndarray] = None) -> int:
        t = s.TensorT()
        t.name = name
        t.shape = np.asarray(shape, dtype=np.int32)
        t.type = s.TensorType.FLOAT32
        t.buffer = 0
        if data is not None:
            b = s.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data, dtype="<f4").tobytes(), dtype=np.uint8)
            buffers.append(b)
            t.buffer = len(buffers) - 1
        tensors.append(t)
        return len(tensors) - 1

    operators = []
    current = tensor("input", [1, size, size, cin])
    first = current
    previous = cin
    for i in range(depth):
        scale = np.sqrt(2.0 / (9 * previous))  # He initialisation keeps activations finite
        w = tensor(f"conv{i + 1}/weights", [width, 3, 3, previous],
                   rng.normal(0.0, scale, size=(width, 3, 3, previous)))
        b = tensor(f"conv{i + 1}/bias", [width], np.zeros(width))
        out = tensor(f"conv{i + 1}", [1, size, size, width])
        options = s.Conv2DOptionsT()
        options.padding = s.Padding.SAME
        options.strideW = options.strideH = 1
        options.dilationWFactor = options.dilationHFactor = 1
        options.fusedActivationFunction = s.ActivationFunctionType.RELU
        op = s.OperatorT()
        op.opcodeIndex = 0
        op.inputs = np.asarray([current, w, b], dtype=np.int32)
        op.outputs = np.asarray([out], dtype=np.int32)
        op.builtinOptionsType = s.BuiltinOptions.Conv2DOptions
        op.builtinOptions = options
        operators.append(op)
        current, previous = out, width

    graph = s.SubGraphT()
    graph.tensors = tensors
    graph.inputs = np.asarray([first], dtype=np.int32)
    graph.outputs = np.asarray([current], dtype=np.int32)
    graph.operators = operators
    graph.name = "main"
    code = s.OperatorCodeT()
    code.builtinCode = s.BuiltinOperator.CONV_2D
    code.deprecatedBuiltinCode = s.BuiltinOperator.CONV_2D
    code.version = 1
    model = s.ModelT()
    model.version = 3
    model.operatorCodes = [code]
    model.subgraphs = [graph]
    model.buffers = buffers
    model.description = f"edgelab.synthetic.conv_stack: {NOTE}"

    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
