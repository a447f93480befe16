"""Peer for `make bench`: OpenCV DNN (the Caffe importer of opencv-python-headless<5)
timing a net's forward pass on the same prototxt and the same formula weights
SwiftCaffe uses (built by the reference fixture script's code). Prints
'<median ms> <min ms>'. Usage: opencv_peer.py PB2_DIR PROTOTXT BATCH ITERATIONS THREADS"""
import os
import sys
import time

import numpy as np

pb2, prototxt, batch, iterations, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, pb2)
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "SwiftCaffeTests", "Fixtures", "opencv"))
import caffe_pb2  # noqa: E402
import cv2  # noqa: E402
import make_opencv_fixtures as ref  # noqa: E402
from google.protobuf import text_format  # noqa: E402

net_param = caffe_pb2.NetParameter()
with open(prototxt) as f:
    text_format.Merge(f.read(), net_param)
inputs = [l for l in net_param.layer if l.type == "Input"]
shape = [batch] + list(inputs[0].input_param.shape[0].dim)[1:]
for l in inputs:
    for s in l.input_param.shape:
        s.dim[0] = batch
tmp = os.path.join(pb2, f"peer_{os.getpid()}")
with open(tmp + ".prototxt", "w") as f:
    f.write(text_format.MessageToString(net_param))
with open(tmp + ".caffemodel", "wb") as f:
    f.write(ref.formula_caffemodel(net_param, {inputs[0].top[0]: shape}))
cv2.setNumThreads(threads)
net = cv2.dnn.readNetFromCaffe(tmp + ".prototxt", tmp + ".caffemodel")
os.remove(tmp + ".prototxt")
os.remove(tmp + ".caffemodel")
net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
x = ref.shaped_input(shape, scale=100.0)
net.setInput(x)
net.forward()
times = []
for _ in range(iterations):
    net.setInput(x)
    t0 = time.perf_counter()
    net.forward()
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(f"{times[len(times) // 2]:.3f} {times[0]:.3f}")
