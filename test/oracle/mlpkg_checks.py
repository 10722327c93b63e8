"""Structural checks of an .mlpackage that coremltools' own loader does not make.

Adapted from shared/docs/coreml-format.md §7.2 (our team's script). Every check raises Invalid
with a message naming the function/op/value at fault. Used by validate_mlpackage.py.
"""

import json
import math
import os
import re
import struct

import numpy as np

# Specification version -> opset name written in Function.opset (iOS15..iOS18, and iOS26).
OPSET = {6: "CoreML5", 7: "CoreML6", 8: "CoreML7", 9: "CoreML8", 10: "CoreML9"}
# MIL DataType code -> (BlobDataType code, bits)
BLOB = {10: (1, 16), 11: (2, 32), 31: (3, 8), 21: (4, 8), 13: (5, 16), 22: (6, 16), 32: (7, 16),
        25: (8, 4), 37: (9, 1), 36: (10, 2), 35: (11, 4), 39: (12, 3), 38: (13, 6), 23: (14, 32),
        33: (15, 32), 40: (16, 8), 41: (17, 8)}
# MIL DataType code -> ArrayFeatureType.ArrayDataType (FLOAT16, FLOAT32, INT32, INT8)
IO_DTYPE = {10: 65552, 11: 65568, 23: 131104, 21: 131080}
FP16_ARRAY = 65552
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_@]*$")


class Invalid(Exception):
    """The package is malformed; the message says where and why."""


def check_manifest(pkg):
    """Checks Manifest.json; returns the weights directory (or None when there is none)."""
    try:
        with open(os.path.join(pkg, "Manifest.json")) as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        raise Invalid(f"Manifest.json unreadable: {e}")
    if m.get("fileFormatVersion") != "1.0.0":
        raise Invalid("Manifest.json: fileFormatVersion must be 1.0.0")
    entries, root = m.get("itemInfoEntries"), m.get("rootModelIdentifier")
    if not isinstance(entries, dict) or root not in entries:
        raise Invalid("Manifest.json: rootModelIdentifier not in itemInfoEntries")
    for ident, e in entries.items():
        for k in ("path", "name", "author", "description"):
            if not isinstance(e.get(k), str):
                raise Invalid(f"Manifest.json: item {ident} lacks string '{k}'")
        if not os.path.exists(os.path.join(pkg, "Data", e["path"])):
            raise Invalid(f"Manifest.json: item {ident} path missing: {e['path']}")
    if entries[root]["path"] != "com.apple.CoreML/model.mlmodel":
        raise Invalid("Manifest.json: root model path is not com.apple.CoreML/model.mlmodel")
    w = [e for e in entries.values() if e["name"] == "weights" and e["author"] == "com.apple.CoreML"]
    return os.path.join(pkg, "Data", w[0]["path"]) if w else None


def tensor_shape(vt):
    """Dimensions of a tensor ValueType; None for an unknown dimension."""
    tt = vt.tensorType
    if tt.rank != len(tt.dimensions):
        raise Invalid("tensor type rank != len(dimensions)")
    return [d.constant.size if d.WhichOneof("dimension") == "constant" else None
            for d in tt.dimensions]


def check_blob(weights_dir, value, where):
    bf = value.blobFileValue
    if not bf.fileName.startswith("@model_path/weights/"):
        raise Invalid(f"{where}: blob fileName {bf.fileName!r}")
    path = os.path.join(weights_dir or "", bf.fileName.split("/")[-1])
    if not os.path.isfile(path):
        raise Invalid(f"{where}: missing weight file {bf.fileName}")
    file_len = os.path.getsize(path)
    off = bf.offset
    if off % 64 or off + 64 > file_len:
        raise Invalid(f"{where}: bad blob offset {off} (file is {file_len} bytes)")
    with open(path, "rb") as f:  # weight files can be GBs: seek, don't slurp
        count, version = struct.unpack("<II", f.read(8))
        f.seek(off)
        sentinel, dtype, size, doff, pad = struct.unpack("<IIQQQ", f.read(32))
    if version != 2 or count == 0:
        raise Invalid(f"{where}: weight file header version {version}, count {count}")
    if sentinel != 0xDEADBEEF:
        raise Invalid(f"{where}: bad sentinel at offset {off}")
    code = value.type.tensorType.dataType
    if code not in BLOB or BLOB[code][0] != dtype:
        raise Invalid(f"{where}: blob dtype {dtype} does not match value dtype {code}")
    shape = tensor_shape(value.type)
    if None in shape:
        raise Invalid(f"{where}: blob value with unknown dimension")
    bits_per = BLOB[code][1]
    bits = int(np.prod(shape, dtype=np.int64)) * bits_per
    # Pre-iOS18 writers leave padding garbage for whole-byte dtypes (format doc, "Observed"):
    # only sub-byte dtypes carry a meaningful padding field.
    pad_ok = pad == size * 8 - bits if bits_per < 8 else True
    if size != math.ceil(bits / 8) or not pad_ok or doff != off + 64 or doff + size > file_len:
        raise Invalid(f"{where}: blob size/padding/offset inconsistent with shape {shape} "
                      f"(size={size}, pad={pad}, data@{doff}, file {file_len} bytes)")


