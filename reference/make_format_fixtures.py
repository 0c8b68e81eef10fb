"""Writes the checkpoint-format fixtures that server/models/formats/*.test.ts read.

Run once, commit the output (data/fixtures/formats/); the TypeScript tests never need Python.
The files are written by the reference implementations themselves (the `safetensors` package's
Rust serializer, the `gguf` package's GGUFWriter), so our readers are checked against them rather
than against our own writer.

    python -m venv /tmp/fmt && /tmp/fmt/bin/pip install numpy gguf safetensors
    /tmp/fmt/bin/python reference/make_format_fixtures.py

Versions used for the committed files: numpy 2.4.6, gguf 0.19.0, safetensors 0.8.0.

Tensor values in the safetensors fixtures follow closed formulas (see `ramp`) that the tests
recompute, so those tests need no expected-value file. The GGUF quantised tensors hold random
blocks; their expected values come from `gguf.quants.dequantize` (the numpy port of ggml's
dequantize_row_*) and are saved as F32 in quants.expected.safetensors.
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V
from safetensors import TensorSpec, serialize_file

OUT = Path(__file__).resolve().parent.parent / "data" / "fixtures" / "formats"
RNG = np.random.default_rng(20240611)


def ramp(shape: tuple[int, ...], start: float, step: float, dtype) -> np.ndarray:
    """value[i] = start + i * step over the flat index; the tests use the same formula."""
    n = int(np.prod(shape)) if shape else 1
    return (start + np.arange(n, dtype=np.float64) * step).astype(dtype).reshape(shape)


def bf16_bits(values: np.ndarray) -> np.ndarray:
    """Top 16 bits of float32 (the ramp values are exact in bf16, so truncation is exact)."""
    bits = values.astype(np.float32).view(np.uint32)
    assert np.all((bits & 0xFFFF) == 0), "bf16 fixture values must be exactly representable"
    return (bits >> 16).astype(np.uint16)


def save_safetensors(path: Path, tensors: dict[str, tuple[str, np.ndarray]], metadata: dict[str, str] | None) -> None:
    """Uses the package's low-level serializer: numpy has no bfloat16, but TensorSpec takes a dtype name."""
    # np.require keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d).
    arrays = {name: np.require(arr, requirements="C") for name, (_, arr) in tensors.items()}
    specs = {
        name: TensorSpec(dtype=dtype, shape=arrays[name].shape, data_ptr=arrays[name].ctypes.data, data_len=arrays[name].nbytes)
        for name, (dtype, _) in tensors.items()
    }
    serialize_file(specs, str(path), metadata=metadata)


def make_small_safetensors() -> None:
    save_safetensors(
        OUT / "small.safetensors",
        {
            "f32.weight": ("float32", ramp((3, 5), -0.875, 0.125, np.float32)),
            "f16.weight": ("float16", ramp((4, 6), -6.0, 0.5, np.float16)),
            "bf16.weight": ("bfloat16", bf16_bits(ramp((2, 3, 4), -3.0, 0.25, np.float32))),
            "i32.index": ("int32", ramp((7,), -5, 3, np.int32)),
            "scalar": ("float32", np.array(3.5, dtype=np.float32)),
            "empty": ("float32", np.zeros((0, 4), dtype=np.float32)),
        },
        {"format": "pt", "note": "locus format fixture"},
    )


def make_sharded() -> None:
    """A Hugging Face sharded folder: two shards plus model.safetensors.index.json."""
    folder = OUT / "sharded"
    folder.mkdir(exist_ok=True)
    shards = {
        "model-00001-of-00002.safetensors": {
            "embed.weight": ("float32", ramp((6, 4), 0.0, 0.5, np.float32)),
            "layers.0.weight": ("float16", ramp((4, 4), -1.0, 0.125, np.float16)),
        },
        "model-00002-of-00002.safetensors": {
            "layers.1.weight": ("bfloat16", bf16_bits(ramp((4, 4), 1.0, -0.125, np.float32))),
            "head.weight": ("float32", ramp((3, 4), 2.0, 0.25, np.float32)),
        },
    }
    weight_map: dict[str, str] = {}
    total = 0
    for file, tensors in shards.items():
        save_safetensors(folder / file, tensors, {"format": "pt"})
        for name, (_, arr) in tensors.items():
            weight_map[name] = file
            total += arr.nbytes
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")


def random_f16(count: int, scale: float) -> np.ndarray:
    """Finite f16 scales as raw bytes (random bits could be NaN/Inf, which real files never hold)."""
    return (RNG.standard_normal(count) * scale).astype(np.float16).view(np.uint8).reshape(count, 2)


