"""Net and Blob as pycaffe has them, over SwiftCaffe's C ABI.

`.data` and `.diff` are numpy views of the blob's own memory (float32,
C order): writing to them writes the net's blob. A view is valid until
the blob is reshaped; take a new one after `reshape`, as in pycaffe.
"""
import ctypes
from collections import OrderedDict
from itertools import zip_longest

import numpy as np

from ._native import CaffeError, check, encode, lib, text
from . import python_layer

TRAIN = 0
TEST = 1

# The seed of the fillers and random layers of nets built from now on
# (SwiftCaffe's default, so runs repeat, unless set_random_seed says otherwise).
_seed = [1701]


def set_random_seed(seed):
    """Seeds the nets (and their fillers) built after this call."""
    _seed[0] = int(seed) & 0xFFFFFFFFFFFFFFFF


def layer_type_list():
    """The layer types SwiftCaffe runs."""
    return text(lib.sc_layer_types()).split("\n")


class _Memory(object):
    """A blob's floats as numpy sees them; keeps the net alive while viewed."""

    def __init__(self, owner, address, shape):
        self._owner = owner
        self.__array_interface__ = {
            "shape": tuple(shape), "typestr": "<f4", "data": (address, False), "version": 3,
        }


class Blob(object):
    """A blob of a net: values, gradients and shape."""

    def __init__(self, net, handle):
        self._net = net
        self._handle = handle

    @property
    def shape(self):
        rank = lib.sc_blob_rank(self._handle)
        dims = (ctypes.c_int64 * max(rank, 1))()
        lib.sc_blob_dims(self._handle, dims)
        return tuple(int(dims[i]) for i in range(rank))

    def _view(self, which):
        address = lib.sc_blob_memory(self._handle, which)
        return np.asarray(_Memory(self._net, address, self.shape))

    @property
    def data(self):
        return self._view(0)

    @property
    def diff(self):
        return self._view(1)

    @property
    def count(self):
        return int(lib.sc_blob_count(self._handle))

    def reshape(self, *shape):
        """Reshapes to the given dimensions (call net.reshape() after an input's)."""
        dims = [int(d) for d in shape]
        array = (ctypes.c_int64 * max(len(dims), 1))(*dims)
        check(lib.sc_blob_reshape(self._handle, array, len(dims)))

    def _legacy(self, axis):
        s = self.shape
        if len(s) > 4:
            raise ValueError("a blob of %d axes (%s) has no legacy num/channels/height/width; use .shape" % (len(s), s))
        return s[axis] if axis < len(s) else 1

    num = property(lambda self: self._legacy(0))
    channels = property(lambda self: self._legacy(1))
    height = property(lambda self: self._legacy(2))
    width = property(lambda self: self._legacy(3))

    def __repr__(self):
        return "<swiftcaffe.Blob %s>" % (self.shape,)


class _NetLayer(python_layer.Layer):
    """A layer SwiftCaffe runs: its type and parameter blobs."""

    def __init__(self, net, index):
        self._net = net
        self._index = index
        h = net._handle
        self.type = text(lib.sc_net_layer_type(h, index))
        self.blobs = [Blob(net, lib.sc_net_layer_param(h, index, k)) for k in range(lib.sc_net_layer_param_count(h, index))]

    def __repr__(self):
        return "<swiftcaffe.Layer %s>" % self.type


def _names(count, name):
    return [text(name(i)) for i in range(count)]


