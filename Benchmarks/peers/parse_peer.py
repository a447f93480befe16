"""Peer for `make bench`: parses a net prototxt with Python protobuf's
text_format (what pycaffe's tools use) N times; prints median and minimum ms."""
import os
import sys
import time

sys.path.insert(0, sys.argv[3] if len(sys.argv) > 3 else os.getcwd())  # caffe_pb2's folder

from google.protobuf import text_format

import caffe_pb2

text = open(sys.argv[1]).read()
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    text_format.Parse(text, caffe_pb2.NetParameter())
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(f"{times[len(times) // 2]:.4f} {times[0]:.4f}")
