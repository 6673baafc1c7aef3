"""A small, careful writer (and reader) for the safetensors format.

File layout: 8-byte little-endian unsigned header length N; N bytes of
UTF-8 JSON header {"__metadata__": {...}, name: {"dtype", "shape",
"data_offsets": [begin, end]}, ...} padded with spaces so that 8 + N is a
multiple of 8; then the raw little-endian tensor bytes, contiguous, in
header order (offsets are relative to the start of the data section).
"""
import json
import struct

import numpy as np

DTYPES = {np.dtype("<f4"): "F32"}


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> numpy array (float32); insertion order is kept."""
    header = {"__metadata__": dict(metadata or {"format": "pt"})}
    blobs, offset = [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr, dtype="<f4")
        data = arr.tobytes(order="C")
        header[name] = {"dtype": DTYPES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for data in blobs:
            f.write(data)
    return 8 + len(head) + offset


def read_safetensors(path):
    """Return (metadata, dict name -> float32 numpy array), validating the layout."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0, "header not padded to a multiple of 8"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors, expected = {}, 0
    for name, info in header.items():
        begin, end = info["data_offsets"]
        assert info["dtype"] == "F32", name
        assert begin == expected, f"{name}: data not contiguous / not in header order"
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        assert end - begin == 4 * count, f"{name}: size does not match shape"
        tensors[name] = np.frombuffer(data, dtype="<f4", count=count, offset=begin).reshape(info["shape"])
        expected = end
    assert expected == len(data), "trailing bytes after the last tensor"
    return meta, tensors
