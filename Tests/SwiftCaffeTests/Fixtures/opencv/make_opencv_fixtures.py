"""Expected forward outputs from OpenCV's DNN module (an implementation of
Caffe independent of SwiftCaffe), for ReferenceForwardTests.

Each case is a prototxt here (or one of Models/; zoo_<net>.prototxt are the
classic nets with fewer channels, written by this script from Models/make_zoo.py). Parameters and inputs come
from a formula both sides compute:
    value(i) = sin(0.37·i + salt) · scale     (float64, then float32)
with salt = layer index + 0.5·blob index and scale = sqrt(3 / fan_in) for
weights (fan_in = count / shape[0]), 0.1 for biases, 1 for inputs (100 for
the whole nets; input j of a case uses salt 0.25·j). For
BatchNorm, variance blobs use 1.5 + value and the scale factor blob is 2.
The script writes a .caffemodel with those blobs (protobuf generated from
Proto/caffe.proto), runs OpenCV, and saves the named outputs as
<case>.<blob>.npy. Run: make opencv-fixtures (needs protoc; makes its venv).

OpenCV is a reference, not the definition: where it departs from Caffe the
case avoids the difference and a hand-computed test covers Caffe's behaviour
(4.14 ignores LRN's k across channels; its Input layer wants one shape per top).
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, sys.argv[1])  # folder with caffe_pb2.py
import caffe_pb2  # noqa: E402
import cv2  # noqa: E402
from google.protobuf import text_format  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "..", "..", "Models")
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "scripts"))
from caffe_wire import blob as wire_blob, v2_layer  # noqa: E402


def formula(n, salt, scale):
    return (np.sin(np.arange(n, dtype=np.float64) * 0.37 + salt) * scale).astype(np.float32)


def param_values(layer_index, blob_index, shape, layer_type):
    n = int(np.prod(shape)) if len(shape) else 1
    salt = layer_index + 0.5 * blob_index
    if layer_type == "BatchNorm":
        if blob_index == 2:
            return np.full(n, 2.0, dtype=np.float32)
        v = formula(n, salt, 1.0)
        return v + np.float32(1.5) if blob_index == 1 else v
    if layer_type == "Scale" and blob_index == 0:
        return formula(n, salt, 0.5) + np.float32(1.0)
    if blob_index == 0 and len(shape) > 1:
        return formula(n, salt, math.sqrt(3.0 / (n / shape[0])))
    return formula(n, salt, 0.1)


def param_shapes(layer, bottom_shapes):
    """The parameter blob shapes Caffe gives these layer types."""
    t = layer.type
    b = bottom_shapes[0] if bottom_shapes else None
    if t in ("Convolution", "Deconvolution"):
        p = layer.convolution_param
        k = list(p.kernel_size) or [p.kernel_h, p.kernel_w]
        if len(k) == 1:
            k = k * 2
        g = p.group or 1
        w = [p.num_output, b[1] // g] + k if t == "Convolution" else [b[1], p.num_output // g] + k
        return [w, [p.num_output]] if p.bias_term else [w]
    if t == "InnerProduct":
        p = layer.inner_product_param
        axis = p.axis if p.axis >= 0 else len(b) + p.axis
        k = int(np.prod(b[axis:]))
        return [[p.num_output, k], [p.num_output]] if p.bias_term else [[p.num_output, k]]
    if t == "BatchNorm":
        return [[b[1]], [b[1]], [1]]
    if t == "Scale" and len(layer.bottom) == 2:
        return []
    if t == "Scale":
        return [[b[1]], [b[1]]] if layer.scale_param.bias_term else [[b[1]]]
    if t == "Normalize":
        # The fork's shared scale has 0 axes; OpenCV reads only [1] (the same one value).
        return [[1] if layer.norm_param.channel_shared else [b[1]]]
    return []


def top_shapes(layer, b):
    """Top shapes for the layer types of these cases (Caffe's rounding rules)."""
    t, x = layer.type, b[0] if b else None
    if t in ("Convolution", "Deconvolution"):
        p = layer.convolution_param

        def per_axis(rep, h, w, default):
            v = list(rep) or ([h, w] if (h or w) else [default])
            return v * 2 if len(v) == 1 else v
        k = per_axis(p.kernel_size, p.kernel_h, p.kernel_w, 1)
        s = per_axis(p.stride, p.stride_h, p.stride_w, 1)
        pad = per_axis(p.pad, p.pad_h, p.pad_w, 0)
        d = list(p.dilation) or [1]
        d = d * 2 if len(d) == 1 else d
        ext = [d[i] * (k[i] - 1) + 1 for i in range(2)]
        if t == "Convolution":
            out = [(x[2 + i] + 2 * pad[i] - ext[i]) // s[i] + 1 for i in range(2)]
        else:
            out = [s[i] * (x[2 + i] - 1) + ext[i] - 2 * pad[i] for i in range(2)]
        return [[x[0], p.num_output] + out]
    if t == "Pooling" and layer.pooling_param.global_pooling:
        return [[x[0], x[1], 1, 1]]
    if t == "Slice":
        p = layer.slice_param
        axis = p.axis if p.axis >= 0 else len(x) + p.axis
        points = [0] + list(p.slice_point) + [x[axis]]
        return [x[:axis] + [points[i + 1] - points[i]] + x[axis + 1:] for i in range(len(layer.top))]
    if t == "Concat":
        return [[x[0], sum(s[1] for s in b)] + x[2:]]
    if t == "Pooling":
        p = layer.pooling_param
        out = []
        for i in range(2):
            o = int(math.ceil((x[2 + i] + 2 * p.pad - p.kernel_size) / p.stride)) + 1
            if p.pad and (o - 1) * p.stride >= x[2 + i] + p.pad:
                o -= 1
            out.append(o)
        return [[x[0], x[1]] + out]
    if t == "InnerProduct":
        return [x[: layer.inner_product_param.axis] + [layer.inner_product_param.num_output]]
    return [x for _ in layer.top]


def formula_caffemodel(net_param, input_shapes, values=None):
    """The .caffemodel bytes of `net_param` with formula parameters (or values(layer index,
    blob index, shape, layer type)), for inputs of these shapes."""
    values = values or param_values
    shapes = {k: list(v) for k, v in input_shapes.items()}
    out = b""
    for i, layer in enumerate(net_param.layer):
        bshapes = [shapes.get(b) for b in layer.bottom]
        ps = param_shapes(layer, bshapes)
        if ps:
            out += v2_layer(layer.name, layer.type, [wire_blob(s, values(i, j, s, layer.type)) for j, s in enumerate(ps)])
        if layer.type != "Input":  # input shapes are the given arrays'
            for t, shape in zip(layer.top, top_shapes(layer, bshapes)):
                shapes[t] = shape
    return out


def read_prototxt(path):
    net_param = caffe_pb2.NetParameter()
    with open(path) as f:
        text_format.Merge(f.read(), net_param)
    return net_param


def opencv_forward(prototxt_path, weights_path, inputs, outputs):
    cvnet = cv2.dnn.readNetFromCaffe(prototxt_path, weights_path)
    cvnet.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    # OpenCV's Winograd 3x3 convolution loses about 1e-5 relative per layer;
    # the reference should be the direct sum Caffe computes.
    cvnet.enableWinograd(False)
    for k, v in inputs.items():
        cvnet.setInput(v, k)
    return cvnet.forward(outputs)


def run_case(name, prototxt_path, inputs, outputs):
    weights = os.path.join(HERE, f".{name}.caffemodel")
    with open(weights, "wb") as f:
        f.write(formula_caffemodel(read_prototxt(prototxt_path), {k: v.shape for k, v in inputs.items()}))
    results = opencv_forward(prototxt_path, weights, inputs, outputs)
    os.remove(weights)
    for blob, value in zip(outputs, results):
        np.save(os.path.join(HERE, f"{name}.{blob.replace('/', '_')}.npy"), np.ascontiguousarray(value, dtype=np.float32))
        print(f"{name}.{blob}: shape {value.shape}, max |value| {np.abs(value).max():.4g}")


def shaped_input(shape, salt=0.0, scale=1.0):
    return formula(int(np.prod(shape)), salt, scale).reshape(shape)


# The classic nets of Models/ with hidden channels divided (Models/make_zoo.py
# makes the copies, written here as zoo_<net>.prototxt): every layer type
# and connection of the full nets at a fraction of the cost. Outputs are
# blobs no in-place layer rewrites (OpenCV fuses ReLU into the layer before).
ZOO = [
    # (net, width divisor, input side, outputs)
    ("vgg16", 8, 224, ["pool5", "fc8"]),
    ("squeezenet", 4, 227, ["pool5", "pool10"]),
    ("nin", 8, 224, ["pool2", "pool4"]),
    ("resnet50", 8, 224, ["pool5", "fc1000"]),
    ("googlenet", 8, 224, ["inception_4a/output", "inception_5b/output", "loss3/classifier"]),
]

CASES = [
    # (case, prototxt, {input: shape}, output layers, each named as its top)
    ("conv_grouped", "conv_grouped.prototxt", {"data": [2, 4, 9, 8]}, ["conv"]),
    ("conv_depthwise", "conv_depthwise.prototxt", {"data": [2, 6, 11, 10]}, ["dw_s1", "dw_s2", "dw_x2"]),
    ("deconv", "deconv.prototxt", {"data": [1, 4, 5, 6]}, ["deconv"]),
    ("pooling", "pooling.prototxt", {"data": [2, 3, 7, 6]}, ["max", "ave"]),
    ("lrn", "lrn.prototxt", {"data": [2, 7, 5, 4]}, ["across", "within"]),
    ("inner_product", "inner_product.prototxt", {"data": [2, 3, 4, 5]}, ["ip_axis2", "ip_axis3"]),
    ("softmax_mvn", "softmax_mvn.prototxt", {"data": [2, 5, 3, 4]}, ["prob", "mvn", "mvn_mean"]),
    ("bn_scale", "bn_scale.prototxt", {"data": [2, 4, 3, 3]}, ["scale"]),
    ("eltwise_concat", "eltwise_concat.prototxt", {"a": [2, 3, 4, 4], "b": [2, 3, 4, 4]}, ["sum", "prod", "max", "cat"]),
    # Fork layers OpenCV implements as the forks define them; inputs ×8 so ReLU6 clips at both ends.
    ("fork_layers", "fork_layers.prototxt", {"data": [2, 6, 3, 4]}, ["shuffle", "relu6"]),
    ("resize_layers", "resize_layers.prototxt", {"data": [2, 3, 6, 7]}, ["zoom", "sized"]),
    # SSD's layers; OpenCV orders DetectionOutput's rows by score across classes (the
    # fork groups them by label), so the test compares the rows as a set.
    ("ssd_layers", "ssd_layers.prototxt", {"data": [2, 3, 24, 24], "feat": [2, 4, 6, 6], "loc": [2, 864], "logits": [2, 648]},
     ["norm_spatial", "norm_channels", "perm", "prior", "prior_clip", "detection"]),
]
# Input scale per case (default 1).
SCALES = {"fork_layers": 8.0}
# `make_opencv_fixtures.py PB2_DIR CASE...` remakes only the named cases.
ONLY = set(sys.argv[2:])


def main():
    for name, proto, ins, outs in CASES:
        if ONLY and name not in ONLY:
            continue
        inputs = {k: shaped_input(s, salt=0.25 * j, scale=SCALES.get(name, 1.0)) for j, (k, s) in enumerate(ins.items())}
        run_case(name, os.path.join(HERE, proto), inputs, outs)
    if ONLY:
        return
    for net in ("alexnet", "caffenet"):
        proto = os.path.join(HERE, f".{net}_deploy_b1.prototxt")
        with open(os.path.join(MODELS, net, "deploy.prototxt")) as f:
            text = f.read().replace("dim: 10 dim: 3", "dim: 1 dim: 3")
        with open(proto, "w") as f:
            f.write(text)
        # Image-like magnitudes (±100, as 0-255 pixels less the mean), so that LRN matters.
        run_case(net, proto, {"data": shaped_input([1, 3, 227, 227], scale=100.0)}, ["pool5", "fc8", "prob"])
        os.remove(proto)
    sys.path.insert(0, MODELS)
    import make_zoo  # noqa: E402
    for net, width, side, outs in ZOO:
        proto = os.path.join(HERE, f"zoo_{net}.prototxt")
        with open(proto, "w") as f:
            f.write(f"# Made by make_opencv_fixtures.py: Models/{net}/deploy.prototxt with hidden channels / {width}.\n")
            f.write(make_zoo.reduced_deploy(net, width))
        run_case(f"zoo_{net}", proto, {"data": shaped_input([1, 3, side, side], scale=100.0)}, outs)


if __name__ == "__main__":
    main()
