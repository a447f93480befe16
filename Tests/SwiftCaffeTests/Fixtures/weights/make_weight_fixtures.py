"""Weights fixtures for WeightsTests, in the formats Caffe wrote over the years,
all holding the same values (FormulaParameters' formula, layer indices of
small.prototxt):
  small_v2.caffemodel        current `layer` entries, BlobShape, packed floats
  small_v1.caffemodel        V1 `layers` with enum types and legacy
                             num/channels/height/width (InnerProduct weights as
                             1×1×5×100, as BVLC's files), biases as double_data,
                             blob-less layers and a layer the net lacks
  small_unpacked.caffemodel  V2 with repeated floats written unpacked
and OpenCV DNN's output of small.prototxt with them (small.prob.npy; OpenCV
reads V2 and unpacked, not double_data, which Caffe and SwiftCaffe read), and
checks that OpenCV gives the same output with small_written.caffemodel, the
file SwiftCaffe writes.
Run: python3 make_weight_fixtures.py PB2_DIR  (make opencv-fixtures does it)."""
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.join(HERE, "..", "opencv"))
import caffe_pb2  # noqa: E402
import cv2  # noqa: E402
import make_opencv_fixtures as ref  # noqa: E402
from caffe_wire import field, varint  # noqa: E402

# (file layer index, name, V2 type, V1 enum, blob shapes)
LAYERS = [
    (1, "conv1", "Convolution", caffe_pb2.V1LayerParameter.CONVOLUTION, [[4, 1, 3, 3], [4]]),
    (4, "ip1", "InnerProduct", caffe_pb2.V1LayerParameter.INNER_PRODUCT, [[5, 100], [5]]),
]
values = {(name, j): ref.param_values(i, j, s, t) for i, name, t, _, shapes in LAYERS for j, s in enumerate(shapes)}


def v2():
    net = caffe_pb2.NetParameter(name="small")
    for i, name, t, _, shapes in LAYERS:
        l = net.layer.add(name=name, type=t)
        for j, s in enumerate(shapes):
            b = l.blobs.add()
            b.shape.dim.extend(s)
            b.data.extend(values[(name, j)].tolist())
    return net.SerializeToString()


def v1():
    net = caffe_pb2.NetParameter(name="small")
    for i, name, t, enum, shapes in LAYERS:
        l = net.layers.add(name=name, type=enum)
        for j, s in enumerate(shapes):
            legacy = [1] * (4 - len(s)) + s
            b = l.blobs.add(num=legacy[0], channels=legacy[1], height=legacy[2], width=legacy[3])
            if j == 1:
                b.double_data.extend(values[(name, j)].astype(np.float64).tolist())
            else:
                b.data.extend(values[(name, j)].tolist())
        if name == "conv1":
            net.layers.add(name="relu1", type=caffe_pb2.V1LayerParameter.RELU)
            net.layers.add(name="pool1", type=caffe_pb2.V1LayerParameter.POOLING)
    extra = net.layers.add(name="extra_fc", type=caffe_pb2.V1LayerParameter.INNER_PRODUCT)
    b = extra.blobs.add(num=1, channels=1, height=2, width=3)
    b.data.extend([1, 2, 3, 4, 5, 6])
    return net.SerializeToString()


def unpacked():
    """V2 by hand: every float of `data` (field 5) as its own fixed32 field."""
    out = field(1, b"small")
    for i, name, t, _, shapes in LAYERS:
        layer = field(1, name.encode()) + field(2, t.encode())
        for j, s in enumerate(shapes):
            shape = field(1, b"".join(varint(d) for d in s))
            data = b"".join(varint(5 << 3 | 5) + struct.pack("<f", v) for v in values[(name, j)])
            layer += field(7, field(7, shape) + data)
        out += field(100, layer)
    return out


# A mean image as ImageNet's is published: BlobProto 1×3×H×W in the legacy
# fields, here 3×6×8; and the same values as a C×H×W .npy.
mean = (np.sin(np.arange(3 * 6 * 8, dtype=np.float64) * 0.37) * 20 + np.repeat([104.0, 117.0, 123.0], 48)).astype(np.float32)
blob = caffe_pb2.BlobProto(num=1, channels=3, height=6, width=8)
blob.data.extend(mean.tolist())
with open(os.path.join(HERE, "mean.binaryproto"), "wb") as fh:
    fh.write(blob.SerializeToString())
np.save(os.path.join(HERE, "mean.npy"), mean.reshape(3, 6, 8))
print("mean per channel:", ", ".join(f"{v:.3f}" for v in mean.reshape(3, -1).mean(axis=1, dtype=np.float64)))

files = {"small_v2.caffemodel": v2(), "small_v1.caffemodel": v1(), "small_unpacked.caffemodel": unpacked()}
for f, data in files.items():
    with open(os.path.join(HERE, f), "wb") as fh:
        fh.write(data)

