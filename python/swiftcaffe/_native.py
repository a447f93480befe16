"""The C ABI of libSwiftCaffeC, loaded with ctypes.

The library is looked for in SWIFTCAFFE_LIBRARY (a path), next to this file
(where `make python` and `pip install` put it), then in the source tree's
.build/release (a checkout built with `swift build -c release`).
"""
import ctypes
import os

_NAME = "libSwiftCaffeC.so"


def _find():
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = []
    if os.environ.get("SWIFTCAFFE_LIBRARY"):
        candidates.append(os.environ["SWIFTCAFFE_LIBRARY"])
    candidates.append(os.path.join(here, _NAME))
    candidates.append(os.path.join(here, "..", "..", ".build", "release", _NAME))
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise ImportError(
        "swiftcaffe: %s not found (looked in %s); build it with `make python` in the SwiftCaffe "
        "checkout, or set SWIFTCAFFE_LIBRARY to its path" % (_NAME, ", ".join(candidates)))


lib = ctypes.CDLL(_find())

_p = ctypes.c_void_p
_s = ctypes.c_char_p
_i = ctypes.c_int32

_SIGNATURES = {
    "sc_last_error": ([], _s),
    "sc_version": ([], _s),
    "sc_net_create": ([_s, _s, _i, _i, ctypes.POINTER(_s), _i, ctypes.c_uint64, _p, ctypes.POINTER(_p)], _i),
    "sc_layer_types": ([], _s),
    "sc_net_set_input_arrays": ([_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int64, ctypes.POINTER(ctypes.c_float), ctypes.c_int64], _i),
    "sc_net_free": ([_p], None),
    "sc_net_name": ([_p], _s),
    "sc_net_phase": ([_p], _i),
    "sc_net_blob_count": ([_p], _i),
    "sc_net_blob_name": ([_p, _i], _s),
    "sc_net_blob": ([_p, _i], _p),
    "sc_net_input_count": ([_p], _i),
    "sc_net_input_name": ([_p, _i], _s),
    "sc_net_output_count": ([_p], _i),
    "sc_net_output_name": ([_p, _i], _s),
    "sc_net_layer_count": ([_p], _i),
    "sc_net_layer_name": ([_p, _i], _s),
    "sc_net_layer_type": ([_p, _i], _s),
    "sc_net_layer_param_count": ([_p, _i], _i),
    "sc_net_layer_param": ([_p, _i, _i], _p),
    "sc_net_layer_blob_count": ([_p, _i, _i], _i),
    "sc_net_layer_blob_name": ([_p, _i, _i, _i], _s),
    "sc_net_forward": ([_p, _i, _i, ctypes.POINTER(ctypes.c_float)], _i),
    "sc_net_backward": ([_p, _i, _i], _i),
    "sc_net_reshape": ([_p], _i),
    "sc_net_clear_param_diffs": ([_p], None),
    "sc_net_copy_from": ([_p, _s], _i),
    "sc_net_save": ([_p, _s], _i),
    "sc_net_store_weights": ([_p, _s], _i),
    "sc_net_share_with": ([_p, _p], _i),
    "sc_net_export_onnx": ([_p, _s, _i, _i, _i, _i], _i),
    "sc_solver_create": ([_s, _s, _p, ctypes.POINTER(_p)], _i),
    "sc_solver_free": ([_p], None),
    "sc_solver_type": ([_p], _s),
    "sc_solver_iter": ([_p], _i),
    "sc_solver_net": ([_p], _p),
    "sc_solver_test_net_count": ([_p], _i),
    "sc_solver_test_net": ([_p, _i], _p),
    "sc_solver_step": ([_p, _i], _i),
    "sc_solver_solve": ([_p, _s], _i),
    "sc_solver_restore": ([_p, _s], _i),
    "sc_solver_snapshot": ([_p], _i),
    "sc_draw_net": ([_s, _s, _i, _s], _i),
    "sc_blob_rank": ([_p], _i),
    "sc_blob_dims": ([_p, ctypes.POINTER(ctypes.c_int64)], None),
    "sc_blob_count": ([_p], ctypes.c_int64),
    "sc_blob_memory": ([_p, _i], _p),
    "sc_blob_reshape": ([_p, ctypes.POINTER(ctypes.c_int64), _i], _i),
}

for _name, (_args, _result) in _SIGNATURES.items():
    _f = getattr(lib, _name)
    _f.argtypes = _args
    _f.restype = _result


class CaffeError(RuntimeError):
    """What SwiftCaffe reports: the file, line or layer, and the reason.

    A RuntimeError, as pycaffe raises for a file it cannot open."""


def check(status):
    """Raises the thread's last SwiftCaffe error when status is not 0: the
    exception a Python layer raised, if one did (SwiftCaffe's message as a
    note), else CaffeError."""
    if status != 0:
        from .python_layer import pending_error
        message = lib.sc_last_error()
        message = message.decode("utf-8", "replace") if message else "SwiftCaffe failed without a message"
        raised = pending_error()
        if raised is not None:
            if hasattr(raised, "add_note"):
                raised.add_note(message)
            raise raised
        raise CaffeError(message)


def text(value):
    return value.decode("utf-8") if value is not None else None


def encode(path):
    return os.fsencode(path)
