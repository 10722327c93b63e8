#!/usr/bin/env python3
"""Corrupts an .mlpackage in place, for negative tests of validate_mlpackage.py.

Usage: corrupt_mlpackage.py PKG MODE [VAR]
  op-shape VAR      the op producing VAR declares a wrong shape (its last dimension + 1)
  const-shape VAR   the blob-backed const VAR declares a shape with one element more
  blob-dtype VAR    the blob-backed const VAR declares another dtype (fp16 <-> fp32)
  truncate-weights  weight.bin loses its last 16 bytes
Exit status 2 when VAR is not found.
"""

import os
import sys

from coremltools.proto import Model_pb2

MODEL = "Data/com.apple.CoreML/model.mlmodel"
FP16, FP32 = 10, 11


def find_output(spec, var):
    for fn in spec.mlProgram.functions.values():
        for op in fn.block_specializations[fn.opset].operations:
            for o in op.outputs:
                if o.name == var:
                    return op, o
    sys.exit(f"no op produces {var}")


def main(pkg, mode, var=None):
    if mode == "truncate-weights":
        path = os.path.join(pkg, "Data/com.apple.CoreML/weights/weight.bin")
        os.truncate(path, os.path.getsize(path) - 16)
        return
    spec = Model_pb2.Model()
    with open(os.path.join(pkg, MODEL), "rb") as f:
        spec.ParseFromString(f.read())
    op, out = find_output(spec, var)
    if mode == "op-shape":
        out.type.tensorType.dimensions[-1].constant.size += 1
    elif mode in ("const-shape", "blob-dtype"):
        val = op.attributes["val"]
        if val.WhichOneof("value") != "blobFileValue":
            sys.exit(f"{var} is not a blob-backed const")
        for t in (out.type.tensorType, val.type.tensorType):
            if mode == "const-shape":
                t.dimensions[0].constant.size += 1
            else:
                t.dataType = FP32 if t.dataType == FP16 else FP16
    else:
        sys.exit(f"unknown mode {mode}")
    with open(os.path.join(pkg, MODEL), "wb") as f:
        f.write(spec.SerializeToString())


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
