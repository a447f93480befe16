"""Layers written in Python (`type: "Python"`, python_param module, layer,
param_str), run as pycaffe runs them: the class is imported from its
module and instantiated, `param_str` and `phase` are set, then Caffe calls
setup(bottom, top) and reshape(bottom, top) while building the net,
reshape and forward(bottom, top) on every forward, and
backward(top, propagate_down, bottom) on every backward. bottom and top
are lists of Blob; an exception raised there comes back out of the net
call that ran the layer."""
import ctypes
import importlib
import json
import threading

from ._native import lib

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int64, ctypes.c_int32, ctypes.c_char_p,
                             ctypes.POINTER(ctypes.c_void_p), ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p),
                             ctypes.c_int32, ctypes.POINTER(ctypes.c_int32))

# token → the layer object; the library picks tokens and releases them.
_layers = {}
_state = threading.local()


class Layer(object):
    """The base of layers written in Python (pycaffe's caffe.Layer)."""

    type = "Python"
    blobs = []

    def __init__(self, *args, **kwargs):
        pass

    def setup(self, bottom, top):
        pass

    def reshape(self, bottom, top):
        pass

    def forward(self, bottom, top):
        raise NotImplementedError("%s has no forward()" % type(self).__name__)

    def backward(self, top, propagate_down, bottom):
        raise NotImplementedError("%s has no backward()" % type(self).__name__)


def _blobs(handles, count):
    from .pycaffe import Blob
    return [Blob(None, handles[i]) for i in range(count)]


def _create(token, info, bottom, top):
    spec = json.loads(info.decode("utf-8"))
    cls = getattr(importlib.import_module(spec["module"]), spec["layer"])
    layer = cls()
    layer.param_str = spec["param_str"]
    layer.phase = spec["phase"]
    layer.setup(bottom, top)
    layer.reshape(bottom, top)
    _layers[token] = layer
    made = getattr(_state, "made", None)
    if made is not None:
        made.setdefault(spec["name"], []).append(layer)


def _dispatch(token, op, info, first, n_first, second, n_second, propagate_down):
    try:
        if op == 4:
            _layers.pop(token, None)
            return 0
        a, b = _blobs(first, n_first), _blobs(second, n_second)
        if op == 0:
            _create(token, info, a, b)
        elif op == 1:
            _layers[token].reshape(a, b)
        elif op == 2:
            _layers[token].forward(a, b)
        elif op == 3:
            _layers[token].backward(a, [bool(propagate_down[i]) for i in range(n_second)], b)
        return 0
    except BaseException as e:  # noqa: B902 - handed back to the caller, raised there
        _state.error = e
        return 1


callback = _CALLBACK(_dispatch)


class building(object):
    """While a net or solver is built: collects its Python layers by name, in
    the order they were made (a solver's train net first, then its test nets)."""

    def __init__(self):
        self.made = {}

    def __enter__(self):
        self._outer = getattr(_state, "made", None)
        _state.made = self.made
        return self.made

    def __exit__(self, *exc):
        _state.made = self._outer
        return False


def pending_error():
    """The exception a Python layer raised during the last failed call, if any."""
    e = getattr(_state, "error", None)
    _state.error = None
    return e
