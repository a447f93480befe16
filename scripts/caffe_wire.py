"""Protocol-buffer wire encoding for the Python scripts that write
.caffemodel files (fixtures, `make bench`, `make check-zoo`): by hand, so a
full-size net's weights go out as packed float bytes in seconds rather than
through a Python list of a hundred million floats."""
import numpy as np


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    """A length-delimited field (message, string, bytes or packed values)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def number(n, value):
    """A varint field (integers, enums, bools)."""
    return varint(n << 3) + varint(value)


def blob(shape, values):
    """A BlobProto with `shape` (field 7, BlobShape's packed dims) and packed float `data` (field 5)."""
    dims = field(1, b"".join(varint(d) for d in shape))
    return field(7, dims) + field(5, np.ascontiguousarray(values, dtype="<f4").tobytes())


def v2_layer(name, type_, blobs):
    """A LayerParameter (NetParameter field 100) with name, type and blobs (field 7)."""
    payload = field(1, name.encode()) + field(2, type_.encode()) + b"".join(field(7, b) for b in blobs)
    return field(100, payload)
