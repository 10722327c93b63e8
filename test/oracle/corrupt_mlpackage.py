#!/usr/bin/env python3
"""Corrupts .mlpackage directories in place, for negative tests of validate_mlpackage.py.

Usage: corrupt_mlpackage.py JOB...   with JOB = PKG:MODE[:VAR]
  op-shape:VAR      the op producing VAR declares a wrong shape (its last dimension + 1)
  const-shape:VAR   the blob-backed const VAR declares a first dimension one larger
  blob-dtype:VAR    the blob-backed const VAR declares another dtype (fp16 <-> fp32)
  truncate-weights  weight.bin loses its last 16 bytes
Several jobs share one process (importing coremltools is slow). Exits 2 on a bad job.
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
    raise ValueError(f"no op produces {var}")


def corrupt(pkg, mode, var=None):
    if mode == "truncate-weights":
        path = os.path.join(pkg, "Data/com.apple.CoreML/weights/weight.bin")
        os.truncate(path, os.path.getsize(path) - 16)
        return
    if mode not in ("op-shape", "const-shape", "blob-dtype") or var is None:
        raise ValueError(f"bad mode {mode!r} / var {var!r}")
    spec = Model_pb2.Model()
    with open(os.path.join(pkg, MODEL), "rb") as f:
        spec.ParseFromString(f.read())
    op, out = find_output(spec, var)
    if mode == "op-shape":
        out.type.tensorType.dimensions[-1].constant.size += 1
    else:
        val = op.attributes["val"]
        if val.WhichOneof("value") != "blobFileValue":
            raise ValueError(f"{var} is not a blob-backed const")
        for t in (out.type.tensorType, val.type.tensorType):
            if mode == "const-shape":
                t.dimensions[0].constant.size += 1
            else:
                t.dataType = FP32 if t.dataType == FP16 else FP16
    with open(os.path.join(pkg, MODEL), "wb") as f:
        f.write(spec.SerializeToString())


def main(jobs):
    if not jobs:
        print(__doc__, file=sys.stderr)
        return 2
    for job in jobs:
        try:
            corrupt(*job.split(":"))
        except (ValueError, TypeError, OSError) as e:
            print(f"corrupt_mlpackage.py: {job}: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
