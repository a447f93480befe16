"""caffe.io, Classifier, Detector and caffe_pb2, as pycaffe scripts use them.
Expected values are computed here by hand or with numpy."""
import numpy as np
import pytest
from PIL import Image

import swiftcaffe as caffe
from swiftcaffe.proto import caffe_pb2

DEPLOY = """
name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 4 dim: 4 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
"""

RNG = np.random.default_rng(11)
PIXELS = RNG.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
W = RNG.normal(scale=0.01, size=(2, 48)).astype(np.float32)
B = np.array([0.1, -0.1], dtype=np.float32)
MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)


def png(tmp_path, pixels, name="image.png", mode=None):
    path = str(tmp_path / name)
    Image.fromarray(pixels, mode).save(path)
    return path


def weights(write, tmp_path):
    net = caffe.Net(write("deploy.prototxt", DEPLOY), caffe.TEST)
    net.params["ip"][0].data[...] = W
    net.params["ip"][1].data[...] = B
    path = str(tmp_path / "tiny.caffemodel")
    net.save(path)
    return write("deploy.prototxt", DEPLOY), path


def by_hand(rgb01):
    """A 4×4×3 RGB [0, 1] crop preprocessed as the tutorials set it up, then the net."""
    bgr = rgb01[:, :, ::-1].transpose(2, 0, 1) * 255.0 - MEAN_BGR[:, None, None]
    scores = W.astype(np.float64) @ bgr.reshape(-1) + B
    e = np.exp(scores - scores.max())
    return e / e.sum()


def test_load_image(tmp_path):
    image = caffe.io.load_image(png(tmp_path, PIXELS))
    assert image.shape == (6, 6, 3) and image.dtype == np.float32
    np.testing.assert_allclose(image, PIXELS / 255.0, rtol=1e-6)
    grey = caffe.io.load_image(png(tmp_path, PIXELS), color=False)
    assert grey.shape == (6, 6, 1)
    np.testing.assert_allclose(grey[..., 0], PIXELS @ np.array([0.2125, 0.7154, 0.0721]) / 255.0, rtol=1e-5)
    one = caffe.io.load_image(png(tmp_path, PIXELS[:, :, 0], "grey.png"))
    assert one.shape == (6, 6, 3) and np.all(one[..., 0] == one[..., 2])
    rgba = np.dstack([PIXELS, np.full((6, 6), 7, np.uint8)])
    np.testing.assert_allclose(caffe.io.load_image(png(tmp_path, rgba, "rgba.png")), PIXELS / 255.0, rtol=1e-6)


def test_resize_image_bilinear_by_hand():
    im = np.array([[0, 1], [2, 3]], dtype=np.float32)[:, :, None]
    out = caffe.io.resize_image(im, (4, 4))
    assert out.shape == (4, 4, 1)
    # Output pixel 1 samples (0.25, 0.25): 0·0.5625 + 1·0.1875 + 2·0.1875 + 3·0.0625.
    assert out[1, 1, 0] == pytest.approx(0.75)
    assert out[0, 0, 0] == 0 and out[3, 3, 0] == 3, "edges clamp"
    np.testing.assert_array_equal(caffe.io.resize_image(im, (2, 2)), im)
    np.testing.assert_array_equal(caffe.io.resize_image(np.full((3, 5, 3), 0.25), (2, 2)), np.full((2, 2, 3), 0.25))
    nearest = caffe.io.resize_image(im, (4, 4), interp_order=0)
    assert nearest[:, :, 0].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    with pytest.raises(ValueError, match="interp_order"):
        caffe.io.resize_image(im, (4, 4), interp_order=3)


def test_oversample_ten_crops():
    im = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    crops = caffe.io.oversample([im], (2, 2))
    assert crops.shape == (10, 2, 2, 1)
    assert crops[0, :, :, 0].tolist() == [[0, 1], [4, 5]]
    assert crops[3, :, :, 0].tolist() == [[10, 11], [14, 15]]
    assert crops[4, :, :, 0].tolist() == [[5, 6], [9, 10]], "the centre"
    assert crops[5, :, :, 0].tolist() == [[1, 0], [5, 4]], "the first crop mirrored"


def test_transformer_by_hand_and_back():
    t = caffe.io.Transformer({"data": (1, 3, 6, 6)})
    t.set_transpose("data", (2, 0, 1))
    t.set_channel_swap("data", (2, 1, 0))
    t.set_raw_scale("data", 255)
    t.set_mean("data", MEAN_BGR)
    t.set_input_scale("data", 0.5)
    image = PIXELS / 255.0
    x = t.preprocess("data", image)
    assert x.shape == (3, 6, 6) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], (PIXELS[:, :, 2] - 104.0) * 0.5, rtol=1e-5)
    np.testing.assert_allclose(x[2], (PIXELS[:, :, 0] - 123.0) * 0.5, rtol=1e-5)
    np.testing.assert_allclose(t.deprocess("data", x), image, rtol=1e-5, atol=1e-6)
    # A mean image of another size is resized to the input's.
    t.set_mean("data", np.ones((3, 12, 12), dtype=np.float32) * MEAN_BGR[:, None, None])
    assert t.mean["data"].shape == (3, 6, 6)
    with pytest.raises(Exception, match="image is not one of the net inputs"):
        t.preprocess("image", image)
    with pytest.raises(Exception, match="Channel swap needs to have the same number of dimensions as the input channels."):
        t.set_channel_swap("data", (1, 0))
    with pytest.raises(Exception, match="Transpose order needs to have the same number of dimensions as the input."):
        t.set_transpose("data", (1, 0))
    with pytest.raises(ValueError, match="Mean channels incompatible with input."):
        t.set_mean("data", np.zeros(4))


