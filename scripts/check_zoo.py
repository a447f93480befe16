"""`make check-zoo`: every net of Models/ at full size, run forward by OpenCV
DNN and by swiftcaffe on the same deploy prototxt (batch 1), the same
seeded random weights (a .caffemodel written here, never committed) and the same
input; `swiftcaffe forward --compare` must find every compared blob within
1e-4 of its scale (L-infinity). Usage:
    check_zoo.py PB2_DIR SWIFTCAFFE WORKDIR [NET ...]
Weights are seeded random values of trained-like scale (he_values); the
caffemodel writer and OpenCV call are those of the committed fixtures
(Tests/SwiftCaffeTests/Fixtures/opencv/make_opencv_fixtures.py)."""
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "Tests", "SwiftCaffeTests", "Fixtures", "opencv"))
import make_opencv_fixtures as ref  # noqa: E402  (reads PB2_DIR from argv[1])
from google.protobuf import text_format  # noqa: E402

# (net, blobs compared: outputs no in-place layer rewrites, as OpenCV fuses ReLU into the layer before)
NETS = [("lenet", ["pool2", "ip2"]), ("alexnet", ["pool5", "fc8"]), ("caffenet", ["pool5", "fc8"])] + \
    [(net, outputs) for net, _, _, outputs in ref.ZOO] + \
    [("mobilenet_v1", ["pool6", "fc7"]), ("mobilenet_v2", ["pool6", "fc7"]), ("shufflenet_v2", ["stage4_4/shuffle", "fc"]),
     ("mobilenet_ssd", ["mbox_loc", "mbox_conf_flatten", "mbox_priorbox"]), ("se_resnet50", ["classifier"])]
# SE-ResNet-50's output only: its sigmoid gates, near 0 with these seeded weights, magnify float
# rounding, and pool5 differs from OpenCV by 1.5e-4 (9e-5 with SWIFTCAFFE_WINOGRAD=0) while the
# net computed with Axpy and with OpenCV's Flatten + Scale + Eltwise agree to the bit.


def for_opencv(param):
    """The net as OpenCV 4.x runs the same computation: it has no ConvolutionDepthwise (a
    Convolution with group = channels, written in our files) and its Axpy departs from
    SENet's a*x + y, so Axpy becomes Flatten + Scale (axis 0) + Eltwise."""
    from caffe_pb2 import NetParameter
    out = NetParameter()
    out.CopyFrom(param)
    del out.layer[:]
    for l in param.layer:
        if l.type == "ConvolutionDepthwise":
            c = out.layer.add()
            c.CopyFrom(l)
            c.type = "Convolution"
        elif l.type == "Axpy":
            a, x, y = l.bottom
            flat = out.layer.add()
            flat.name, flat.type = l.name + "_flat", "Flatten"
            flat.bottom.append(a)
            flat.top.append(l.name + "_flat")
            scale = out.layer.add()
            scale.name, scale.type = l.name + "_scale", "Scale"
            scale.bottom.extend([x, l.name + "_flat"])
            scale.top.append(l.name + "_scale")
            scale.scale_param.axis = 0
            total = out.layer.add()
            total.name, total.type = l.name, "Eltwise"
            total.bottom.extend([l.name + "_scale", y])
            total.top.extend(l.top)
        else:
            out.layer.add().CopyFrom(l)
    return out


def he_values(layer_index, blob_index, shape, layer_type):
    """Seeded random parameters of trained-like scale: weights N(0, 2/fan_in) ("msra"),
    small biases, BatchNorm statistics near mean 0 / variance 1 (factor 1), Scale near 1.
    Activations then keep their size through every layer, so the comparison measures
    agreement rather than the rounding of sums that cancel."""
    rng = np.random.default_rng(1000 * layer_index + blob_index)
    n = int(np.prod(shape)) if len(shape) else 1
    if layer_type == "BatchNorm":
        return [rng.normal(0, 0.1, n), rng.uniform(0.5, 1.5, n), np.ones(n)][blob_index].astype(np.float32)
    if layer_type == "Scale":
        return (rng.uniform(0.8, 1.2, n) if blob_index == 0 else rng.normal(0, 0.05, n)).astype(np.float32)
    if blob_index == 0 and len(shape) > 1:
        return rng.normal(0, np.sqrt(2.0 / (n / shape[0])), n).astype(np.float32)
    return rng.normal(0, 0.05, n).astype(np.float32)


def main():
    swiftcaffe, work = sys.argv[2], sys.argv[3]
    chosen = sys.argv[4:] or [n for n, _ in NETS]
    unknown = [n for n in chosen if n not in dict(NETS)]
    if unknown:
        sys.exit(f"check-zoo: no net {', '.join(unknown)} in Models/; NETS may name: {' '.join(n for n, _ in NETS)}")
    failed = []
    rows = []
    for net, outputs in NETS:
        if net not in chosen:
            continue
        folder = os.path.join(work, net)
        os.makedirs(os.path.join(folder, "opencv"), exist_ok=True)
        # The shipped deploy net at batch 1.
        param = ref.read_prototxt(os.path.join(ROOT, "Models", net, "deploy.prototxt"))
        shape = param.layer[0].input_param.shape[0]
        shape.dim[0] = 1
        proto = os.path.join(folder, "deploy_b1.prototxt")
        with open(proto, "w") as f:
            f.write(text_format.MessageToString(param))
        cv_param = for_opencv(param)
        cv_proto = os.path.join(folder, "deploy_b1_opencv.prototxt")
        with open(cv_proto, "w") as f:
            f.write(text_format.MessageToString(cv_param))
        dims = list(shape.dim)
        t = time.time()
        weights = os.path.join(folder, "seeded.caffemodel")
        with open(weights, "wb") as f:
            f.write(ref.formula_caffemodel(cv_param, {"data": dims}, values=he_values))
        # Image-like magnitudes (±100, as 0-255 pixels less the mean), seeded noise: the smooth
        # formula input against the formula weights cancels to 1/60 of its size in VGG's first
        # block, which would measure float rounding rather than agreement.
        x = np.random.default_rng(7).uniform(-100, 100, size=dims).astype(np.float32)
        np.save(os.path.join(folder, "input.npy"), x)
        results = ref.opencv_forward(cv_proto, weights, {"data": x}, outputs)
        for blob, value in zip(outputs, results):
            np.save(os.path.join(folder, "opencv", blob.replace("/", "_") + ".npy"), np.ascontiguousarray(value, dtype=np.float32))
        opencv_s = time.time() - t
        print(f"== {net}: {os.path.getsize(weights) / 2**20:.1f} MiB of seeded weights; OpenCV done in {opencv_s:.1f} s", flush=True)
        r = subprocess.run([swiftcaffe, "forward", "--model", proto, "--weights", weights, "--input", f"data={os.path.join(folder, 'input.npy')}",
                            "--compare", os.path.join(folder, "opencv")], capture_output=True, text=True)
        print(r.stdout, end="")
        if r.returncode != 0:
            print(r.stderr, end="")
            failed.append(net)
        rows.append((net, "ok" if r.returncode == 0 else "FAILED"))
        if not os.environ.get("KEEP_WEIGHTS"):
            os.remove(weights)  # up to 528 MiB each
    print("\n| net | result |\n|---|---|")
    for net, result in rows:
        print(f"| {net} | {result} |")
    if failed:
        sys.exit(f"check-zoo: {', '.join(failed)} differ from OpenCV DNN by more than 1e-4 relative")
    print(f"check-zoo: all {len(rows)} nets agree with OpenCV DNN within 1e-4 relative")


if __name__ == "__main__":
    main()
