"""Image fixtures for ClassifyTests: images of each kind classify must read,
OpenCV's decode of each (IMREAD_COLOR, BGR) as <image>.bgr.npy, and a tiny
classifier (tiny_classifier.prototxt, formula weights in tiny.caffemodel)
with OpenCV DNN's probabilities for rgb.png after Caffe's preprocessing done
here in numpy: bilinear resize to 20×20 (pixel centres at +0.5, in floating
point), RGB→BGR, minus mean values 104,117,123, centre 16×16 crop
(tiny.center.npy) or the 10 crops averaged (tiny.oversample.npy).
Run: python3 make_image_fixtures.py PB2_DIR (make opencv-fixtures)."""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "opencv"))
import make_opencv_fixtures as ref  # noqa: E402  (reads PB2_DIR from argv)
import caffe_pb2  # noqa: E402
import cv2  # noqa: E402
from google.protobuf import text_format  # noqa: E402
from PIL import Image  # noqa: E402

H, W = 20, 24
yy, xx = np.mgrid[0:H, 0:W]
rgb = np.stack([(xx * 10) % 256, (yy * 12) % 256, ((xx + yy) * 7) % 256], axis=2).astype(np.uint8)
bgr = rgb[:, :, ::-1]
cv2.imwrite(os.path.join(HERE, "rgb.png"), bgr)
cv2.imwrite(os.path.join(HERE, "rgba.png"), np.dstack([bgr, (xx * 9 % 256).astype(np.uint8)]))
cv2.imwrite(os.path.join(HERE, "grey.png"), rgb[:, :, 0])
cv2.imwrite(os.path.join(HERE, "rgb16.png"), bgr.astype(np.uint16) * 257 + 3)
cv2.imwrite(os.path.join(HERE, "photo.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
cv2.imwrite(os.path.join(HERE, "grey.jpg"), rgb[:, :, 1], [cv2.IMWRITE_JPEG_QUALITY, 95])
Image.fromarray(rgb, "RGB").convert("CMYK").save(os.path.join(HERE, "cmyk.jpg"), quality=95)
with open(os.path.join(HERE, "truncated.png"), "wb") as f:
    f.write(open(os.path.join(HERE, "rgb.png"), "rb").read()[:60])
for name in ["rgb.png", "rgba.png", "grey.png", "rgb16.png", "photo.jpg", "grey.jpg", "cmyk.jpg"]:
    decoded = cv2.imread(os.path.join(HERE, name), cv2.IMREAD_COLOR)
    np.save(os.path.join(HERE, name + ".bgr.npy"), decoded.astype(np.float32))


def resize(img, oh, ow):
    h, w = img.shape[:2]
    ys = np.clip((np.arange(oh) + 0.5) * (h / oh) - 0.5, 0, h - 1)
    xs = np.clip((np.arange(ow) + 0.5) * (w / ow) - 0.5, 0, w - 1)
    y0, x0 = ys.astype(int), xs.astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    wy, wx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = img[y0][:, x0] * (1 - wx) + img[y0][:, x1] * wx
    bottom = img[y1][:, x0] * (1 - wx) + img[y1][:, x1] * wx
    return top * (1 - wy) + bottom * wy


net_param = caffe_pb2.NetParameter()
with open(os.path.join(HERE, "tiny_classifier.prototxt")) as f:
    text_format.Merge(f.read(), net_param)
shapes = {"data": [1, 3, 16, 16]}
model = caffe_pb2.NetParameter(name="tiny")
for i, layer in enumerate(net_param.layer):
    b = [shapes.get(x) for x in layer.bottom]
    ps = ref.param_shapes(layer, b)
    if ps:
        out = model.layer.add(name=layer.name, type=layer.type)
        for j, s in enumerate(ps):
            blob = out.blobs.add()
            blob.shape.dim.extend(s)
            blob.data.extend(ref.param_values(i, j, s, layer.type).tolist())
    if layer.type != "Input":
        for t, s in zip(layer.top, ref.top_shapes(layer, b)):
            shapes[t] = s
weights = os.path.join(HERE, "tiny.caffemodel")
with open(weights, "wb") as f:
    f.write(model.SerializeToString())
# The same weights in the V1 layout (enum types, legacy 4-D blob dims).
v1 = caffe_pb2.NetParameter(name="tiny")
for layer in model.layer:
    kind = {"Convolution": caffe_pb2.V1LayerParameter.CONVOLUTION, "InnerProduct": caffe_pb2.V1LayerParameter.INNER_PRODUCT}[layer.type]
    out = v1.layers.add(name=layer.name, type=kind)
    for blob in layer.blobs:
        legacy = [1] * (4 - len(blob.shape.dim)) + list(blob.shape.dim)
        b = out.blobs.add(num=legacy[0], channels=legacy[1], height=legacy[2], width=legacy[3])
        b.data.extend(blob.data)
with open(os.path.join(HERE, "tiny_v1.caffemodel"), "wb") as f:
    f.write(v1.SerializeToString())
with open(os.path.join(HERE, "labels.txt"), "w") as f:
    f.write("\n".join(f"n0000000{c} class number {c}" for c in range(6)) + "\n")

image = resize(cv2.imread(os.path.join(HERE, "rgb.png"), cv2.IMREAD_COLOR).astype(np.float64), 20, 20)
image = image - np.array([104, 117, 123], dtype=np.float64)
planes = image.transpose(2, 0, 1).astype(np.float32)  # BGR planes
crops = [planes[:, 2:18, 2:18]]
corners = [(0, 0), (0, 4), (4, 0), (4, 4), (2, 2)]
ten = [planes[:, y:y + 16, x:x + 16] for y, x in corners]
ten += [c[:, :, ::-1] for c in ten]
for name, batch in [("center", crops), ("oversample", ten)]:
    net = cv2.dnn.readNetFromCaffe(os.path.join(HERE, "tiny_classifier.prototxt"), weights)
    net.setInput(np.ascontiguousarray(np.stack(batch)))
    fc, prob = net.forward(["fc", "prob"])
    prob = prob.mean(axis=0)
    np.save(os.path.join(HERE, f"tiny.{name}.npy"), prob.astype(np.float32).reshape(1, -1))
    np.save(os.path.join(HERE, f"tiny.{name}.fc.npy"), fc.astype(np.float32))  # logits per crop
    print(name, np.round(prob, 4))
