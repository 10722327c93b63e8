#!/usr/bin/env python3
"""Validates an .mlpackage with coremltools (test oracle; never used by the product).

Usage: validate_mlpackage.py PKG.mlpackage... [--json] [--roundtrip]

Checks (on a temporary copy, because coremltools rewrites Manifest.json):
  1. structure coremltools does not check itself (mlpkg_checks.py: manifest, spec/opset,
     ModelDescription vs program I/O, every weight.bin blob reference);
  2. coremltools' milproto frontend rebuilds the program through the op registry of the spec's
     opset (iOS15..iOS18), i.e. re-runs type inference, and every declared op output type
     (const ops included) must match the inferred one;
  3. --roundtrip: re-serializes the loaded program with mil_convert.

Text mode prints "OK: ..." or "INVALID: <reason>" per package. --json prints one line per
package (in argument order), each one object:
  { ok, specVersion, defaultFunction,
    functions: { fname: { inputs: [{name, dtype, shape}], outputs: [...], states: [...] } },
    opCounts: { fname: { opType: n } }, roundtripOpCounts?: { fname: n },
    error?, internal? }
Signatures come from coremltools' program after type inference (inputs and states from the
function's input vars, outputs from the block outputs' inferred types). dtype is the MIL name
(fp16, fp32, int32, bool, ...); an unknown dimension is null; a non-tensor output (e.g. a list)
has shape null and dtype set to its type name. opCounts counts the ops of the proto block as
serialized (write_state stays write_state), nested blocks included.
Exit status (worst over the packages): 0 valid, 1 invalid, 2 usage error, 3 internal error of
this script (the report then has internal: true).
"""

import json
import logging
import os
import shutil
import sys
import tempfile

os.environ.setdefault("TQDM_DISABLE", "1")  # coremltools' pass progress bars


class _DropImportNoise(logging.Filter):
    """Linux wheels lack libcoremlpython (one warning per proxy class at import), and coremltools
    warns that scikit-learn is newer than its sklearn converter supports (we only use k-means)."""

    def filter(self, record):
        msg = record.getMessage()
        return "libcoremlpython" not in msg and "scikit-learn version" not in msg


logging.getLogger("coremltools").addFilter(_DropImportNoise())

import coremltools as ct  # noqa: E402
from coremltools.converters.mil.frontend.milproto.helper import proto_to_types  # noqa: E402
import coremltools.converters.mil.frontend.milproto.load as milproto  # noqa: E402
from coremltools.converters.mil.mil import program as mil_program  # noqa: E402
from coremltools.converters.mil.mil import types  # noqa: E402
from coremltools.converters.mil.mil.types.symbolic import is_symbolic  # noqa: E402
from coremltools.libmodelpackage import ModelPackage  # noqa: E402

from mlpkg_checks import Invalid, check_manifest, check_spec  # noqa: E402

_load_operation = milproto._load_operation


def _load_operation_named(context, op_spec):
    """The loader's errors ("Mismatch between var types ...") do not say which op; add it."""
    try:
        return _load_operation(context, op_spec)
    except Invalid:
        raise
    except Exception as e:
        out = op_spec.outputs[0].name if op_spec.outputs else "(no outputs)"
        raise Invalid(f"coremltools rejected op {op_spec.type} -> {out}: {type(e).__name__}: {e}") from e


milproto._load_operation = _load_operation_named  # nested blocks look it up here too


def type_json(name, sym_type):
    if types.is_state(sym_type):
        sym_type = sym_type.wrapped_type()
    if types.is_tensor(sym_type):
        dtype, shape = sym_type.get_primitive(), sym_type.get_shape()
    elif types.is_scalar(sym_type):
        dtype, shape = sym_type, ()
    else:
        return {"name": name, "dtype": sym_type.__type_info__().name, "shape": None}
    dims = [int(d) if not is_symbolic(d) and int(d) >= 0 else None for d in shape]
    return {"name": name, "dtype": types.builtin_to_string(dtype), "shape": dims}


def signature(fn_spec, func):
    """Inputs/states in proto order, as coremltools typed them; outputs from the block outputs."""
    inputs, states = [], []
    for nv in fn_spec.inputs:
        var = func.inputs[nv.name]
        (states if types.is_state(var.sym_type) else inputs).append(type_json(nv.name, var.sym_type))
    block = fn_spec.block_specializations[fn_spec.opset]
    outputs = [type_json(name, var.sym_type) for name, var in zip(block.outputs, func.outputs)]
    return {"inputs": inputs, "outputs": outputs, "states": states}


def op_counts(block, counts):
    for op in block.operations:
        counts[op.type] = counts.get(op.type, 0) + 1
        for nested in op.blocks:
            op_counts(nested, counts)
    return counts


