"""Peer for `make bench`: ncnn (Tencent's CPU inference engine, PyPI wheel)
timing a forward pass. The model is the bench's ONNX export converted by
PyPI's pnnx (cached beside the .onnx): fp32 weights by default, fp16 weights
with --fp16. ncnn runs one image per extraction, so batch N is N extractions.
Prints '# <options>' and then '<median ms> <min ms>'.
Usage: ncnn_peer.py MODEL.onnx BATCH ITERATIONS THREADS [--fp16]"""
import os
import subprocess
import sys
import time

import ncnn
import numpy as np

model, batch, iterations, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fp16 = "--fp16" in sys.argv
import onnx  # noqa: E402

graph = onnx.load(model, load_external_data=False).graph
initializers = {t.name for t in graph.initializer}
inputs = [i for i in graph.input if i.name not in initializers]
shapes = [[1] + [d.dim_value for d in i.type.tensor_type.shape.dim][1:] for i in inputs]
base = model[:-len(".onnx")] + (".fp16" if fp16 else ".fp32")
param, weights = base + ".ncnn.param", base + ".ncnn.bin"
if not os.path.exists(param) or os.path.getmtime(param) < os.path.getmtime(model):
    pnnx = os.path.join(os.path.dirname(sys.executable), "pnnx")
    shape_text = ",".join("[%s]" % ",".join(map(str, s)) for s in shapes)
    scratch = base + ".pnnx"
    subprocess.run([pnnx, model, "inputshape=" + shape_text, "fp16=%d" % int(fp16), "ncnnparam=" + param, "ncnnbin=" + weights,
                    "pnnxparam=%s.param" % scratch, "pnnxbin=%s.bin" % scratch, "pnnxpy=%s.py" % scratch, "pnnxonnx=%s.onnx" % scratch,
                    "ncnnpy=%s_ncnn.py" % scratch], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for leftover in [scratch + s for s in [".param", ".bin", ".py", ".onnx", "_ncnn.py"]] + [model[:-len(".onnx")] + ".pnnxsim.onnx"]:
        if os.path.exists(leftover):
            os.remove(leftover)

net = ncnn.Net()
net.opt.num_threads = threads
net.opt.use_fp16_storage = fp16
net.opt.use_fp16_packed = fp16
net.opt.use_fp16_arithmetic = False
net.opt.use_bf16_storage = False
net.opt.use_vulkan_compute = False
net.load_param(param)
net.load_model(weights)
# The inputs, and the blobs no layer reads: the outputs.
names, produced, consumed = [], [], set()
for line in open(param).read().splitlines()[2:]:
    f = line.split()
    n_in, n_out = int(f[2]), int(f[3])
    if f[0] == "Input":
        names.append(f[4 + n_in])
    consumed.update(f[4:4 + n_in])
    produced += f[4 + n_in:4 + n_in + n_out]
outputs = [t for t in produced if t not in consumed]
rng = np.random.default_rng(0)
images = [[ncnn.Mat(rng.uniform(-1, 1, s[1:]).astype(np.float32)).clone() for s in shapes] for _ in range(batch)]


def forward():
    for mats in images:
        with net.create_extractor() as ex:
            for name, m in zip(names, mats):
                ex.input(name, m)
            for o in outputs:
                ex.extract(o)


forward()
times = []
for _ in range(iterations):
    t0 = time.perf_counter()
    forward()
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
o = net.opt
print(f"# ncnn (PyPI {ncnn.__version__}): {threads} threads, {'fp16' if fp16 else 'fp32'} weight storage, light mode {o.lightmode}, "
      f"winograd {o.use_winograd_convolution}, sgemm {o.use_sgemm_convolution}, packing {o.use_packing_layout}; pnnx-converted; "
      "batch N is N extractions")
print(f"{times[len(times) // 2]:.3f} {times[0]:.3f}")
