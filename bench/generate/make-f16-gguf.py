"""Writes an F16 copy of a quantized GGUF, for bench/generate/speed.ts's fp16 pair.

Every quantized tensor (Q4_1, Q8_0, ...) is dequantized with gguf.quants.dequantize and stored
as F16; F32 tensors (the norms) and F16 ones are copied as they are. All KV metadata (tokenizer,
chat template, hyperparameters) is copied in order, except general.file_type, which becomes
MOSTLY_F16. Tensor names and order are kept. The weights are the quantized file's own values
rounded to F16, so greedy decoding on both files should agree (llama.cpp's quantized kernels
also round the activations to 8 bits, which the F16 path does not: agreement is close, not
guaranteed exact).

The file is written to a temp name beside the output and renamed at the end.

Usage: ~/.cache/anemll/venv/bin/python bench/generate/make-f16-gguf.py IN.gguf OUT.gguf
"""

import os
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter, LlamaFileType, Keys
from gguf.quants import dequantize

# Tensors stored as they are; everything else is dequantized to F16.
KEEP = {GGMLQuantizationType.F32, GGMLQuantizationType.F16}


def f16_tensor(t) -> np.ndarray:
    """The tensor as numpy in GGUF's row-major order (last dimension = ne[0])."""
    if t.tensor_type in KEEP:
        return t.data
    x = dequantize(t.data, t.tensor_type)
    if not np.isfinite(x).all():
        raise ValueError(f"{t.name}: non-finite values after dequantization")
    if np.abs(x).max() > 65504:
        raise ValueError(f"{t.name}: values exceed the F16 range")
    return x.astype(np.float16)


def main(src: str, dst: str) -> None:
    reader = GGUFReader(src)
    arch = reader.fields[Keys.General.ARCHITECTURE].contents()
    tmp = f"{dst}.tmp-{os.getpid()}"
    writer = GGUFWriter(tmp, arch)
    try:
        for field in reader.fields.values():
            # GGUF.* are the header's virtual fields; the writer adds the architecture itself.
            if field.name.startswith("GGUF.") or field.name == Keys.General.ARCHITECTURE:
                continue
            vtype = field.types[0]
            sub = field.types[-1] if vtype == GGUFValueType.ARRAY else None
            value = field.contents()
            if field.name == Keys.General.FILE_TYPE:
                value = int(LlamaFileType.MOSTLY_F16)
            writer.add_key_value(field.name, value, vtype, sub_type=sub)
        counts: dict[str, int] = {}
        for t in reader.tensors:
            writer.add_tensor(t.name, f16_tensor(t))
            counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, dst)
    except BaseException:
        writer.close()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"{dst}: {len(reader.tensors)} tensors from {kinds}; {os.path.getsize(dst)} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
