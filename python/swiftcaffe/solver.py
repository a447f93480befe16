"""pycaffe's solvers: SGDSolver(path) and the other update rules, each
using its own rule whatever the file's `type` says (as pycaffe's classes
do), and get_solver(path), which uses the file's."""
import ctypes

from . import python_layer
from ._native import check, encode, lib, text
from .pycaffe import Net


class Solver(object):
    _type = None

    def __init__(self, filename):
        handle = ctypes.c_void_p()
        with python_layer.building() as made:
            check(lib.sc_solver_create(encode(filename), self._type.encode("ascii") if self._type else None,
                                       ctypes.cast(python_layer.callback, ctypes.c_void_p), ctypes.byref(handle)))
        self._handle = handle
        # The train net's Python layers were built first, then each test net's.
        self._net = Net._wrap(lib.sc_solver_net(handle), made)
        self._test_nets = [Net._wrap(lib.sc_solver_test_net(handle, i), made) for i in range(lib.sc_solver_test_net_count(handle))]

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            lib.sc_solver_free(handle)
            self._handle = None

    @property
    def net(self):
        """The train net."""
        return self._net

    @property
    def test_nets(self):
        return list(self._test_nets)

    @property
    def iter(self):
        return int(lib.sc_solver_iter(self._handle))

    @property
    def type(self):
        return text(lib.sc_solver_type(self._handle))

    def step(self, iters):
        """Trains `iters` iterations (testing and snapshotting as the solver file says)."""
        check(lib.sc_solver_step(self._handle, int(iters)))

    def solve(self, resume_file=None):
        """Trains to max_iter, from `resume_file` (a .solverstate) when given."""
        check(lib.sc_solver_solve(self._handle, encode(resume_file) if resume_file is not None else None))

    def restore(self, state_file):
        check(lib.sc_solver_restore(self._handle, encode(state_file)))

    def snapshot(self):
        """Writes PREFIX_iter_N.caffemodel and .solverstate."""
        check(lib.sc_solver_snapshot(self._handle))


class SGDSolver(Solver):
    _type = "SGD"


class NesterovSolver(Solver):
    _type = "Nesterov"


class AdaGradSolver(Solver):
    _type = "AdaGrad"


class RMSPropSolver(Solver):
    _type = "RMSProp"


class AdaDeltaSolver(Solver):
    _type = "AdaDelta"


class AdamSolver(Solver):
    _type = "Adam"


def get_solver(filename):
    """The solver the file describes, of the file's type."""
    return Solver(filename)
