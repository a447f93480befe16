"""Peer for `make bench`: onnxruntime (CPU) timing a forward pass of an ONNX
model that `swiftcaffe` exported from the bench's net (same formula weights).
Prints '# <options>' and then '<median ms> <min ms>'.
Usage: onnxruntime_peer.py MODEL.onnx BATCH ITERATIONS THREADS"""
import sys
import time

import numpy as np
import onnxruntime as ort

model, batch, iterations, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
options = ort.SessionOptions()
options.intra_op_num_threads = threads
options.inter_op_num_threads = 1
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
feeds = {}
for i in session.get_inputs():
    shape = [batch if not isinstance(d, int) else d for d in i.shape]
    shape[0] = batch
    feeds[i.name] = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
session.run(None, feeds)
times = []
for _ in range(iterations):
    t0 = time.perf_counter()
    session.run(None, feeds)
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(f"# onnxruntime {ort.__version__}: CPU provider, {threads} intra-op threads, sequential, all graph optimizations")
print(f"{times[len(times) // 2]:.3f} {times[0]:.3f}")