def check_declared_types(prog, prog_spec):
    """The loader checks declared output types for ordinary ops only; check const ops too."""
    for fname, f in prog.functions.items():
        by_name, stack = {}, [f]
        while stack:
            blk = stack.pop()
            for op in blk.operations:
                for v in op.outputs:
                    by_name[v.name] = v
                stack.extend(op.blocks)
        fn = prog_spec.functions[fname]
        for op in fn.block_specializations[fn.opset].operations:
            for o in op.outputs:
                v = by_name.get(o.name)
                if v is None:
                    raise Invalid(f"{fname}: var {o.name} vanished after load")
                want = proto_to_types(o.type)
                if not types.is_compatible_type(v.sym_type, want):  # rank-0 tensor == scalar
                    raise Invalid(f"{fname}: {op.type} output {o.name}: declared "
                                  f"{want.__type_info__()} but inferred {v.sym_type.__type_info__()}")


def roundtrip(prog, spec, default_fn):
    from coremltools.converters.mil.converter import mil_convert

    desc = spec.description
    if len(desc.functions) > 0:
        prog.default_function_name = default_fn
        prog.export_as_multifunction = True
    out = mil_convert(prog, convert_from="milinternal", convert_to="mlprogram",
                      compute_units=ct.ComputeUnit.CPU_ONLY,
                      specification_version=spec.specificationVersion,
                      model_description=desc, skip_model_load=True,
                      pass_pipeline=ct.PassPipeline.EMPTY)
    return {f: len(fn.block_specializations[fn.opset].operations)
            for f, fn in out.get_spec().mlProgram.functions.items()}


def validate(work, want_roundtrip):
    weights_dir = check_manifest(work)
    if not ModelPackage.isValid(work):
        raise Invalid("libmodelpackage says the package is invalid")
    try:
        spec = ct.utils.load_spec(work)
    except Exception as e:  # protobuf decode errors and the like
        raise Invalid(f"model.mlmodel unreadable: {e}")
    _, default_fn = check_spec(spec, weights_dir)
    sv, prog_spec = spec.specificationVersion, spec.mlProgram
    model = ct.models.MLModel(work, skip_model_load=True)
    # make_list ops store symbol names such as "is58" from the original conversion; start the
    # loader's fresh-symbol counter past them, or it later mints a clashing "is58" and raises.
    mil_program.k_num_internal_syms = max(mil_program.k_num_internal_syms, 1_000_000)
    try:
        prog = milproto.load(spec, specification_version=sv, file_weights_dir=model.weights_dir or "")
        prog._check_early_error_out_for_invalid_program()
        prog.validate()
    except Invalid:
        raise
    except Exception as e:  # the loader raises whatever its op registry raises
        raise Invalid(f"coremltools rejected the program: {type(e).__name__}: {e}")
    check_declared_types(prog, prog_spec)
    report = {
        "ok": True,
        "specVersion": sv,
        "defaultFunction": default_fn,
        "functions": {f: signature(prog_spec.functions[f], func) for f, func in prog.functions.items()},
        "opCounts": {f: op_counts(fn.block_specializations[fn.opset], {})
                     for f, fn in prog_spec.functions.items()},
    }
    if want_roundtrip:
        try:
            report["roundtripOpCounts"] = roundtrip(prog, spec, default_fn)
        except Exception as e:
            raise Invalid(f"round trip failed: {type(e).__name__}: {e}")
    return report


def check(src, want_roundtrip):
    """Report for one package; never raises."""
    tmp = tempfile.mkdtemp(prefix="validate-mlpackage-")
    try:
        if not os.path.isdir(src):
            raise Invalid(f"{src}: not a directory")
        work = os.path.join(tmp, "copy.mlpackage")
        shutil.copytree(src, work)  # coremltools rewrites Manifest.json
        return validate(work, want_roundtrip)
    except Invalid as e:
        return {"ok": False, "error": str(e)}
    except Exception as e:  # a bug here, not a verdict on the package
        return {"ok": False, "error": f"internal error: {type(e).__name__}: {e}", "internal": True}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    pkgs = [a for a in argv if not a.startswith("--")]
    flags = {a for a in argv if a.startswith("--")}
    if not pkgs or flags - {"--json", "--roundtrip"}:
        print(__doc__, file=sys.stderr)
        return 2
    status = 0
    for src in pkgs:  # one process for many packages: coremltools takes a while to import
        report = check(src, "--roundtrip" in flags)
        if "--json" in flags:
            print(json.dumps(report), flush=True)
        elif report["ok"]:
            print(f"OK: {src}: spec {report['specVersion']}, functions {list(report['functions'])}")
            if "roundtripOpCounts" in report:
                print(f"OK: round trip re-serialized, op counts {report['roundtripOpCounts']}")
        else:
            print(f"INVALID: {src}: {report['error']}", flush=True)
        status = max(status, 0 if report["ok"] else 3 if report.get("internal") else 1)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