def random_kquant_blocks(qtype: Q, n_blocks: int) -> np.ndarray:
    """Random-bit K-quant superblocks with finite f16 super-scales at the offsets ggml puts them.

    gguf.quants cannot quantize K-types, and random quant/scale bits exercise every nibble and
    every 6-bit scale, which quantizing smooth data would not.
    """
    _, type_size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = RNG.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    if qtype in (Q.Q4_K, Q.Q5_K):  # d, dmin at bytes 0..4
        blocks[:, 0:2] = random_f16(n_blocks, 0.01)
        blocks[:, 2:4] = random_f16(n_blocks, 0.01)
    elif qtype == Q.Q6_K:  # d is the last 2 bytes
        blocks[:, -2:] = random_f16(n_blocks, 0.01)
    elif qtype == Q.Q2_K:  # d, dmin are the last 4 bytes
        blocks[:, -4:-2] = random_f16(n_blocks, 0.01)
        blocks[:, -2:] = random_f16(n_blocks, 0.01)
    elif qtype == Q.Q3_K:  # d is the last 2 bytes
        blocks[:, -2:] = random_f16(n_blocks, 0.01)
    else:
        raise ValueError(qtype)
    return blocks


# name, ggml type, PyTorch-order shape. Each quantised tensor spans several blocks and rows.
GGUF_TENSORS: list[tuple[str, Q, tuple[int, ...]]] = [
    ("t.f32", Q.F32, (2, 3, 4)),
    ("t.f16", Q.F16, (3, 8)),
    ("t.bf16", Q.BF16, (2, 16)),
    ("t.q8_0", Q.Q8_0, (3, 64)),
    ("t.q4_0", Q.Q4_0, (3, 64)),
    ("t.q4_1", Q.Q4_1, (3, 64)),
    ("t.q5_0", Q.Q5_0, (2, 64)),
    ("t.q5_1", Q.Q5_1, (2, 64)),
    ("t.q2_k", Q.Q2_K, (2, 256)),
    ("t.q3_k", Q.Q3_K, (2, 256)),
    ("t.q4_k", Q.Q4_K, (2, 512)),
    ("t.q5_k", Q.Q5_K, (2, 256)),
    ("t.q6_k", Q.Q6_K, (2, 512)),
]


def make_gguf() -> None:
    writer = gguf.GGUFWriter(str(OUT / "quants.gguf"), "llama")
    # One key per GGUF value type, plus the keys a llama loader reads.
    writer.add_name("locus-format-fixture")
    writer.add_uint32("llama.embedding_length", 64)
    writer.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    writer.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "hello", "▁world", "日本"])
    writer.add_key_value("tokenizer.ggml.scores", [0.0, -1.5, 2.25], V.ARRAY, V.FLOAT32)
    writer.add_key_value("tokenizer.ggml.token_type", [1, 3, -2], V.ARRAY, V.INT32)
    writer.add_key_value("fixture.bools", [True, False, True], V.ARRAY, V.BOOL)
    writer.add_uint8("fixture.u8", 200)
    writer.add_int8("fixture.i8", -100)
    writer.add_uint16("fixture.u16", 60000)
    writer.add_int16("fixture.i16", -30000)
    writer.add_int32("fixture.i32", -2_000_000_000)
    writer.add_uint64("fixture.u64", 2**40 + 3)
    writer.add_int64("fixture.i64", -(2**40) - 3)
    writer.add_uint64("fixture.u64_big", 2**63 + 1)
    writer.add_float64("fixture.f64", 0.1)
    writer.add_bool("fixture.true", True)
    writer.add_bool("fixture.false", False)

    for name, qtype, shape in GGUF_TENSORS:
        if qtype == Q.F32:
            writer.add_tensor(name, RNG.standard_normal(shape).astype(np.float32))
        elif qtype == Q.F16:
            writer.add_tensor(name, RNG.standard_normal(shape).astype(np.float16))
        elif qtype in (Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K):
            block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
            n_blocks = int(np.prod(shape)) // block_size
            raw = random_kquant_blocks(qtype, n_blocks).reshape(*shape[:-1], shape[-1] // block_size * type_size)
            writer.add_tensor(name, raw, raw_dtype=qtype)
        else:
            raw = gguf.quants.quantize(RNG.standard_normal(shape).astype(np.float32), qtype)
            writer.add_tensor(name, raw, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    # Expected values: read the file back with the package's own reader and dequantize, so the
    # expectations describe the bytes on disk.
    reader = gguf.GGUFReader(str(OUT / "quants.gguf"))
    expected: dict[str, tuple[str, np.ndarray]] = {}
    for tensor in reader.tensors:
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        expected[tensor.name] = ("float32", values)
    save_safetensors(OUT / "quants.expected.safetensors", expected, None)


def make_aligned_gguf() -> None:
    """general.alignment = 64 moves the data section and every tensor offset."""
    writer = gguf.GGUFWriter(str(OUT / "aligned64.gguf"), "gpt2")
    writer.add_custom_alignment(64)
    writer.add_tensor("a", ramp((3,), 1.0, 1.0, np.float32))
    writer.add_tensor("b", ramp((2, 5), -1.0, 0.5, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    make_small_safetensors()
    make_sharded()
    make_gguf()
    make_aligned_gguf()
    total = 0
    for path in sorted(OUT.rglob("*")):
        if path.is_file():
            total += path.stat().st_size
            print(f"{path.relative_to(OUT)}: {path.stat().st_size} bytes")
    print(f"total: {total} bytes")


if __name__ == "__main__":
    main()
