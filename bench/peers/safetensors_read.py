"""Reads one tensor of a .safetensors file without the safetensors package (Debian has none).

Layout: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
then the data; offsets are relative to the end of the header.
"""
import json
import mmap
import struct

EMBEDDING_NAMES = ("model.embed_tokens.weight", "model.language_model.embed_tokens.weight",
                   "transformer.wte.weight", "tok_embeddings.weight")


def tensor_bytes(path, name=None):
    """Returns (memoryview of the tensor's bytes over a read-only mmap, dtype string, shape)."""
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    (n,) = struct.unpack("<Q", mm[:8])
    header = json.loads(mm[8:8 + n])
    if name is None:
        name = next(k for k in EMBEDDING_NAMES if k in header)
    info = header[name]
    begin, end = info["data_offsets"]
    return memoryview(mm)[8 + n + begin:8 + n + end], info["dtype"], info["shape"]
