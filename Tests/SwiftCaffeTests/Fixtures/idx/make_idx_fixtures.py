"""Writes the tiny IDX fixtures used by the data tests (python3, no packages):
tiny-images-idx3-ubyte.gz / tiny-labels-idx1-ubyte.gz: 40 images of 6x6,
pixel (i, y, x) = (7*i + 3*y + x) % 256, label i % 4; and a truncated
copy of the images (bad-images-idx3-ubyte) whose header promises more."""
import gzip, struct

n, h, w = 40, 6, 6
pixels = bytes((7 * i + 3 * y + x) % 256 for i in range(n) for y in range(h) for x in range(w))
labels = bytes(i % 4 for i in range(n))
with gzip.GzipFile("tiny-images-idx3-ubyte.gz", "wb", mtime=0) as f:
    f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, n, h, w) + pixels)
with gzip.GzipFile("tiny-labels-idx1-ubyte.gz", "wb", mtime=0) as f:
    f.write(struct.pack(">BBBBI", 0, 0, 8, 1, n) + labels)
with open("bad-images-idx3-ubyte", "wb") as f:
    f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, n, h, w) + pixels[: n * h * w // 2])
with open("bad-labels-idx1-ubyte", "wb") as f:
    f.write(struct.pack(">BBBBI", 0, 0, 8, 1, n) + labels)
