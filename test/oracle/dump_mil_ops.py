"""Dumps what coremltools reads from an .mlpackage, as JSON, for comparison with our readers.

Usage: dump_mil_ops.py <model.mlpackage>...

Output: one JSON object on stdout, {package path: dump} (one import of coremltools for all),
each dump holding:
  specVersion, defaultFunction
  functions: {name: {opset, inputs: [{name, type}], outputs: [name], ops: [op]}}
    op: {type, name, outputs: [{name, type}], inputs: {param: [var name | null]},
         blobs: {param: offset}, blocks: [{inputs: [{name, type}], ops: [op], outputs: [name]}]}
    Types are spelled as in MIL text: tensor<fp16, [1, ?]>, state<tensor<...>>, list<T, ?>.
    `blobs` holds the BlobFileValue offsets of const `val`s, of attribute-style constexpr
    parameters and of inline input bindings.
  blobs: {offset: {dtype, values}}: each referenced blob as coremltools' own BlobReader reads it
    (fp16 as float values, sub-byte dtypes unpacked).
  dense: {op name: {dtype, shape, values}}: every constexpr op's output as coremltools'
    pymil computes it (materialized_val_inference), flattened row-major.
"""

import json
import os
import sys

import coremltools as ct
import numpy as np
from coremltools.converters.mil.frontend.milproto.load import load as load_pymil
from coremltools.libmilstoragepython import _BlobStorageReader
from coremltools.proto import MIL_pb2

DTYPE = {
    MIL_pb2.BOOL: "bool", MIL_pb2.STRING: "string", MIL_pb2.FLOAT16: "fp16",
    MIL_pb2.FLOAT32: "fp32", MIL_pb2.FLOAT64: "fp64", MIL_pb2.BFLOAT16: "bf16",
    MIL_pb2.INT8: "int8", MIL_pb2.INT16: "int16", MIL_pb2.INT32: "int32",
    MIL_pb2.INT64: "int64", MIL_pb2.UINT8: "uint8", MIL_pb2.UINT16: "uint16",
    MIL_pb2.UINT32: "uint32", MIL_pb2.UINT64: "uint64", MIL_pb2.INT4: "int4",
    MIL_pb2.UINT1: "uint1", MIL_pb2.UINT2: "uint2", MIL_pb2.UINT3: "uint3",
    MIL_pb2.UINT4: "uint4", MIL_pb2.UINT6: "uint6",
}
# BlobReader method per dtype.
READ = {
    "fp16": "read_fp16_data", "fp32": "read_float_data", "uint8": "read_uint8_data",
    "int8": "read_int8_data", "int16": "read_int16_data", "uint16": "read_uint16_data",
    "int32": "read_int32_data", "uint32": "read_uint32_data", "int4": "read_int4_data",
    "uint1": "read_uint1_data", "uint2": "read_uint2_data", "uint3": "read_uint3_data",
    "uint4": "read_uint4_data", "uint6": "read_uint6_data",
}


def dim(d):
    return str(d.constant.size) if d.WhichOneof("dimension") == "constant" else "?"


def type_str(vt):
    kind = vt.WhichOneof("type")
    if kind == "tensorType":
        t = vt.tensorType
        return f"tensor<{DTYPE[t.dataType]}, [{', '.join(dim(d) for d in t.dimensions)}]>"
    if kind == "stateType":
        return f"state<{type_str(vt.stateType.wrappedType)}>"
    if kind == "listType":
        return f"list<{type_str(vt.listType.type)}, {dim(vt.listType.length)}>"
    if kind == "tupleType":
        return f"tuple<{', '.join(type_str(t) for t in vt.tupleType.types)}>"
    if kind == "dictionaryType":
        d = vt.dictionaryType
        return f"dict<{type_str(d.keyType)}, {type_str(d.valueType)}>"
    return kind


def named(nvt):
    return {"name": nvt.name, "type": type_str(nvt.type)}


def dump_block(block, blobs):
    return {
        "inputs": [named(i) for i in block.inputs],
        "ops": [dump_op(op, blobs) for op in block.operations],
        "outputs": list(block.outputs),
    }


def note_blob(value, blobs):
    """Offset of a BlobFileValue (recording its dtype), else None."""
    if value.WhichOneof("value") != "blobFileValue":
        return None
    off = value.blobFileValue.offset
    blobs[off] = DTYPE[value.type.tensorType.dataType]
    return off


def dump_op(op, blobs):
    out = {
        "type": op.type,
        "name": op.attributes["name"].immediateValue.tensor.strings.values[0],
        "outputs": [named(o) for o in op.outputs],
        "inputs": {},
        "blobs": {},
        "blocks": [dump_block(b, blobs) for b in op.blocks],
    }
    for key, value in op.attributes.items():
        off = note_blob(value, blobs)
        if off is not None:
            out["blobs"][key] = off
    for param, arg in op.inputs.items():
        out["inputs"][param] = []
        for b in arg.arguments:
            if b.WhichOneof("binding") == "name":
                out["inputs"][param].append(b.name)
            else:
                out["inputs"][param].append(None)
                off = note_blob(b.value, blobs)
                if off is not None:
                    out["blobs"][param] = off
    return out


def flat(a):
    a = np.asarray(a)
    if a.dtype == np.float16 or a.dtype == np.float32 or a.dtype == np.float64:
        return [float(x) for x in a.reshape(-1)]
    return [int(x) for x in a.reshape(-1)]


def dump(pkg):
    spec = ct.utils.load_spec(pkg)
    weights = os.path.join(pkg, "Data", "com.apple.CoreML", "weights")
    prog = spec.mlProgram
    blobs = {}
    functions = {}
    for name, fn in prog.functions.items():
        block = fn.block_specializations[fn.opset]
        functions[name] = {
            "opset": fn.opset,
            "inputs": [named(i) for i in fn.inputs],
            "outputs": list(block.outputs),
            "ops": [dump_op(op, blobs) for op in block.operations],
        }
    blob_values = {}
    if blobs:
        reader = _BlobStorageReader(os.path.join(weights, "weight.bin"))
        for off, dtype in blobs.items():
            data = getattr(reader, READ[dtype])(off)
            if dtype == "fp16":  # the reader returns the raw bit patterns
                data = np.asarray(data).view(np.float16)
            blob_values[str(off)] = {"dtype": dtype, "values": flat(data)}
    dense = {}
    pymil = load_pymil(spec, spec.specificationVersion, weights)
    for fn in pymil.functions.values():
        for op in fn.operations:
            if op.op_type.startswith("constexpr_"):
                v = op.materialized_val_inference()
                dense[op.name] = {"dtype": str(v.dtype), "shape": list(v.shape), "values": flat(v)}
    return {
        "specVersion": spec.specificationVersion,
        "defaultFunction": spec.description.defaultFunctionName or "main",
        "functions": functions,
        "blobs": blob_values,
        "dense": dense,
    }


if __name__ == "__main__":
    print(json.dumps({pkg: dump(pkg) for pkg in sys.argv[1:]}))
