#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets added for safetensors, the safetensors index /
config.json, llama2.c checkpoints and .npy:

    /usr/bin/python3 fuzz/make_corpus.py        # rewrites fuzz/corpus/{safetensors_header,
                                                 #   safetensors_index,llama2c_checkpoint,npy}/

Each folder gets small valid files (valid_*: written here from the format's own description,
.npy through numpy itself) and hostile ones (bad_*: one defect each: truncations, lying
lengths, overflowing shapes, offsets past the end, ...), so the fuzzer starts from both sides
of every check and CTest's replay (fuzz_replay_<name>) re-runs them on every build.
Deterministic: the same bytes on every run. Crash inputs found by fuzzing are committed beside
these as crash_* files by hand; this script never deletes them.
"""

import json
import os
import struct
import sys
import tempfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
RNG = np.random.default_rng(20261128)


def write(folder, name, data):
    path = os.path.join(ROOT, folder)
    os.makedirs(path, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


def clear(folder):
    """Removes the files this script writes (valid_*, bad_*), keeping crash_* regressions."""
    path = os.path.join(ROOT, folder)
    if not os.path.isdir(path):
        return
    for name in os.listdir(path):
        if name.startswith(("valid_", "bad_")):
            os.remove(os.path.join(path, name))


# ---------------------------------------------------------------------------------------------
# safetensors: u64 LE header length N, N bytes of JSON, then the data section.

ST_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1,
            "U8": 1, "I16": 2, "I32": 4, "I64": 8, "BOOL": 1}


def st_file(tensors, metadata=None, pad=0):
    """tensors: list of (name, dtype, shape); returns a consistent file, data filled with noise."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    data = bytearray()
    for name, dtype, shape in tensors:
        n = int(np.prod(shape, dtype=np.int64)) * ST_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        if dtype in ("F32", "F16", "F64"):
            arr = RNG.standard_normal(int(np.prod(shape, dtype=np.int64))).astype({"F32": "<f4", "F16": "<f2", "F64": "<f8"}[dtype])
            data += arr.tobytes()
        else:
            data += RNG.integers(0, 256, n, dtype=np.uint8).tobytes()
        offset += n
    return st_raw(json.dumps(header) + " " * pad, bytes(data))


def st_raw(header_text, data, n_header=None):
    h = header_text.encode("utf-8")
    return struct.pack("<Q", len(h) if n_header is None else n_header) + h + data


def st_header(entries, data_bytes, n_header=None):
    """A file whose header is `entries` verbatim (consistent or not) with data_bytes of zeros."""
    return st_raw(json.dumps(entries), b"\0" * data_bytes, n_header)


