#!/usr/bin/env python3
"""coremltools' own palettization of fixed weights: the numbers src/quant/oracle.test.ts checks
ours against, and the coremltools timing for bench/quant/palettize.ts.

Make the goldens (writes *.f16 weights and palettize_oracle.json next to this file):
    ~/.cache/anemll/venv/bin/python src/quant/testdata/palettize_oracle.py
Time coremltools on a weight file (raw little-endian fp16, row-major [rows, cols]); prints JSON:
    palettize_oracle.py --time FILE ROWS COLS BITS GROUP
"""
import json
import pathlib
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import coremltools as ct  # noqa: E402
from coremltools.converters.mil import Builder as mb  # noqa: E402
from coremltools.converters.mil.mil import types  # noqa: E402
from coremltools.optimize.coreml import (  # noqa: E402
    OpPalettizerConfig,
    OptimizationConfig,
    palettize_weights,
)

HERE = pathlib.Path(__file__).parent

# coremltools clusters a group with scikit-learn k-means, or with exact 1-D k-means (kmeans1d)
# when the group has >= 10 000 fp16 weights; one weight file exercises each.
WEIGHTS = {
    "small.f16": (64, 128),  # groups of 8 x 128 = 1024 weights: scikit-learn
    "wide.f16": (16, 1280),  # groups of 8 x 1280 = 10 240 weights: kmeans1d
}
CASES = [("small.f16", bits, 8) for bits in (2, 3, 4, 6, 8)] + [
    ("small.f16", 4, 0),
    ("wide.f16", 4, 8),
    ("wide.f16", 6, 8),
    ("wide.f16", 6, 0),
]


def make_weight(rows, cols, seed):
    """Real-looking: Student's t (heavy tails) with a log-normal scale per output channel."""
    rng = np.random.default_rng(seed)
    scale = np.exp(0.5 * rng.standard_normal((rows, 1)))
    return (0.01 * scale * rng.standard_t(3, (rows, cols))).astype(np.float16)


def palettize(w, bits, group, timing=None):
    """Runs ct.optimize.coreml.palettize_weights on a one-conv program; returns (lut, indices).
    With a `timing` dict, stores the seconds palettize_weights took (not the conversion)."""
    rows, cols = w.shape
    weight = w.reshape(rows, cols, 1, 1)

    @mb.program(
        input_specs=[mb.TensorSpec(shape=(1, cols, 1, 1), dtype=types.fp16)],
        opset_version=ct.target.iOS18,
    )
    def prog(x):
        return mb.conv(x=x, weight=weight, name="y")

    model = ct.convert(
        prog,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS18,
        skip_model_load=True,
    )
    granularity = {"granularity": "per_grouped_channel", "group_size": group} if group else {}
    config = OptimizationConfig(
        global_config=OpPalettizerConfig(mode="kmeans", nbits=bits, **granularity)
    )
    start = time.perf_counter()
    out = palettize_weights(model, config)
    if timing is not None:
        timing["seconds"] = time.perf_counter() - start
    ops = {op.op_type: op for op in out._mil_program.functions["main"].operations}
    lut_op = ops["constexpr_lut_to_dense"]
    return lut_op.lut, lut_op.indices


def sqnr_db(w, lut, indices):
    groups = lut.shape[0]
    rows = w.shape[0]
    table = lut.val.reshape(groups, -1).astype(np.float64)
    idx = indices.val.reshape(rows, -1).astype(np.int64)
    dense = table[np.arange(rows)[:, None] // (rows // groups), idx]
    x = w.astype(np.float64)
    return float(10 * np.log10((x**2).sum() / ((x - dense) ** 2).sum()))


def make_goldens():
    weights = {}
    for i, (name, (rows, cols)) in enumerate(WEIGHTS.items()):
        weights[name] = make_weight(rows, cols, seed=1000 + i)
        weights[name].astype("<f2").tofile(HERE / name)
    cases = []
    for name, bits, group in CASES:
        w = weights[name]
        lut, indices = palettize(w, bits, group)
        group_weights = (group or w.shape[0]) * w.shape[1]
        cases.append(
            {
                "weights": name,
                "shape": [*w.shape, 1, 1],
                "bits": bits,
                "groupSize": group,
                "kmeans": "kmeans1d" if group_weights >= 10_000 else "scikit-learn",
                "indicesDtype": types.builtin_to_string(indices.dtype),
                "lutShape": list(lut.shape),
                "lutDtype": types.builtin_to_string(lut.dtype),
                "sqnrDb": round(sqnr_db(w, lut, indices), 4),
            }
        )
        print(cases[-1], file=sys.stderr)
    versions = json.dumps({"coremltools": ct.__version__, "numpy": np.__version__})[1:-1]
    lines = ",\n  ".join(json.dumps(c) for c in cases)
    (HERE / "palettize_oracle.json").write_text(f'{{{versions},\n "cases": [\n  {lines}\n ]\n}}\n')


def time_one(path, rows, cols, bits, group):
    w = np.fromfile(path, dtype="<f2").reshape(rows, cols)
    timing = {}
    lut, indices = palettize(w, bits, group, timing)
    print(json.dumps({"seconds": timing["seconds"], "sqnrDb": sqnr_db(w, lut, indices)}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--time":
        path, rows, cols, bits, group = sys.argv[2:7]
        time_one(path, int(rows), int(cols), int(bits), int(group))
    else:
        make_goldens()