# OpenCV cannot read double_data (Caffe can): it checks the float files; the
# tests check that small_v1.caffemodel gives the same output in SwiftCaffe.
x = ref.shaped_input([2, 1, 12, 12])
outputs = []
for f in ["small_v2.caffemodel", "small_unpacked.caffemodel"]:
    net = cv2.dnn.readNetFromCaffe(os.path.join(HERE, "small.prototxt"), os.path.join(HERE, f))
    net.setInput(x)
    outputs.append(net.forward("prob"))
    print(f, "->", outputs[-1].shape)
assert all(np.allclose(o, outputs[0]) for o in outputs), "OpenCV reads the three files differently"
np.save(os.path.join(HERE, "small.prob.npy"), np.ascontiguousarray(outputs[0], dtype=np.float32))

# small_written.caffemodel is SwiftCaffe's own output (swiftcaffe forward
# --weights small_v1.caffemodel --save-weights ...; WeightsTests checks it is
# byte-identical to what SwiftCaffe writes now). OpenCV must read it alike.
written = os.path.join(HERE, "small_written.caffemodel")
if os.path.exists(written):
    net = cv2.dnn.readNetFromCaffe(os.path.join(HERE, "small.prototxt"), written)
    net.setInput(x)
    assert np.array_equal(net.forward("prob"), outputs[0]), "OpenCV reads SwiftCaffe's file differently"
    print("small_written.caffemodel -> identical output in OpenCV")


# A reduced AlexNet: Models/alexnet/deploy.prototxt with every layer kept and
# channel counts divided, batch 2; its weights in BVLC's V1 layout (enum types,
# legacy num/channels/height/width, every layer listed); OpenCV's outputs.
from google.protobuf import text_format  # noqa: E402

with open(os.path.join(HERE, "..", "..", "..", "..", "Models", "alexnet", "deploy.prototxt")) as fh:
    text = fh.read()
for old, new in [("num_output: 96 ", "num_output: 12 "), ("num_output: 256 pad: 2", "num_output: 32 pad: 2"),
                 ("num_output: 384 pad: 1 kernel_size: 3 }", "num_output: 48 pad: 1 kernel_size: 3 }"),
                 ("num_output: 384 pad: 1 kernel_size: 3 group: 2", "num_output: 48 pad: 1 kernel_size: 3 group: 2"),
                 ("num_output: 256 pad: 1", "num_output: 32 pad: 1"), ("num_output: 4096", "num_output: 64"),
                 ("num_output: 1000", "num_output: 10"), ("dim: 10 dim: 3", "dim: 2 dim: 3")]:
    assert old in text, old
    text = text.replace(old, new)
text = "# Models/alexnet/deploy.prototxt with channel counts divided (make_weight_fixtures.py).\n" + text[text.index('name: "AlexNet"'):]
with open(os.path.join(HERE, "alexnet_reduced.prototxt"), "w") as fh:
    fh.write(text)
net_param = caffe_pb2.NetParameter()
text_format.Merge(text, net_param)
V1 = {"Input": None, "Convolution": caffe_pb2.V1LayerParameter.CONVOLUTION, "ReLU": caffe_pb2.V1LayerParameter.RELU,
      "LRN": caffe_pb2.V1LayerParameter.LRN, "Pooling": caffe_pb2.V1LayerParameter.POOLING,
      "InnerProduct": caffe_pb2.V1LayerParameter.INNER_PRODUCT, "Dropout": caffe_pb2.V1LayerParameter.DROPOUT,
      "Softmax": caffe_pb2.V1LayerParameter.SOFTMAX}
shapes = {"data": [2, 3, 227, 227]}
reduced = caffe_pb2.NetParameter(name="AlexNet")
for i, layer in enumerate(net_param.layer):
    b = [shapes.get(x) for x in layer.bottom]
    if V1[layer.type] is not None:
        out = reduced.layers.add(name=layer.name, type=V1[layer.type])
        for j, sh in enumerate(ref.param_shapes(layer, b)):
            legacy = [1] * (4 - len(sh)) + sh
            blob = out.blobs.add(num=legacy[0], channels=legacy[1], height=legacy[2], width=legacy[3])
            blob.data.extend(ref.param_values(i, j, sh, layer.type).tolist())
    if layer.type != "Input":
        for t, sh in zip(layer.top, ref.top_shapes(layer, b)):
            shapes[t] = sh
with open(os.path.join(HERE, "alexnet_reduced_v1.caffemodel"), "wb") as fh:
    fh.write(reduced.SerializeToString())
cvnet = cv2.dnn.readNetFromCaffe(os.path.join(HERE, "alexnet_reduced.prototxt"), os.path.join(HERE, "alexnet_reduced_v1.caffemodel"))
cvnet.setInput(ref.shaped_input([2, 3, 227, 227], scale=100.0))
for blob, value in zip(["fc8", "prob"], cvnet.forward(["fc8", "prob"])):
    np.save(os.path.join(HERE, f"alexnet_reduced.{blob}.npy"), np.ascontiguousarray(value, dtype=np.float32))
    print("alexnet_reduced", blob, value.shape, float(np.abs(value).max()))
