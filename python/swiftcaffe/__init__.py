"""SwiftCaffe from Python, with pycaffe's API: `import swiftcaffe as caffe`.

    net = caffe.Net("deploy.prototxt", "weights.caffemodel", caffe.TEST)
    net.blobs["data"].data[...] = image
    out = net.forward()
"""
import warnings

from ._native import CaffeError, lib, text
from .pycaffe import TRAIN, TEST, Blob, Net, layer_type_list, set_random_seed
from .python_layer import Layer
from . import draw, io
from .classifier import Classifier
from .detector import Detector
from .solver import (AdaDeltaSolver, AdaGradSolver, AdamSolver, NesterovSolver, RMSPropSolver, SGDSolver, Solver,
                     get_solver)

from . import proto

__version__ = text(lib.sc_version())

__all__ = ["Net", "Blob", "Layer", "TRAIN", "TEST", "CaffeError", "set_mode_cpu", "set_mode_gpu", "set_device",
           "Solver", "SGDSolver", "NesterovSolver", "AdaGradSolver", "RMSPropSolver", "AdaDeltaSolver", "AdamSolver",
           "get_solver", "io", "Classifier", "Detector", "proto", "draw", "set_random_seed", "layer_type_list"]


def set_mode_cpu():
    """SwiftCaffe always runs on the CPU."""


def set_mode_gpu():
    """SwiftCaffe has no GPU mode: warns and stays on the CPU."""
    warnings.warn("swiftcaffe runs on the CPU only; set_mode_gpu() keeps the CPU", RuntimeWarning, stacklevel=2)


def set_device(device_id):
    """No GPU to choose: accepted and ignored."""
