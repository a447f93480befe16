"""Expected grey inputs for the demo's garment images (ClassificationTests):
OpenCV's decode of Models/fashion-mnist/images/{ankle_boot.png,pullover.jpg}
(IMREAD_COLOR, BGR), bilinear resize to 28x28 in floating point
(cv2.INTER_LINEAR: pixel centres at +0.5), then grey = 0.114 B + 0.587 G +
0.299 R, as <image>.grey28.npy (28x28 float32, values 0-255).
Run: .build/reference/venv/bin/python make_grey_fixtures.py"""
import os

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "..", "..", "..", "..", "Models", "fashion-mnist", "images")

for name in ["ankle_boot.png", "pullover.jpg"]:
    bgr = cv2.imread(os.path.join(IMAGES, name), cv2.IMREAD_COLOR).astype(np.float32)
    small = cv2.resize(bgr, (28, 28), interpolation=cv2.INTER_LINEAR)
    grey = 0.114 * small[:, :, 0] + 0.587 * small[:, :, 1] + 0.299 * small[:, :, 2]
    np.save(os.path.join(HERE, name + ".grey28.npy"), grey.astype(np.float32))