class Net(object):
    """A net built from a prototxt, as pycaffe's caffe.Net:

        Net(network_file, phase, level=0, stages=None, weights=None)
        Net(network_file, weights, phase)        # the older form
    """

    def __init__(self, network_file, *args, **kwargs):
        weights, phase, level, stages = None, None, 0, None
        if args and isinstance(args[0], str):
            if len(args) != 2:
                raise TypeError("Net(network_file, weights, phase) takes a weights file and a phase")
            weights, phase = args
            if kwargs:
                raise TypeError("Net(network_file, weights, phase) takes no keyword arguments, got %s" % sorted(kwargs))
        else:
            names = ["phase", "level", "stages", "weights"]
            if len(args) > len(names):
                raise TypeError("Net() takes at most %d arguments after network_file" % len(names))
            given = dict(zip(names, args))
            for k, v in kwargs.items():
                if k not in names:
                    raise TypeError("Net() got an unexpected keyword argument '%s'" % k)
                if k in given:
                    raise TypeError("Net() got multiple values for argument '%s'" % k)
                given[k] = v
            if "phase" not in given:
                raise TypeError("Net() needs a phase: caffe.TRAIN or caffe.TEST")
            phase = given["phase"]
            level = given.get("level", 0)
            stages = given.get("stages")
            weights = given.get("weights")
        if phase not in (TRAIN, TEST):
            raise TypeError("phase must be caffe.TRAIN or caffe.TEST, got %r" % (phase,))
        stages = list(stages or [])
        stage_array = (ctypes.c_char_p * max(len(stages), 1))(*[s.encode("utf-8") for s in stages])
        handle = ctypes.c_void_p()
        with python_layer.building() as made:
            check(lib.sc_net_create(encode(network_file), encode(weights) if weights is not None else None,
                                    int(phase), int(level), stage_array, len(stages), _seed[0],
                                    ctypes.cast(python_layer.callback, ctypes.c_void_p), ctypes.byref(handle)))
        self._adopt(handle, made)

    def _adopt(self, handle, made):
        """Takes over a net handle, and from `made` (name → layer objects, in
        the order they were built) the first object of each of its Python layers."""
        self._handle = handle
        self._blobs_dict = None
        self._layers = None
        h = handle
        self._python_layers = {}
        for i in range(lib.sc_net_layer_count(h)):
            name = text(lib.sc_net_layer_name(h, i))
            if text(lib.sc_net_layer_type(h, i)) == "Python" and made.get(name):
                self._python_layers[name] = made[name].pop(0)

    @classmethod
    def _wrap(cls, handle, made):
        """A Net over a handle the library handed out (a solver's nets)."""
        net = cls.__new__(cls)
        net._adopt(ctypes.c_void_p(handle), made)
        return net

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            lib.sc_net_free(handle)
            self._handle = None

    # What the net is made of.

    @property
    def _blob_names(self):
        return _names(lib.sc_net_blob_count(self._handle), lambda i: lib.sc_net_blob_name(self._handle, i))

    @property
    def _layer_names(self):
        return _names(lib.sc_net_layer_count(self._handle), lambda i: lib.sc_net_layer_name(self._handle, i))

    @property
    def blobs(self):
        """OrderedDict of blob name → Blob, in Caffe's order."""
        if self._blobs_dict is None:
            h = self._handle
            self._blobs_dict = OrderedDict(
                (name, Blob(self, lib.sc_net_blob(h, i))) for i, name in enumerate(self._blob_names))
        return self._blobs_dict

    @property
    def layers(self):
        """The layers; a Python layer is its own object, as in pycaffe."""
        if self._layers is None:
            names = self._layer_names
            self._layers = [self._python_layers.get(names[i]) or _NetLayer(self, i)
                            for i in range(lib.sc_net_layer_count(self._handle))]
        return self._layers

    @property
    def layer_dict(self):
        """OrderedDict of layer name → layer."""
        return OrderedDict(zip(self._layer_names, self.layers))

    @property
    def params(self):
        """OrderedDict of layer name → its parameter blobs, for layers that have any."""
        return OrderedDict((name, layer.blobs) for name, layer in zip(self._layer_names, self.layers) if layer.blobs)

    @property
    def inputs(self):
        return _names(lib.sc_net_input_count(self._handle), lambda i: lib.sc_net_input_name(self._handle, i))

    @property
    def outputs(self):
        return _names(lib.sc_net_output_count(self._handle), lambda i: lib.sc_net_output_name(self._handle, i))

    def _layer_blob_names(self, which):
        h = self._handle
        return OrderedDict(
            (name, _names(lib.sc_net_layer_blob_count(h, i, which), lambda k, i=i: lib.sc_net_layer_blob_name(h, i, which, k)))
            for i, name in enumerate(self._layer_names))

    @property
    def bottom_names(self):
        return self._layer_blob_names(0)

    @property
    def top_names(self):
        return self._layer_blob_names(1)

    # Running.

    def _forward(self, start, end):
        loss = ctypes.c_float()
        check(lib.sc_net_forward(self._handle, start, end, ctypes.byref(loss)))
        return loss.value

    def _backward(self, start, end):
        check(lib.sc_net_backward(self._handle, start, end))

    def forward(self, blobs=None, start=None, end=None, **kwargs):
        """Runs forward from layer `start` to `end` (names; default all), with
        inputs set from kwargs; returns {output: data} for the net's outputs
        (or end's tops) and `blobs`."""
        blobs = list(blobs or [])
        names = self._layer_names
        start_index = names.index(start) if start is not None else 0
        if end is not None:
            end_index = names.index(end)
            outputs = set(self.top_names[end] + blobs)
        else:
            end_index = len(names) - 1
            outputs = set(self.outputs + blobs)
        if kwargs:
            if set(kwargs) != set(self.inputs):
                raise Exception("Input blob arguments do not match net inputs.")
            for name, array in kwargs.items():
                if np.shape(array)[0] != self.blobs[name].shape[0]:
                    raise Exception("Input is not batch sized")
                self.blobs[name].data[...] = array
        self._forward(start_index, end_index)
        return {out: self.blobs[out].data for out in outputs}

    def backward(self, diffs=None, start=None, end=None, **kwargs):
        """Runs backward from layer `start` down to `end` (names; default all),
        with output gradients set from kwargs; returns {input: diff} for the
        net's inputs (or end's bottoms) and `diffs`."""
        diffs = list(diffs or [])
        names = self._layer_names
        start_index = names.index(start) if start is not None else len(names) - 1
        if end is not None:
            end_index = names.index(end)
            outputs = set(self.bottom_names[end] + diffs)
        else:
            end_index = 0
            outputs = set(self.inputs + diffs)
        if kwargs:
            if set(kwargs) != set(self.outputs):
                raise Exception("Top diff arguments do not match net outputs.")
            for name, array in kwargs.items():
                if np.shape(array)[0] != self.blobs[name].shape[0]:
                    raise Exception("Diff is not batch sized")
                self.blobs[name].diff[...] = array
        self._backward(start_index, end_index)
        return {out: self.blobs[out].diff for out in outputs}

    def _batch(self, arrays):
        """The arrays cut into the net's batches, the last padded with zeros."""
        if not arrays:
            return
        total = len(next(iter(arrays.values())))
        batch = next(iter(self.blobs.values())).shape[0]
        for b in range(total // batch):
            yield {name: a[b * batch:(b + 1) * batch] for name, a in arrays.items()}
        remainder = total % batch
        if remainder:
            padded = {}
            for name, a in arrays.items():
                a = np.asarray(a)
                padding = np.zeros((batch - remainder,) + a.shape[1:], dtype=np.float32)
                padded[name] = np.concatenate([a[-remainder:], padding])
            yield padded

    @staticmethod
    def _unpad(collected, given):
        packed = {k: np.asarray(v) for k, v in collected.items()}
        if given and packed:
            pad = len(next(iter(packed.values()))) - len(next(iter(given.values())))
            if pad:
                packed = {k: v[:-pad] for k, v in packed.items()}
        return packed

    def forward_all(self, blobs=None, **kwargs):
        """forward over inputs of any length, a batch at a time; outputs concatenated."""
        collected = {out: [] for out in set(self.outputs + list(blobs or []))}
        for batch in self._batch(kwargs):
            for out, data in self.forward(blobs=blobs, **batch).items():
                collected[out].extend(data.copy())
        return self._unpad(collected, kwargs)

    def forward_backward_all(self, blobs=None, diffs=None, **kwargs):
        """forward then backward over inputs (and output gradients) of any length."""
        outs = {out: [] for out in set(self.outputs + list(blobs or []))}
        grads = {d: [] for d in set(self.inputs + list(diffs or []))}
        forward_batches = self._batch({k: kwargs[k] for k in self.inputs if k in kwargs})
        backward_batches = self._batch({k: kwargs[k] for k in self.outputs if k in kwargs})
        for fb, bb in zip_longest(forward_batches, backward_batches, fillvalue={}):
            for out, data in self.forward(blobs=blobs, **fb).items():
                outs[out].extend(data.copy())
            for d, diff in self.backward(diffs=diffs, **bb).items():
                grads[d].extend(diff.copy())
        return self._unpad(outs, kwargs), self._unpad(grads, kwargs)

    def set_input_arrays(self, data, labels):
        """Hands N records (data N×C×H×W, labels N) to the net's first layer,
        a MemoryData layer; N must be a multiple of its batch size. Copied."""
        if self.layers[0].type != "MemoryData":
            raise RuntimeError("set_input_arrays may only be called if the first layer is a MemoryDataLayer")
        data = np.ascontiguousarray(data, dtype=np.float32)
        labels = np.ascontiguousarray(labels, dtype=np.float32).reshape(len(labels), -1)
        shape = self.blobs[self.top_names[self._layer_names[0]][0]].shape
        if data.ndim != 4:
            raise RuntimeError("data array must be 4-d")
        for axis, name in ((1, "channels"), (2, "height"), (3, "width")):
            if data.shape[axis] != shape[axis]:
                raise RuntimeError("data array has wrong number of %s" % name)
        if labels.shape[1] != 1:
            raise RuntimeError("labels array has wrong number of channels")
        if data.shape[0] != labels.shape[0]:
            raise RuntimeError("data and labels must have the same first dimension")
        if data.shape[0] % shape[0] != 0:
            raise RuntimeError("first dimensions of input arrays must be a multiple of batch size")
        f = ctypes.POINTER(ctypes.c_float)
        check(lib.sc_net_set_input_arrays(self._handle, data.ctypes.data_as(f), data.size, labels.ctypes.data_as(f), len(labels)))

    def reshape(self):
        """Re-plans every blob after an input blob's reshape."""
        check(lib.sc_net_reshape(self._handle))

    # Weights.

    def copy_from(self, path):
        """Copies weights by layer name from a .caffemodel."""
        check(lib.sc_net_copy_from(self._handle, encode(path)))

    def store_weights(self, precision):
        """Keeps the InnerProduct and Convolution weights as 'fp16' or
        'bf16' ('fp32': the floats again) for the forward passes that
        follow, widened as they are read: `swiftcaffe forward
        --weights-precision`, not in Caffe. Made from the current weights,
        so load them first; params still show the floats. Inference only:
        backward() then raises."""
        check(lib.sc_net_store_weights(self._handle, encode(precision)))

    def share_with(self, other):
        """Uses other's parameter blobs for the layers of the same name."""
        check(lib.sc_net_share_with(self._handle, other._handle))
        self._layers = None

    def save(self, path):
        """Writes the weights as a .caffemodel (atomically)."""
        check(lib.sc_net_save(self._handle, encode(path)))

    def to_onnx(self, path, opset=13, dynamic_batch=False, fold_batchnorm=False, allow_approximate=False):
        """Writes the net with its current weights as an ONNX model (as
        `swiftcaffe export-onnx`): a deploy net, Input layers, no losses.
        fold_batchnorm and allow_approximate are the command's
        --fold-batchnorm and --allow-approximate."""
        check(lib.sc_net_export_onnx(self._handle, encode(path), int(opset), 1 if dynamic_batch else 0,
                                     1 if fold_batchnorm else 0, 1 if allow_approximate else 0))
