"""Writes the demo's garment images from Fashion-MNIST's test set (Debian's
dataset-fashion-mnist), in the two formats `swiftcaffe classify` reads:

- ankle_boot.png: test record 0 (class 9, ankle boot) as stored, 28x28 grey;
- pullover.jpg: test record 1 (class 2, pullover) as a colour photo would
  arrive, 112x112 RGB JPEG (bicubic 4x upscale, a warm tint).

Run with the reference venv: .build/reference/venv/bin/python Models/fashion-mnist/images/make_images.py
"""
import gzip
import os

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
IDX = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

with gzip.open(IDX) as f:
    raw = f.read()
count, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
images = np.frombuffer(raw, np.uint8, offset=16).reshape(count, rows, cols)

cv2.imwrite(os.path.join(HERE, "ankle_boot.png"), images[0])
big = cv2.resize(images[1], (112, 112), interpolation=cv2.INTER_CUBIC).astype(np.float32)
# BGR for OpenCV: more red than blue, so the grey reading has work to do.
tinted = np.stack([big * 0.8, big * 0.95, np.minimum(big * 1.1, 255)], axis=-1)
cv2.imwrite(os.path.join(HERE, "pullover.jpg"), tinted.round().astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 92])
