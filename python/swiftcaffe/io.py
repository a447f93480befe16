"""pycaffe's caffe.io: images in, net inputs out, and Caffe's protobuf
messages to and from numpy.

Images are H×W×C float32 arrays in [0, 1], RGB, as pycaffe's load_image
gives them; Transformer turns them into the net's C×H×W input.
"""
import numpy as np

# scikit-image's rgb2gray weights (ITU-R BT.709), which pycaffe's
# load_image(color=False) applies.
_GREY = np.array([0.2125, 0.7154, 0.0721], dtype=np.float64)


def load_image(filename, color=True):
    """An image file as H×W×3 (color) or H×W×1 float32 in [0, 1]."""
    from PIL import Image

    with Image.open(filename) as im:
        im.load()
        if im.mode.startswith("I;16") or im.mode == "I":
            img = np.asarray(im, dtype=np.float64) / 65535.0
        else:
            if im.mode not in ("L", "RGB", "RGBA"):
                im = im.convert("RGBA" if ("A" in im.mode or "transparency" in im.info) else "RGB")
            img = np.asarray(im, dtype=np.float64) / 255.0
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if not color and img.ndim == 3:
        img = img @ _GREY
    if img.ndim == 2:
        img = img[:, :, np.newaxis]
        if color:
            img = np.tile(img, (1, 1, 3))
    return img.astype(np.float32)