def test_tutorial_classification_with_transformer(write, tmp_path):
    deploy, model = weights(write, tmp_path)
    caffe.set_mode_cpu()
    net = caffe.Net(deploy, model, caffe.TEST)
    transformer = caffe.io.Transformer({"data": net.blobs["data"].data.shape})
    transformer.set_transpose("data", (2, 0, 1))
    transformer.set_mean("data", MEAN_BGR)
    transformer.set_raw_scale("data", 255)
    transformer.set_channel_swap("data", (2, 1, 0))
    net.blobs["data"].reshape(1, 3, 4, 4)
    image = caffe.io.load_image(png(tmp_path, PIXELS[:4, :4]))
    net.blobs["data"].data[...] = transformer.preprocess("data", image)
    output = net.forward()
    np.testing.assert_allclose(output["prob"][0], by_hand(PIXELS[:4, :4] / 255.0), rtol=1e-5)
    assert output["prob"][0].argmax() == by_hand(PIXELS[:4, :4] / 255.0).argmax()


def test_classifier_centre_and_ten_crops(write, tmp_path):
    deploy, model = weights(write, tmp_path)
    classifier = caffe.Classifier(deploy, model, image_dims=(6, 6), mean=MEAN_BGR, raw_scale=255, channel_swap=(2, 1, 0))
    image = caffe.io.load_image(png(tmp_path, PIXELS))
    rgb = PIXELS / 255.0
    centre = classifier.predict([image], oversample=False)
    np.testing.assert_allclose(centre[0], by_hand(rgb[1:5, 1:5]), rtol=1e-5)
    corners = [rgb[:4, :4], rgb[:4, 2:], rgb[2:, :4], rgb[2:, 2:], rgb[1:5, 1:5]]
    crops = corners + [c[:, ::-1] for c in corners]
    ten = classifier.predict([image, image], oversample=True)
    assert ten.shape == (2, 2)
    np.testing.assert_allclose(ten[1], np.mean([by_hand(c) for c in crops], axis=0), rtol=1e-5)


def test_detector_windows(write, tmp_path):
    deploy, model = weights(write, tmp_path)
    detector = caffe.Detector(deploy, model, mean=MEAN_BGR, raw_scale=255, channel_swap=(2, 1, 0))
    path = png(tmp_path, PIXELS)
    found = detector.detect_windows([(path, [np.array([0, 0, 4, 4]), np.array([2, 1, 6, 5])])])
    assert [d["filename"] for d in found] == [path, path]
    rgb = PIXELS / 255.0
    np.testing.assert_allclose(found[0]["prediction"], by_hand(rgb[0:4, 0:4]), rtol=1e-5)
    np.testing.assert_allclose(found[1]["prediction"], by_hand(rgb[2:6, 1:5]), rtol=1e-5)
    padded = caffe.Detector(deploy, model, mean=MEAN_BGR, raw_scale=255, channel_swap=(2, 1, 0), context_pad=1)
    crop = padded.crop(rgb, np.array([0, 0, 2, 2]))
    assert crop.shape == (4, 4, 3)
    np.testing.assert_allclose(crop[0, 0], MEAN_BGR[::-1] / 255.0, rtol=1e-6, err_msg="outside the image: the mean")
    with pytest.raises(NotImplementedError, match="detect_windows"):
        padded.detect_selective_search([path])


def test_caffe_pb2_reads_what_the_net_saved(write, tmp_path):
    deploy, model = weights(write, tmp_path)
    saved = caffe_pb2.NetParameter()
    with open(model, "rb") as f:
        saved.ParseFromString(f.read())
    ip = [l for l in saved.layer if l.name == "ip"][0]
    np.testing.assert_array_equal(caffe.io.blobproto_to_array(ip.blobs[0]), W)
    np.testing.assert_array_equal(caffe.io.blobproto_to_array(ip.blobs[1]), B)


def test_blobproto_and_datum_round_trips():
    a = RNG.normal(size=(2, 3, 4))
    blob = caffe_pb2.BlobProto()
    blob.ParseFromString(caffe.io.array_to_blobproto(a, diff=2 * a).SerializeToString())
    np.testing.assert_allclose(caffe.io.blobproto_to_array(blob), a, rtol=1e-6)
    np.testing.assert_allclose(caffe.io.blobproto_to_array(blob, return_diff=True), 2 * a, rtol=1e-6)
    legacy = caffe_pb2.BlobProto(num=1, channels=2, height=1, width=2, data=[1, 2, 3, 4])
    assert caffe.io.blobproto_to_array(legacy).shape == (1, 2, 1, 2)
    arrays = caffe.io.blobprotovector_str_to_arraylist(caffe.io.arraylist_to_blobprotovector_str([a, a[0]]))
    assert [x.shape for x in arrays] == [(2, 3, 4), (3, 4)]
    pixels = PIXELS.transpose(2, 0, 1).copy()
    datum = caffe.io.array_to_datum(pixels, label=3)
    assert (datum.channels, datum.height, datum.width, datum.label) == (3, 6, 6, 3)
    np.testing.assert_array_equal(caffe.io.datum_to_array(datum), pixels)
    floats = caffe.io.datum_to_array(caffe.io.array_to_datum(a))
    np.testing.assert_allclose(floats, a)
    with pytest.raises(ValueError, match="Incorrect array shape."):
        caffe.io.array_to_datum(np.zeros((2, 2)))