def walk_values(block, fname, weights_dir, names):
    for i, op in enumerate(block.operations):
        where = f"{fname}/op#{i}:{op.type}"
        if "name" not in op.attributes:
            raise Invalid(f"{where}: missing 'name' attribute")
        for o in op.outputs:
            if not IDENT.match(o.name) or o.name in names:
                raise Invalid(f"{where}: bad or duplicate output name {o.name!r}")
            names.add(o.name)
        for k, v in op.attributes.items():
            if v.WhichOneof("value") == "blobFileValue":
                check_blob(weights_dir, v, f"{where}.{k}")
        for k, arg in op.inputs.items():
            for b in arg.arguments:
                if b.WhichOneof("binding") == "value" and b.value.WhichOneof("value") == "blobFileValue":
                    check_blob(weights_dir, b.value, f"{where}.{k}")
        for nested in op.blocks:
            walk_values(nested, fname, weights_dir, names)


def check_io(fname, fn, fd, sv):
    """The function's proto inputs/outputs must match its (Function)Description."""
    inputs = {nv.name: nv.type for nv in fn.inputs}
    declared = {f.name: f for f in list(fd.input) + list(fd.state)}
    if set(inputs) != set(declared):
        raise Invalid(f"{fname}: function inputs {sorted(inputs)} != described {sorted(declared)}")
    if not inputs and sv < 9:
        raise Invalid(f"{fname}: zero inputs need spec >= 9")
    for name, vt in inputs.items():
        ft = declared[name].type
        if vt.WhichOneof("type") == "stateType":
            if sv < 9 or ft.WhichOneof("Type") != "stateType" or name not in {s.name for s in fd.state}:
                raise Invalid(f"{fname}: state {name} must be a stateType feature in 'state' (spec >= 9)")
            arr, wt = ft.stateType.arrayType, vt.stateType.wrappedType
            if arr.dataType != FP16_ARRAY or wt.tensorType.dataType != 10:
                raise Invalid(f"{fname}: state {name} must be fp16")
            if list(arr.shape) != tensor_shape(wt):
                raise Invalid(f"{fname}: state {name} shape {list(arr.shape)} != {tensor_shape(wt)}")
            continue
        arr = ft.multiArrayType
        code = vt.tensorType.dataType
        if ft.WhichOneof("Type") != "multiArrayType" or IO_DTYPE.get(code) != arr.dataType:
            raise Invalid(f"{fname}: input {name} dtype/feature type mismatch")
        if arr.dataType == FP16_ARRAY and sv < 7:
            raise Invalid(f"{fname}: FLOAT16 input {name} needs spec >= 7")
        shape = tensor_shape(vt) or [1]  # scalar inputs are described as [1]
        flex = arr.WhichOneof("ShapeFlexibility")
        if None in shape and flex is None:
            raise Invalid(f"{fname}: input {name} has unknown dims but no shapeRange/enumeratedShapes")
        if None not in shape and flex is None and list(arr.shape) != shape:
            raise Invalid(f"{fname}: input {name} shape {list(arr.shape)} != {shape}")
    block = fn.block_specializations[fn.opset]
    outs = [f.name for f in fd.output]
    if list(block.outputs) != outs or not outs:
        raise Invalid(f"{fname}: block outputs {list(block.outputs)} != described {outs}")


def check_spec(spec, weights_dir):
    """Checks the Model proto; returns {function name: FunctionDescription-like} and the default."""
    if spec.WhichOneof("Type") != "mlProgram":
        raise Invalid("model type is not mlProgram")
    sv, prog, desc = spec.specificationVersion, spec.mlProgram, spec.description
    if sv not in OPSET:
        raise Invalid(f"specificationVersion {sv} is not an ML Program version (6..10)")
    if prog.version != 1 or prog.docString or set(prog.attributes) - {"buildInfo"}:
        raise Invalid("Program version/docString/attributes")
    multi = len(desc.functions) > 0 or desc.defaultFunctionName != ""
    if multi:
        if sv < 9:
            raise Invalid("multi-function needs spec >= 9")
        if desc.input or desc.output or desc.state or desc.predictedFeatureName:
            raise Invalid("multi-function model uses top-level I/O")
        fdescs = {f.name: f for f in desc.functions}
        if desc.defaultFunctionName not in fdescs:
            raise Invalid("defaultFunctionName not among functions")
    else:
        fdescs = {"main": desc}
    if set(fdescs) != set(prog.functions):
        raise Invalid(f"described functions {sorted(fdescs)} != program functions {sorted(prog.functions)}")
    names = set()
    for fname, fn in prog.functions.items():
        if fn.opset != OPSET[sv] or set(fn.block_specializations) != {fn.opset}:
            raise Invalid(f"{fname}: opset {fn.opset!r} / block_specializations do not match spec {sv}")
        if fn.attributes:
            raise Invalid(f"{fname}: function attributes not allowed")
        check_io(fname, fn, fdescs[fname], sv)
        walk_values(fn.block_specializations[fn.opset], fname, weights_dir, names)
        names.clear()  # var names are per function
    return fdescs, (desc.defaultFunctionName if multi else "main")
