"""Half-precision weights as OpenCV writes them (WeightsTests):
tiny_fp16.caffemodel is ../images/tiny.caffemodel through
cv2.dnn.shrinkCaffeModel (blobs in raw_data, raw_data_type FLOAT16);
tiny_fp16.input.npy a 2x3x16x16 input and tiny_fp16.prob.npy OpenCV DNN's
output of ../images/tiny_classifier.prototxt with those weights on it;
tiny_fp16_odd.caffemodel the same file with one byte cut from conv1's
first blob (an odd count of FLOAT16 bytes).
Run: python3 make_fp16_fixtures.py PB2_DIR (PB2_DIR from make reference-env)."""
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, sys.argv[1])
import caffe_pb2  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "..", "images")
half = os.path.join(HERE, "tiny_fp16.caffemodel")
cv2.dnn.shrinkCaffeModel(os.path.join(IMAGES, "tiny.caffemodel"), half)

x = (np.arange(2 * 3 * 16 * 16, dtype=np.float32) % 23 - 11).reshape(2, 3, 16, 16) * 9
np.save(os.path.join(HERE, "tiny_fp16.input.npy"), x)
net = cv2.dnn.readNetFromCaffe(os.path.join(IMAGES, "tiny_classifier.prototxt"), half)
net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
net.setInput(x, "data")
np.save(os.path.join(HERE, "tiny_fp16.prob.npy"), net.forward("prob").astype(np.float32))

model = caffe_pb2.NetParameter()
with open(half, "rb") as f:
    model.ParseFromString(f.read())
blob = model.layer[[l.name for l in model.layer].index("conv1")].blobs[0]
assert blob.raw_data_type == caffe_pb2.BlobProto.FLOAT16
blob.raw_data = blob.raw_data[:-1]
with open(os.path.join(HERE, "tiny_fp16_odd.caffemodel"), "wb") as f:
    f.write(model.SerializeToString())
