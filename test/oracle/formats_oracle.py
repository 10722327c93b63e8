#!/usr/bin/env python3
"""coremltools as the reference for src/formats (test oracle; never used by the product).

Usage: formats_oracle.py < requests.json     (a JSON array of requests; prints a JSON array)

Requests (one result per request, in order):
  {"op": "proto-dict", "file": F}
      -> {"dict": MessageToDict of F parsed as CoreML.Specification.Model (coremltools' classes)}
  {"op": "proto-equal", "a": A, "b": B}
      -> {"equal": A and B parse to equal Models, "sameCanonical": equal deterministic encodings}
  {"op": "proto-from-json", "json": J}
      -> {"base64": deterministic encoding of J (proto3 JSON of a Model) parsed by coremltools' classes}
  {"op": "blob-write", "file": F, "blobs": [{"dtype": D, "values": [...]}, ...]}
      -> {"offsets": [...]}   written with coremltools' _BlobStorageWriter
  {"op": "blob-read", "file": F, "reads": [{"offset": O, "dtype": D}, ...]}
      -> {"values": [[...], ...]}   read with coremltools' _BlobStorageReader
  {"op": "make-package", "dir": DIR}
      -> {"path": DIR/ref18.mlpackage}   an iOS18 package written by ct.convert + save:
         fp16 input, fp16 state (KV-cache style), 4-bit per-grouped-channel palettized linear

Blob values: fp16 as uint16 bit patterns, fp32 as uint32 bit patterns (exact in JSON), integer
dtypes as plain integers (int4 signed, uintN unsigned).
"""

import base64
import json
import logging
import os
import sys

os.environ.setdefault("TQDM_DISABLE", "1")
logging.disable(logging.WARNING)

import numpy as np  # noqa: E402
from google.protobuf.json_format import MessageToDict, Parse  # noqa: E402

import coremltools as ct  # noqa: E402
from coremltools.converters.mil.mil import types  # noqa: E402
from coremltools.libmilstoragepython import _BlobStorageReader, _BlobStorageWriter  # noqa: E402
from coremltools.proto import Model_pb2  # noqa: E402

# dtype -> (writer/reader method suffix, numpy dtype of the values handed to the writer)
BLOB_METHODS = {
    "fp16": ("fp16", np.uint16),
    "fp32": ("float", np.uint32),
    "uint8": ("uint8", np.uint8),
    "int8": ("int8", np.int8),
    "int16": ("int16", np.int16),
    "uint16": ("uint16", np.uint16),
    "int32": ("int32", np.int32),
    "uint32": ("uint32", np.uint32),
    "int4": ("int4", types.np_int4_dtype),
    "uint1": ("uint1", types.np_uint1_dtype),
    "uint2": ("uint2", types.np_uint2_dtype),
    "uint3": ("uint3", types.np_uint3_dtype),
    "uint4": ("uint4", types.np_uint4_dtype),
    "uint6": ("uint6", types.np_uint6_dtype),
}


def parse(path):
    m = Model_pb2.Model()
    with open(path, "rb") as f:
        m.ParseFromString(f.read())
    return m


def proto_dict(req):
    return {"dict": MessageToDict(parse(req["file"]))}


def proto_equal(req):
    a, b = parse(req["a"]), parse(req["b"])
    return {
        "equal": a == b,
        "sameCanonical": a.SerializeToString(deterministic=True)
        == b.SerializeToString(deterministic=True),
    }


def proto_from_json(req):
    m = Parse(json.dumps(req["json"]), Model_pb2.Model())
    return {"base64": base64.b64encode(m.SerializeToString(deterministic=True)).decode()}


def blob_write(req):
    writer = _BlobStorageWriter(req["file"])
    offsets = []
    for blob in req["blobs"]:
        suffix, npdtype = BLOB_METHODS[blob["dtype"]]
        data = np.array(blob["values"], dtype=np.int64).astype(npdtype)
        if blob["dtype"] == "fp32":
            data = data.view(np.float32)
        offsets.append(int(getattr(writer, f"write_{suffix}_data")(np.ascontiguousarray(data))))
    del writer  # the destructor flushes the header
    return {"offsets": offsets}


def blob_read(req):
    reader = _BlobStorageReader(req["file"])
    out = []
    for r in req["reads"]:
        suffix, _ = BLOB_METHODS[r["dtype"]]
        arr = np.asarray(getattr(reader, f"read_{suffix}_data")(r["offset"]))
        if r["dtype"] == "fp32":
            arr = arr.astype(np.float32).view(np.uint32)
        elif r["dtype"] == "fp16":
            arr = arr.view(np.uint16)
        out.append([int(v) for v in arr.reshape(-1)])
    return {"values": out}


def make_package(req):
    import coremltools.optimize.coreml as cto
    from coremltools.converters.mil.mil import Builder as mb

    @mb.program(
        input_specs=[
            mb.TensorSpec((1, 64), dtype=types.fp16),
            mb.StateTensorSpec((1, 8, 64), dtype=types.fp16),
        ],
        opset_version=ct.target.iOS18,
    )
    def prog(x, kv):
        w = np.random.RandomState(0).randn(32, 64).astype(np.float16)
        y = mb.linear(x=x, weight=w, name="y0")
        c = mb.read_state(input=kv, name="c")
        doubled = mb.mul(x=c, y=np.float16(2), name="m")
        c2 = mb.coreml_update_state(state=kv, value=doubled, name="c2")
        return mb.relu(x=y, name="y"), c2

    model = ct.convert(
        prog,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS18,
        pass_pipeline=ct.PassPipeline.EMPTY,
        skip_model_load=True,
    )
    config = cto.OpPalettizerConfig(
        nbits=4, granularity="per_grouped_channel", group_size=8, weight_threshold=10
    )
    model = cto.palettize_weights(model, cto.OptimizationConfig(global_config=config))
    path = os.path.join(req["dir"], "ref18.mlpackage")
    model.save(path)
    return {"path": path}


OPS = {
    "proto-dict": proto_dict,
    "proto-equal": proto_equal,
    "proto-from-json": proto_from_json,
    "blob-write": blob_write,
    "blob-read": blob_read,
    "make-package": make_package,
}


def main():
    requests = json.load(sys.stdin)
    results = []
    for req in requests:
        try:
            results.append(OPS[req["op"]](req))
        except Exception as e:  # reported per request, so one bad read does not hide the rest
            results.append({"error": f"{type(e).__name__}: {e}"})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