def _axis_weights(n_in, n_out, order):
    """Source indices and weights along one axis: pixel centres aligned,
    edges clamped (scikit-image's order 0 and 1, without anti-aliasing)."""
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / float(n_out)) - 0.5
    if order == 0:
        i = np.clip(np.floor(src + 0.5), 0, n_in - 1).astype(int)
        return i, i, np.zeros(n_out)
    src = np.clip(src, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, src - lo


def resize_image(im, new_dims, interp_order=1):
    """Resizes an H×W×K image to new_dims (height, width): bilinear
    (interp_order 1) or nearest (0), as float32."""
    if interp_order not in (0, 1):
        raise ValueError("resize_image supports interp_order 0 (nearest) and 1 (bilinear), got %r" % (interp_order,))
    im = np.asarray(im)
    h, w = int(new_dims[0]), int(new_dims[1])
    if im.shape[0] == 0 or im.shape[1] == 0:
        raise ValueError("cannot resize an empty image of shape %s" % (im.shape,))
    im_min, im_max = im.min(), im.max()
    if im_max == im_min:
        return np.full((h, w) + im.shape[2:], im_min, dtype=np.float32)
    y0, y1, fy = _axis_weights(im.shape[0], h, interp_order)
    x0, x1, fx = _axis_weights(im.shape[1], w, interp_order)
    im = im.astype(np.float64)
    fy = fy.reshape((-1, 1) + (1,) * (im.ndim - 2))
    fx = fx.reshape((1, -1) + (1,) * (im.ndim - 2))
    rows = im[y0] * (1 - fy) + im[y1] * fy
    out = rows[:, x0] * (1 - fx) + rows[:, x1] * fx
    return out.astype(np.float32)


def oversample(images, crop_dims):
    """Ten crops per H×W×K image: the four corners and the centre, then the
    same five mirrored left-right (Caffe's 10-crop test)."""
    images = [np.asarray(im) for im in images]
    im_h, im_w = images[0].shape[:2]
    ch, cw = int(crop_dims[0]), int(crop_dims[1])
    if ch > im_h or cw > im_w:
        raise ValueError("crop %d×%d is larger than the image %d×%d" % (ch, cw, im_h, im_w))
    cy, cx = int(im_h / 2.0 - ch / 2.0), int(im_w / 2.0 - cw / 2.0)
    corners = [(0, 0), (0, im_w - cw), (im_h - ch, 0), (im_h - ch, im_w - cw), (cy, cx)]
    crops = np.empty((10 * len(images), ch, cw, images[0].shape[-1]), dtype=np.float32)
    k = 0
    for im in images:
        five = [im[y:y + ch, x:x + cw, :] for y, x in corners]
        for c in five + [c[:, ::-1, :] for c in five]:
            crops[k] = c
            k += 1
    return crops


class Transformer(object):
    """Turns images (H×W×C, RGB, [0, 1]) into a net's inputs (C×H×W) and back:
    resize to the input's size, transpose, channel swap, raw scale, mean
    subtraction, input scale, in that order, per input blob."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.transpose = {}
        self.channel_swap = {}
        self.raw_scale = {}
        self.mean = {}
        self.input_scale = {}

    def __check_input(self, in_):
        if in_ not in self.inputs:
            raise Exception("{} is not one of the net inputs: {}".format(in_, self.inputs))

    def preprocess(self, in_, data):
        """One image (H×W×C) as the input `in_` takes it."""
        self.__check_input(in_)
        x = np.asarray(data).astype(np.float32, copy=False)
        size = tuple(self.inputs[in_][2:])
        if x.shape[:2] != size:
            x = resize_image(x, size)
        if in_ in self.transpose:
            x = x.transpose(self.transpose[in_])
        if in_ in self.channel_swap:
            x = x[list(self.channel_swap[in_]), :, :]
        x = np.array(x, dtype=np.float32)
        if self.raw_scale.get(in_) is not None:
            x *= self.raw_scale[in_]
        if self.mean.get(in_) is not None:
            x -= self.mean[in_]
        if self.input_scale.get(in_) is not None:
            x *= self.input_scale[in_]
        return x

    def deprocess(self, in_, data):
        """The inverse of preprocess (without the resize)."""
        self.__check_input(in_)
        x = np.array(data, dtype=np.float32).squeeze()
        if self.input_scale.get(in_) is not None:
            x /= self.input_scale[in_]
        if self.mean.get(in_) is not None:
            x += self.mean[in_]
        if self.raw_scale.get(in_) is not None:
            x /= self.raw_scale[in_]
        if in_ in self.channel_swap:
            x = x[np.argsort(self.channel_swap[in_]), :, :]
        if in_ in self.transpose:
            x = x.transpose(np.argsort(self.transpose[in_]))
        return x

    def set_transpose(self, in_, order):
        """The axis order from the image's to the input's, e.g. (2, 0, 1)."""
        self.__check_input(in_)
        if len(order) != len(self.inputs[in_]) - 1:
            raise Exception("Transpose order needs to have the same number of dimensions as the input.")
        self.transpose[in_] = order

    def set_channel_swap(self, in_, order):
        """The channel order after transposing, e.g. (2, 1, 0) for RGB → BGR."""
        self.__check_input(in_)
        if len(order) != self.inputs[in_][1]:
            raise Exception("Channel swap needs to have the same number of dimensions as the input channels.")
        self.channel_swap[in_] = order

    def set_raw_scale(self, in_, scale):
        """Multiplies the [0, 1] image, e.g. 255 for nets trained on [0, 255]."""
        self.__check_input(in_)
        self.raw_scale[in_] = scale

    def set_mean(self, in_, mean):
        """Subtracts a mean: one value per channel (shape C), or a C×H×W image,
        resized to the input's size when it differs (pycaffe's master)."""
        self.__check_input(in_)
        mean = np.asarray(mean, dtype=np.float32)
        channels = self.inputs[in_][1]
        if mean.ndim == 1:
            if mean.shape[0] != channels:
                raise ValueError("Mean channels incompatible with input.")
            mean = mean[:, np.newaxis, np.newaxis]
        else:
            if mean.ndim == 2:
                mean = mean[np.newaxis]
            if mean.ndim != 3:
                raise ValueError("Mean shape invalid")
            want = tuple(self.inputs[in_][1:])
            if mean.shape != want:
                if mean.shape[0] != channels:
                    raise ValueError("Mean shape incompatible with input shape.")
                mean = resize_image(mean.transpose((1, 2, 0)), want[1:]).transpose((2, 0, 1))
        self.mean[in_] = mean

    def set_input_scale(self, in_, scale):
        """Multiplies after the mean is subtracted, e.g. 0.017 for some nets."""
        self.__check_input(in_)
        self.input_scale[in_] = scale


def _net_transformer(net, mean=None, input_scale=None, raw_scale=None, channel_swap=None):
    """The Transformer Classifier and Detector set up for a net's first
    input: images H×W×C transposed to C×H×W, then the given steps."""
    in_ = net.inputs[0]
    t = Transformer({in_: net.blobs[in_].data.shape})
    t.set_transpose(in_, (2, 0, 1))
    if mean is not None:
        t.set_mean(in_, mean)
    if input_scale is not None:
        t.set_input_scale(in_, input_scale)
    if raw_scale is not None:
        t.set_raw_scale(in_, raw_scale)
    if channel_swap is not None:
        t.set_channel_swap(in_, channel_swap)
    return t


# Caffe's protobuf messages and numpy (these need the protobuf package).

def _pb2():
    from .proto import caffe_pb2
    return caffe_pb2


def blobproto_to_array(blob, return_diff=False):
    """A BlobProto's data (or diff) as an array of its shape (legacy 4-D when
    it has num/channels/height/width)."""
    values = np.array(blob.diff if return_diff else blob.data)
    if blob.HasField("num") or blob.HasField("channels") or blob.HasField("height") or blob.HasField("width"):
        return values.reshape(blob.num, blob.channels, blob.height, blob.width)
    return values.reshape(blob.shape.dim)


def array_to_blobproto(arr, diff=None):
    """An array (and its diff) as a BlobProto with an N-D shape."""
    arr = np.asarray(arr)
    blob = _pb2().BlobProto()
    blob.shape.dim.extend(arr.shape)
    blob.data.extend(arr.astype(float).flat)
    if diff is not None:
        blob.diff.extend(np.asarray(diff).astype(float).flat)
    return blob


def arraylist_to_blobprotovector_str(arraylist):
    """Arrays as a serialised BlobProtoVector."""
    vec = _pb2().BlobProtoVector()
    vec.blobs.extend([array_to_blobproto(a) for a in arraylist])
    return vec.SerializeToString()


def blobprotovector_str_to_arraylist(text):
    """A serialised BlobProtoVector as arrays."""
    vec = _pb2().BlobProtoVector()
    vec.ParseFromString(text)
    return [blobproto_to_array(b) for b in vec.blobs]


def array_to_datum(arr, label=None):
    """A C×H×W array as a Datum: bytes for uint8, float_data otherwise."""
    arr = np.asarray(arr)
    if arr.ndim != 3:
        raise ValueError("Incorrect array shape.")
    datum = _pb2().Datum()
    datum.channels, datum.height, datum.width = arr.shape
    if arr.dtype == np.uint8:
        datum.data = arr.tobytes()
    else:
        datum.float_data.extend(arr.astype(float).flat)
    if label is not None:
        datum.label = label
    return datum


def datum_to_array(datum):
    """A Datum's values as a C×H×W array (uint8 for byte data). Encoded
    (JPEG/PNG) datums are not decoded, as in pycaffe."""
    if len(datum.data):
        return np.frombuffer(datum.data, dtype=np.uint8).reshape(datum.channels, datum.height, datum.width)
    return np.array(datum.float_data).astype(float).reshape(datum.channels, datum.height, datum.width)
