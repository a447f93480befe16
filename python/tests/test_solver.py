"""pycaffe's solvers on SwiftCaffe: 20 iterations against the update rules
written out in numpy, snapshot and restore, and the type override."""
import os

import numpy as np
import pytest

import swiftcaffe as caffe

NET = """
name: "regression"
layer { name: "data" type: "Input" top: "data" top: "target" input_param { shape { dim: 4 dim: 2 } shape { dim: 4 dim: 1 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "y"
        inner_product_param { num_output: 1 weight_filler { type: "constant" value: 0 } bias_filler { type: "constant" value: 0 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "target" top: "loss" }
"""

X = np.array([[1, 2], [0, 1], [-1, 0.5], [2, -1]], dtype=np.float32)
T = np.array([[1], [0.5], [-1], [2]], dtype=np.float32)


def solver_file(tmp_path, type_line=""):
    (tmp_path / "net.prototxt").write_text(NET)
    path = tmp_path / "solver.prototxt"
    path.write_text('net: "net.prototxt"\nbase_lr: 0.05\nmomentum: 0.9\nlr_policy: "fixed"\nmax_iter: 40\n'
                    'test_iter: 1\ntest_interval: 1000\nsnapshot_prefix: "%s"\n%s' % (tmp_path / "reg", type_line))
    return str(path)


def gradients(w, b):
    """EuclideanLoss Σ(y − t)² / 2N of y = x·wᵀ + b: its gradients."""
    r = X @ w.T + b - T
    return r.T @ X / len(X), r.sum(axis=0) / len(X)


def feed(solver):
    solver.net.blobs["data"].data[...] = X
    solver.net.blobs["target"].data[...] = T


def test_sgd_with_momentum_matches_numpy(tmp_path):
    solver = caffe.SGDSolver(solver_file(tmp_path))
    assert solver.type == "SGD" and solver.iter == 0
    feed(solver)
    losses = []
    for _ in range(20):
        solver.step(1)
        losses.append(float(solver.net.blobs["loss"].data))
    assert solver.iter == 20
    w, b = np.zeros((1, 2)), np.zeros(1)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for _ in range(20):
        gw, gb = gradients(w, b)
        vw, vb = 0.9 * vw + 0.05 * gw, 0.9 * vb + 0.05 * gb
        w, b = w - vw, b - vb
    np.testing.assert_allclose(solver.net.params["ip"][0].data, w, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(solver.net.params["ip"][1].data, b, rtol=1e-4, atol=1e-6)
    assert losses[-1] < losses[0] / 4
    # The test net shares the train net's weights.
    assert len(solver.test_nets) == 1
    np.testing.assert_array_equal(solver.test_nets[0].params["ip"][0].data, solver.net.params["ip"][0].data)


def test_adam_class_overrides_the_files_type(tmp_path):
    solver = caffe.AdamSolver(solver_file(tmp_path, 'type: "SGD"\n'))
    assert solver.type == "Adam"
    feed(solver)
    solver.step(20)
    w, b = np.zeros((1, 2)), np.zeros(1)
    state = [[np.zeros_like(w), np.zeros_like(w)], [np.zeros_like(b), np.zeros_like(b)]]
    for t in range(1, 21):
        gw, gb = gradients(w, b)
        new = []
        for p, g, (m, v) in zip((w, b), (gw, gb), state):
            m[...] = 0.9 * m + 0.1 * g
            v[...] = 0.999 * v + 0.001 * g * g
            correction = np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            new.append(p - 0.05 * correction * m / (np.sqrt(v) + 1e-8))
        w, b = new
    np.testing.assert_allclose(solver.net.params["ip"][0].data, w, rtol=1e-4, atol=1e-6)
    assert caffe.get_solver(solver_file(tmp_path, 'type: "Nesterov"\n')).type == "Nesterov"


def test_snapshot_and_restore(tmp_path):
    solver = caffe.SGDSolver(solver_file(tmp_path))
    feed(solver)
    solver.step(5)
    solver.snapshot()
    state = str(tmp_path / "reg_iter_5.solverstate")
    assert os.path.exists(state) and os.path.exists(str(tmp_path / "reg_iter_5.caffemodel"))
    again = caffe.SGDSolver(solver_file(tmp_path))
    again.restore(state)
    assert again.iter == 5
    np.testing.assert_array_equal(again.net.params["ip"][0].data, solver.net.params["ip"][0].data)
    # Both go on identically: the momentum history came back too.
    feed(again)
    solver.step(3)
    again.step(3)
    np.testing.assert_allclose(again.net.params["ip"][0].data, solver.net.params["ip"][0].data, rtol=1e-6)


def test_solver_errors(tmp_path):
    with pytest.raises(RuntimeError, match="no such file"):
        caffe.SGDSolver(str(tmp_path / "missing_solver.prototxt"))
    path = solver_file(tmp_path)
    solver = caffe.SGDSolver(path)
    with pytest.raises(caffe.CaffeError, match="step takes a number of iterations"):
        solver.step(-1)
    with pytest.raises(RuntimeError, match="nope.solverstate"):
        solver.restore(str(tmp_path / "nope.solverstate"))
