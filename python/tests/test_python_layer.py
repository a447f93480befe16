"""Layers written in Python run inside SwiftCaffe nets and solvers as
pycaffe runs them."""
import textwrap

import numpy as np
import pytest

import swiftcaffe as caffe

MODULE = textwrap.dedent('''
    import json
    import numpy as np
    import swiftcaffe as caffe

    class Scale(caffe.Layer):
        """y = k·x, k from param_str."""
        def setup(self, bottom, top):
            self.k = float(self.param_str)
            self.calls = []

        def reshape(self, bottom, top):
            top[0].reshape(*bottom[0].data.shape)

        def forward(self, bottom, top):
            self.calls.append("forward")
            top[0].data[...] = self.k * bottom[0].data

        def backward(self, top, propagate_down, bottom):
            self.calls.append(("backward", list(propagate_down)))
            if propagate_down[0]:
                bottom[0].diff[...] = self.k * top[0].diff

    class Rows(caffe.Layer):
        """A data layer: rows x with targets 2·x₀ − x₁ + 1, batch from param_str."""
        def setup(self, bottom, top):
            if bottom:
                raise Exception("Rows takes no bottoms")
            self.batch = json.loads(self.param_str)["batch"]
            self.rng = np.random.default_rng(0)
            self.forwards = 0

        def reshape(self, bottom, top):
            top[0].reshape(self.batch, 2)
            top[1].reshape(self.batch, 1)

        def forward(self, bottom, top):
            x = self.rng.uniform(-1, 1, size=(self.batch, 2))
            top[0].data[...] = x
            top[1].data[...] = (2 * x[:, :1] - x[:, 1:] + 1)
            self.forwards += 1

        def backward(self, top, propagate_down, bottom):
            pass

    class Fails(caffe.Layer):
        def reshape(self, bottom, top):
            top[0].reshape(*bottom[0].data.shape)

        def forward(self, bottom, top):
            raise ValueError("bad batch in Fails")

    class Grows(caffe.Layer):
        def setup(self, bottom, top):
            self.n = 1

        def reshape(self, bottom, top):
            top[0].reshape(self.n, 2)
            self.n += 1

        def forward(self, bottom, top):
            pass
''')

SCALE_NET = """
force_backward: true
layer { name: "x" type: "Input" top: "x" top: "t" input_param { shape { dim: 2 dim: 3 } shape { dim: 2 dim: 3 } } }
layer { name: "scale" type: "Python" bottom: "x" top: "y" python_param { module: "pylayers" layer: "Scale" param_str: "3" } }
layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "loss" }
"""

ROWS_NET = """
layer { name: "rows" type: "Python" top: "data" top: "target"
        python_param { module: "pylayers" layer: "Rows" param_str: '{"batch": 8}' } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "y"
        inner_product_param { num_output: 1 weight_filler { type: "constant" value: 0 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "target" top: "loss" }
"""


@pytest.fixture(autouse=True)
def pylayers(tmp_path, monkeypatch):
    (tmp_path / "pylayers.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_python_layer_forward_backward_and_gradient(write):
    net = caffe.Net(write("scale.prototxt", SCALE_NET), caffe.TRAIN)
    layer = net.layers[1]
    assert type(layer).__name__ == "Scale" and layer.param_str == "3" and layer.phase == caffe.TRAIN
    assert layer.type == "Python"
    x = np.array([[1, -2, 0.5], [0, 3, -1]], dtype=np.float32)
    t = np.zeros((2, 3), dtype=np.float32)
    out = net.forward(x=x, t=t)
    np.testing.assert_allclose(net.blobs["y"].data, 3 * x)
    assert float(out["loss"]) == pytest.approx(np.sum((3 * x) ** 2) / 4, rel=1e-6)
    grads = net.backward()
    # d/dx of Σ(3x)²/2N = 9x/N.
    np.testing.assert_allclose(grads["x"], 9 * x / 2, rtol=1e-6)
    assert layer.calls[-2:] == ["forward", ("backward", [True])]


def test_python_data_layer_plans_the_layers_after_it(write):
    net = caffe.Net(write("rows.prototxt", ROWS_NET), caffe.TRAIN)
    assert net.blobs["data"].shape == (8, 2) and net.params["ip"][0].shape == (1, 2)
    net.forward()
    x = net.blobs["data"].data
    np.testing.assert_allclose(net.blobs["target"].data[:, 0], 2 * x[:, 0] - x[:, 1] + 1, rtol=1e-6)


def test_solver_trains_from_a_python_data_layer(write, tmp_path):
    write("rows.prototxt", ROWS_NET)
    solver_path = write("solver.prototxt", 'net: "rows.prototxt"\nbase_lr: 0.2\nmomentum: 0.5\nlr_policy: "fixed"\n'
                        'max_iter: 300\nsnapshot_prefix: "%s"\n' % (tmp_path / "rows"))
    solver = caffe.SGDSolver(solver_path)
    solver.step(300)
    assert solver.net.layers[0].forwards == 300
    np.testing.assert_allclose(solver.net.params["ip"][0].data, [[2, -1]], atol=1e-2)
    np.testing.assert_allclose(solver.net.params["ip"][1].data, [1], atol=1e-2)


def test_python_exceptions_come_back_out(write):
    fails = write("fails.prototxt", """
        layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 } } }
        layer { name: "f" type: "Python" bottom: "x" top: "y" python_param { module: "pylayers" layer: "Fails" } }
        """)
    net = caffe.Net(fails, caffe.TEST)
    with pytest.raises(ValueError, match="bad batch in Fails") as raised:
        net.forward()
    notes = getattr(raised.value, "__notes__", [""])
    assert "layer 'f' (Python): the Python layer's forward failed" in notes[0]
    missing = write("missing.prototxt", """
        layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 } } }
        layer { name: "m" type: "Python" bottom: "x" top: "y" python_param { module: "no_such_module" layer: "L" } }
        """)
    with pytest.raises(ModuleNotFoundError, match="no_such_module"):
        caffe.Net(missing, caffe.TEST)
    with pytest.raises(Exception, match="Rows takes no bottoms"):
        caffe.Net(write("bottoms.prototxt", """
            layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 } } }
            layer { name: "r" type: "Python" bottom: "x" top: "a" top: "b" python_param { module: "pylayers" layer: "Rows" param_str: '{"batch": 1}' } }
            """), caffe.TEST)


def test_a_top_that_changes_shape_in_forward_is_refused(write):
    net = caffe.Net(write("grows.prototxt", """
        layer { name: "g" type: "Python" top: "y" python_param { module: "pylayers" layer: "Grows" } }
        layer { name: "p" type: "Power" bottom: "y" top: "z" }
        """), caffe.TEST)
    with pytest.raises(caffe.CaffeError, match=r"layer 'g' \(Python\): its reshape changed top 'y' from 1×2 to 2×2 during forward"):
        net.forward()