def safetensors_corpus():
    d = "safetensors_header"
    clear(d)
    write(d, "valid_f32_embedding.safetensors",
          st_file([("model.embed_tokens.weight", "F32", (8, 4))], {"format": "pt"}))
    write(d, "valid_bf16_untied.safetensors",
          st_file([("model.embed_tokens.weight", "BF16", (8, 4)), ("lm_head.weight", "BF16", (8, 4)),
                   ("model.norm.weight", "F32", (4,))]))
    write(d, "valid_dtypes.safetensors",
          st_file([("a.f64", "F64", (2, 3)), ("b.f16", "F16", (2, 3)), ("c.e4m3", "F8_E4M3", (2, 3)),
                   ("d.e5m2", "F8_E5M2", (2, 3)), ("e.i8", "I8", (2, 3)), ("f.bool", "BOOL", (3,)),
                   ("g.scalar", "F32", ()), ("h.empty", "F32", (0, 4)), ("i.rank3", "F16", (2, 2, 2))]))
    write(d, "valid_one_matrix_padded_header.safetensors",
          st_file([("transformer.wte.weight", "F16", (6, 2))], pad=13))
    write(d, "valid_no_tensors.safetensors", st_raw("{}", b""))

    good = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
    full = st_header(good, 16)
    write(d, "bad_truncated_data.safetensors", full[:-5])
    write(d, "bad_truncated_header.safetensors", full[:20])
    write(d, "bad_truncated_length.safetensors", full[:5])
    write(d, "bad_empty.safetensors", b"")
    write(d, "bad_trailing_bytes.safetensors", full + b"\0\0\0")
    write(d, "bad_header_length_huge.safetensors", st_header(good, 16, n_header=(1 << 63) + 5))
    write(d, "bad_header_length_over_cap.safetensors", st_header(good, 16, n_header=100_000_001))
    write(d, "bad_header_length_past_eof.safetensors", st_header(good, 16, n_header=4096))
    write(d, "bad_header_not_object.safetensors", st_raw("[1, 2]", b""))
    write(d, "bad_header_not_json.safetensors", st_raw('{"w": {"dtype": "F32",', b""))
    write(d, "bad_header_nul.safetensors", st_raw('{"w\u0000x": 1}', b""))
    write(d, "bad_unknown_dtype.safetensors",
          st_header({"w": {"dtype": "F12", "shape": [2], "data_offsets": [0, 3]}}, 3))
    write(d, "bad_undecodable_dtype.safetensors",
          st_header({"model.embed_tokens.weight": {"dtype": "F4", "shape": [4, 2], "data_offsets": [0, 4]}}, 4))
    write(d, "bad_size_mismatch.safetensors",
          st_header({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}, 12))
    write(d, "bad_overflowing_shape.safetensors",
          st_header({"w": {"dtype": "F32", "shape": [1 << 40, 1 << 40, 1 << 40], "data_offsets": [0, 0]}}, 0))
    write(d, "bad_shape_wraps_to_size.safetensors",  # 2^62 x 4 bytes wraps to 0 in u64
          st_header({"w": {"dtype": "F32", "shape": [1 << 62], "data_offsets": [0, 0]}}, 0))
    write(d, "bad_negative_shape.safetensors",
          st_header({"w": {"dtype": "F32", "shape": [-2, 2], "data_offsets": [0, 16]}}, 16))
    write(d, "bad_float_shape.safetensors",
          st_header({"w": {"dtype": "F32", "shape": [2.0, 2], "data_offsets": [0, 16]}}, 16))
    write(d, "bad_offsets_backwards.safetensors",
          st_header({"w": {"dtype": "F32", "shape": [0], "data_offsets": [16, 0]}}, 16))
    write(d, "bad_offsets_past_eof.safetensors",
          st_header({"w": {"dtype": "F32", "shape": [1 << 20], "data_offsets": [0, 1 << 22]}}, 16))
    write(d, "bad_offsets_huge.safetensors",
          st_header({"w": {"dtype": "U8", "shape": [16], "data_offsets": [(1 << 64) - 8, 8]}}, 16))
    write(d, "bad_offsets_gap.safetensors",
          st_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                     "b": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}}, 20))
    write(d, "bad_offsets_overlap.safetensors",
          st_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                     "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, 12))
    write(d, "bad_offsets_three.safetensors",
          st_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8]}}, 8))
    write(d, "bad_missing_dtype.safetensors", st_header({"a": {"shape": [2], "data_offsets": [0, 8]}}, 8))
    write(d, "bad_entry_not_object.safetensors", st_header({"a": [0, 8]}, 8))
    write(d, "bad_metadata_not_string.safetensors",
          st_header({"__metadata__": {"format": 1}, **good}, 16))
    write(d, "bad_duplicate_name.safetensors",
          st_raw('{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                 '"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', b"\0" * 8))
    write(d, "bad_deep_nesting.safetensors", st_raw("{\"a\": " + "[" * 3000 + "]" * 3000 + "}", b""))


# ---------------------------------------------------------------------------------------------
# model.safetensors.index.json and config.json (one target parses both from the same bytes).

def index_corpus():
    d = "safetensors_index"
    clear(d)
    shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    write(d, "valid_index.json", json.dumps({
        "metadata": {"total_size": 1234567},
        "weight_map": {"model.embed_tokens.weight": shards[0], "model.norm.weight": shards[1],
                       "lm_head.weight": shards[1]}}, indent=2))
    write(d, "valid_index_subfolder.json", json.dumps({"weight_map": {"w": "sub/dir/w.safetensors",
                                                                      "x": "a..b/c.safetensors"}}))
    write(d, "valid_index_empty_map.json", json.dumps({"weight_map": {}}))
    write(d, "valid_config_qwen3.json", json.dumps({
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 151936,
        "hidden_size": 1024, "tie_word_embeddings": True, "torch_dtype": "bfloat16"}, indent=2))
    write(d, "valid_config_gemma3_text_config.json", json.dumps({
        "architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
        "text_config": {"vocab_size": 262208, "hidden_size": 2560, "model_type": "gemma3_text"},
        "vision_config": {"hidden_size": 1152}}))
    write(d, "valid_config_gpt2_names.json", json.dumps({"model_type": "gpt2", "n_vocab": 50257, "n_embd": 768,
                                                          "tie_word_embeddings": None}))

    write(d, "bad_shard_parent.json", json.dumps({"weight_map": {"w": "../outside.safetensors"}}))
    write(d, "bad_shard_parent_middle.json", json.dumps({"weight_map": {"w": "a/../../b.safetensors"}}))
    write(d, "bad_shard_parent_end.json", json.dumps({"weight_map": {"w": "a/.."}}))
    write(d, "bad_shard_absolute.json", json.dumps({"weight_map": {"w": "/etc/passwd"}}))
    write(d, "bad_shard_nul.json", json.dumps({"weight_map": {"w": "a\u0000.safetensors"}}))
    write(d, "bad_shard_empty.json", json.dumps({"weight_map": {"w": ""}}))
    write(d, "bad_shard_not_string.json", json.dumps({"weight_map": {"w": 3}}))
    write(d, "bad_weight_map_array.json", json.dumps({"weight_map": ["w", "x"]}))
    write(d, "bad_no_weight_map.json", json.dumps({"metadata": {}}))
    write(d, "bad_not_object.json", "[]")
    write(d, "bad_truncated.json", json.dumps({"weight_map": {"w": "x.safetensors"}})[:-3])
    write(d, "bad_invalid_utf8.json", b'{"weight_map": {"\xff\xfe": "x.safetensors"}}')
    write(d, "bad_deep_nesting.json", "{\"weight_map\": " + "[" * 5000 + "]" * 5000 + "}")
    write(d, "bad_config_negative_vocab.json", json.dumps({"vocab_size": -5, "hidden_size": 8}))
    write(d, "bad_config_huge_vocab.json", '{"vocab_size": 18446744073709551616, "hidden_size": 8}')
    write(d, "bad_config_vocab_u64.json", '{"vocab_size": 18446744073709551615}')
    write(d, "bad_config_float_hidden.json", json.dumps({"vocab_size": 5, "hidden_size": 8.5}))
    write(d, "bad_config_tie_string.json", json.dumps({"tie_word_embeddings": "yes"}))
    write(d, "bad_config_text_config_not_object.json", json.dumps({"text_config": 3, "vocab_size": 5}))


# ---------------------------------------------------------------------------------------------
# llama2.c checkpoints (run.c legacy layout; export.py versions 1 and 2).

def l2c_counts(dim, hidden, layers, heads, kv_heads, vocab, seq):
    head = dim // heads
    kv_dim = head * kv_heads
    return dict(emb=vocab * dim, norm=layers * dim, wq=layers * dim * dim, wk=layers * dim * kv_dim,
                wv=layers * dim * kv_dim, wo=layers * dim * dim, w1=layers * hidden * dim,
                w2=layers * dim * hidden, w3=layers * hidden * dim, final=dim, freq=seq * head // 2)


def f32(n):
    return RNG.standard_normal(n).astype("<f4").tobytes()


def l2c_legacy(dim, hidden, layers, heads, kv_heads, vocab, seq, shared=True):
    c = l2c_counts(dim, hidden, layers, heads, kv_heads, vocab, seq)
    out = struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab if shared else -vocab, seq)
    for key in ("emb", "norm", "wq", "wk", "wv", "wo", "norm", "w1", "w2", "w3", "final", "freq", "freq"):
        out += f32(c[key])
    if not shared:
        out += f32(c["emb"])
    return out


def l2c_header(version, dims, shared, group_size=None):
    h = struct.pack("<Ii7iB", 0x616B3432, version, *dims, 1 if shared else 0)
    if group_size is not None:
        h += struct.pack("<i", group_size)
    return h + b"\0" * (256 - len(h))


def l2c_q8(n, group):
    """export.py quantize_q80 output for n random values: int8 values, then one f32 scale per group."""
    w = RNG.standard_normal(n).astype(np.float32).reshape(-1, group)
    scale = np.abs(w).max(axis=1) / 127.0
    q = np.round(w / scale[:, None]).astype(np.int8)
    return q.tobytes() + scale.astype("<f4").tobytes()


def l2c_versioned(version, dim, hidden, layers, heads, kv_heads, vocab, seq, shared=True, group=None):
    c = l2c_counts(dim, hidden, layers, heads, kv_heads, vocab, seq)
    dims = (dim, hidden, layers, heads, kv_heads, vocab, seq)
    out = l2c_header(version, dims, shared, group if version == 2 else None)
    out += f32(2 * c["norm"] + c["final"])  # rms_att, rms_ffn, rms_final
    mats = ["emb", "wq", "wk", "wv", "wo", "w1", "w2", "w3"] + ([] if shared else ["emb"])
    for key in mats:
        out += f32(c[key]) if version == 1 else l2c_q8(c[key], group)
    return out


def llama2c_corpus():
    d = "llama2c_checkpoint"
    clear(d)
    tiny = (4, 8, 1, 2, 2, 8, 4)  # dim, hidden, layers, heads, kv_heads, vocab, seq
    gqa = (8, 12, 2, 4, 2, 6, 2)
    write(d, "valid_legacy_shared.bin", l2c_legacy(*tiny))
    write(d, "valid_legacy_unshared.bin", l2c_legacy(*gqa, shared=False))
    write(d, "valid_v1_shared.bin", l2c_versioned(1, *tiny))
    write(d, "valid_v1_unshared_gqa.bin", l2c_versioned(1, *gqa, shared=False))
    write(d, "valid_v2_group2.bin", l2c_versioned(2, *tiny, group=2))
    write(d, "valid_v2_unshared_group4.bin", l2c_versioned(2, *gqa, shared=False, group=4))

    legacy = l2c_legacy(*tiny)
    v1 = l2c_versioned(1, *tiny)
    v2 = l2c_versioned(2, *tiny, group=2)
    write(d, "bad_empty.bin", b"")
    write(d, "bad_legacy_header_short.bin", legacy[:27])
    write(d, "bad_legacy_truncated.bin", legacy[:-1])
    write(d, "bad_legacy_trailing.bin", legacy + b"\0")
    write(d, "bad_v1_header_short.bin", v1[:40])
    write(d, "bad_v1_truncated.bin", v1[:-4])
    write(d, "bad_v2_truncated_scales.bin", v2[:-2])
    write(d, "bad_v2_magic_only.bin", v2[:4])
    write(d, "bad_version3.bin", l2c_header(3, tiny, True) + v1[256:])
    write(d, "bad_version_negative.bin", l2c_header(-1, tiny, True))
    write(d, "bad_shared_flag_2.bin", v1[:36] + b"\x02" + v1[37:])
    write(d, "bad_v2_group_zero.bin", l2c_header(2, tiny, True, 0) + v2[256:])
    write(d, "bad_v2_group_negative.bin", l2c_header(2, tiny, True, -4) + v2[256:])
    write(d, "bad_v2_group_not_dividing_dim.bin", l2c_header(2, tiny, True, 3) + v2[256:])
    write(d, "bad_zero_dim.bin", struct.pack("<7i", 0, 8, 1, 2, 2, 8, 4) + legacy[28:])
    write(d, "bad_heads_not_dividing_dim.bin", struct.pack("<7i", 4, 8, 1, 3, 3, 8, 4) + legacy[28:])
    write(d, "bad_kv_heads_over_heads.bin", struct.pack("<7i", 4, 8, 1, 2, 4, 8, 4) + legacy[28:])
    write(d, "bad_legacy_vocab_int_min.bin", struct.pack("<7i", 4, 8, 1, 2, 2, -(1 << 31), 4) + legacy[28:])
    write(d, "bad_huge_dims.bin", struct.pack("<7i", (1 << 31) - 1, (1 << 31) - 1, (1 << 31) - 1, 1, 1,
                                              (1 << 31) - 1, (1 << 31) - 1) + legacy[28:])
    write(d, "bad_at_caps.bin", struct.pack("<7i", 1 << 20, 1 << 20, 1 << 12, 1 << 20, 1 << 20, 1 << 26, 1 << 20)
          + legacy[28:])
    write(d, "bad_v2_at_caps.bin", l2c_header(2, (1 << 20, 1 << 20, 1 << 12, 1, 1, 1 << 26, 1 << 20), False, 1))


# ---------------------------------------------------------------------------------------------
# .npy (numpy's own writer for valid files; hand-made headers for the hostile ones).

def npy_bytes(arr, version=None):
    with tempfile.TemporaryFile() as f:
        if version is None:
            np.save(f, arr)
        else:
            np.lib.format.write_array(f, arr, version=version)
        f.seek(0)
        return f.read()


def npy_raw(dict_text, data=b"", major=1, header_len=None, magic=b"\x93NUMPY"):
    text = dict_text.encode("utf-8") + b"\n"
    n = len(text) if header_len is None else header_len
    prefix = magic + bytes([major, 0]) + (struct.pack("<H", n) if major == 1 else struct.pack("<I", n))
    return prefix + text + data


def npy_corpus():
    d = "npy"
    clear(d)
    x = RNG.standard_normal((5, 3))
    write(d, "valid_f32.npy", npy_bytes(x.astype("<f4")))
    write(d, "valid_f16.npy", npy_bytes(x.astype("<f2")))
    write(d, "valid_f64.npy", npy_bytes(x.astype("<f8")))
    write(d, "valid_v2.npy", npy_bytes(x.astype("<f4"), version=(2, 0)))
    write(d, "valid_v3.npy", npy_bytes(x.astype("<f4"), version=(3, 0)))
    write(d, "valid_empty_rows.npy", npy_bytes(np.zeros((0, 3), dtype="<f4")))
    write(d, "valid_one_row.npy", npy_bytes(x[:1].astype("<f4")))
    write(d, "valid_long_literal.npy",
          npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 2L), }", b"\0" * 16))
    write(d, "valid_pipe_order.npy",
          npy_raw('{"descr": "|f4", "fortran_order": False, "shape": (1, 2)}', b"\0" * 8))

    good = npy_bytes(x.astype("<f4"))
    write(d, "bad_empty.npy", b"")
    write(d, "bad_magic.npy", b"\x93NUMPX" + good[6:])
    write(d, "bad_truncated_magic.npy", good[:4])
    write(d, "bad_truncated_header.npy", good[:40])
    write(d, "bad_truncated_data.npy", good[:-1])
    write(d, "bad_trailing_bytes.npy", good + b"\0")
    write(d, "bad_version4.npy", good[:6] + b"\x04" + good[7:])
    write(d, "bad_header_len_past_eof.npy", good[:8] + struct.pack("<H", 0xFFFF) + good[10:])
    write(d, "bad_v2_header_len_huge.npy", npy_raw("{}", major=2, header_len=0xFFFFFFFF))
    write(d, "bad_overflowing_shape.npy",
          npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"))
    write(d, "bad_shape_too_large.npy",
          npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 1), }"))
    write(d, "bad_shape_wraps.npy",  # 2^31 x 2^31 x 4 bytes = 2^64: wraps to 0
          npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648, 2147483648), }"))
    write(d, "bad_1d.npy", npy_bytes(np.zeros(4, dtype="<f4")))
    write(d, "bad_3d.npy", npy_bytes(np.zeros((2, 2, 2), dtype="<f4")))
    write(d, "bad_0d.npy", npy_bytes(np.float32(1.0)))
    write(d, "bad_33_dims.npy",
          npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (" + "1, " * 33 + "), }", b"\0" * 4))
    write(d, "bad_fortran.npy", npy_bytes(np.asfortranarray(x.astype("<f4"))))
    write(d, "bad_big_endian.npy", npy_bytes(x.astype(">f4")))
    write(d, "bad_int32.npy", npy_bytes(np.arange(6, dtype="<i4").reshape(2, 3)))
    write(d, "bad_structured.npy", npy_bytes(np.zeros((2, 2), dtype=[("a", "<f4"), ("b", "<f4")])))
    write(d, "bad_descr_short.npy", npy_raw("{'descr': 'f', 'fortran_order': False, 'shape': (1, 1), }", b"\0"))
    write(d, "bad_missing_shape.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, }"))
    write(d, "bad_unexpected_key.npy",
          npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'x': 1}", b"\0" * 4))
    write(d, "bad_unterminated_string.npy", npy_raw("{'descr: <f4"))
    write(d, "bad_negative_shape.npy",
          npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 4), }"))
    write(d, "bad_fortran_word.npy", npy_raw("{'descr': '<f4', 'fortran_order': Fals, 'shape': (1, 1), }", b"\0" * 4))
    write(d, "bad_text_after_dict.npy",
          npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), } x", b"\0" * 4))


def main():
    if len(sys.argv) > 1:
        sys.exit(__doc__)
    safetensors_corpus()
    index_corpus()
    llama2c_corpus()
    npy_corpus()
    for d in ("safetensors_header", "safetensors_index", "llama2c_checkpoint", "npy"):
        names = os.listdir(os.path.join(ROOT, d))
        print(f"fuzz/corpus/{d}: {sum(n.startswith('valid_') for n in names)} valid, "
              f"{sum(n.startswith('bad_') for n in names)} hostile, {sum(n.startswith('crash_') for n in names)} crash")


if __name__ == "__main__":
    main()
