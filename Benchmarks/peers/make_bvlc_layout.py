"""Writes a full-size AlexNet .caffemodel in the layout of BVLC's published
bvlc_alexnet.caffemodel (V1 `layers` with enum types, legacy
num/channels/height/width blobs, every layer of train_val including data and
loss), 60,965,224 formula weights, about 233 MiB. For `make bench` only; not
committed. Usage: make_bvlc_layout.py OUT.caffemodel"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from caffe_wire import field, number  # noqa: E402


# V1 LayerType numbers.
CONV, RELU, LRN, POOL, IP, DROPOUT, DATA, LOSS = 4, 18, 15, 17, 14, 6, 5, 21
LAYERS = [("data", DATA, []), ("conv1", CONV, [[96, 3, 11, 11], [96]]), ("relu1", RELU, []), ("norm1", LRN, []),
          ("pool1", POOL, []), ("conv2", CONV, [[256, 48, 5, 5], [256]]), ("relu2", RELU, []), ("norm2", LRN, []),
          ("pool2", POOL, []), ("conv3", CONV, [[384, 256, 3, 3], [384]]), ("relu3", RELU, []),
          ("conv4", CONV, [[384, 192, 3, 3], [384]]), ("relu4", RELU, []), ("conv5", CONV, [[256, 192, 3, 3], [256]]),
          ("relu5", RELU, []), ("pool5", POOL, []), ("fc6", IP, [[4096, 9216], [4096]]), ("relu6", RELU, []),
          ("drop6", DROPOUT, []), ("fc7", IP, [[4096, 4096], [4096]]), ("relu7", RELU, []), ("drop7", DROPOUT, []),
          ("fc8", IP, [[1000, 4096], [1000]]), ("loss", LOSS, [])]

with open(sys.argv[1], "wb") as f:
    f.write(field(1, b"AlexNet"))
    for i, (name, kind, shapes) in enumerate(LAYERS):
        layer = field(4, name.encode()) + number(5, kind)
        for j, s in enumerate(shapes):
            n = int(np.prod(s))
            scale = np.sqrt(3.0 / (n / s[0])) if j == 0 else 0.1
            values = (np.sin(np.arange(n, dtype=np.float64) * 0.37 + i + 0.5 * j) * scale).astype("<f4")
            legacy = [1] * (4 - len(s)) + s
            blob = b"".join(number(k + 1, d) for k, d in enumerate(legacy)) + field(5, values.tobytes())
            layer += field(6, blob)
        f.write(field(2, layer))
