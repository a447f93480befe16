"""pycaffe's Net API on SwiftCaffe: expected values from numpy, by hand,
or from finite differences, never from the module itself."""
import numpy as np
import pytest

import swiftcaffe as caffe

IP_NET = """
name: "ip"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }
layer { name: "relu" type: "ReLU" bottom: "ip" top: "ip" }
"""

LOSS_NET = """
name: "loss"
force_backward: true
layer { name: "data" type: "Input" top: "data" top: "target"
        input_param { shape { dim: 2 dim: 2 dim: 4 dim: 4 } shape { dim: 2 dim: 3 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 3 kernel_size: 3 weight_filler { type: "gaussian" std: 0.5 } bias_filler { type: "gaussian" std: 0.1 } } }
layer { name: "tanh" type: "TanH" bottom: "conv" top: "conv" }
layer { name: "ip" type: "InnerProduct" bottom: "conv" top: "ip"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.5 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "target" top: "loss" }
"""

W = np.array([[1.0, -2.0, 0.5], [0.25, 1.0, -1.0]], dtype=np.float32)
B = np.array([0.5, -0.25], dtype=np.float32)
X = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], dtype=np.float32)


def ip_net(write):
    net = caffe.Net(write("ip.prototxt", IP_NET), caffe.TEST)
    net.params["ip"][0].data[...] = W
    net.params["ip"][1].data[...] = B
    return net


def test_forward_matches_numpy(write):
    net = ip_net(write)
    out = net.forward(data=X)
    np.testing.assert_allclose(out["ip"], np.maximum(X @ W.T + B, 0), rtol=1e-6)
    assert out["ip"].dtype == np.float32
    # By hand: (3, 0, 0)·Wᵀ + b = (3.5, 0.5); (0, 1, 0)·Wᵀ + b = (−1.5, 0.75) → ReLU (0, 0.75).
    net.blobs["data"].data[...] = [[3, 0, 0], [0, 1, 0]]
    net.forward()
    np.testing.assert_allclose(net.blobs["ip"].data, [[3.5, 0.5], [0, 0.75]], rtol=1e-6)


def test_store_weights_rounds_them_for_the_forward_pass(write, tmp_path):
    # A weight of 1 + 2**-9 is 1 in bfloat16 (7 fraction bits) and stays in fp16 (10).
    net = caffe.Net(write("ip.prototxt", IP_NET), caffe.TEST)
    w = W.copy()
    w[0, 0] = 1 + 2.0 ** -9
    net.params["ip"][0].data[...] = w
    net.params["ip"][1].data[...] = B
    x = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    net.store_weights("bf16")
    assert net.forward(data=x)["ip"][0, 0] == pytest.approx(1.0 + 0.5, abs=1e-7)
    assert net.params["ip"][0].data[0, 0] == w[0, 0], "the floats are kept"
    net.store_weights("fp16")
    assert net.forward(data=x)["ip"][0, 0] == pytest.approx(1 + 2.0 ** -9 + 0.5, abs=1e-7)
    net.store_weights("fp32")
    with pytest.raises(RuntimeError, match="weights precision must be fp32, fp16 or bf16, found 'fp8'"):
        net.store_weights("fp8")
    loss = caffe.Net(write("loss.prototxt", LOSS_NET), caffe.TRAIN)
    loss.store_weights("fp16")
    loss.forward()
    with pytest.raises(RuntimeError, match="its weights are stored as fp16 for inference; a backward pass needs fp32 weights"):
        loss.backward()


def test_structure_is_caffes(write):
    net = ip_net(write)
    assert list(net.blobs) == ["data", "ip"], "an in-place top is its bottom's blob"
    assert net._layer_names == ["data", "ip", "relu"]
    assert [l.type for l in net.layers] == ["Input", "InnerProduct", "ReLU"]
    assert list(net.params) == ["ip"]
    assert [b.shape for b in net.params["ip"]] == [(2, 3), (2,)]
    assert net.inputs == ["data"] and net.outputs == ["ip"]
    assert net.top_names["relu"] == ["ip"] and net.bottom_names["ip"] == ["data"]
    blob = net.blobs["data"]
    assert (blob.num, blob.channels, blob.height, blob.width, blob.count) == (2, 3, 1, 1, 6)
    assert len(net.layers[1].blobs) == 2


def test_outputs_are_sorted_by_name_as_caffe(write):
    net = caffe.Net(write("two.prototxt", """
        layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 } } }
        layer { name: "z" type: "Power" bottom: "data" top: "z_out" power_param { scale: 2 } }
        layer { name: "a" type: "Power" bottom: "data" top: "a_out" power_param { shift: 1 } }
        """), caffe.TEST)
    assert net.outputs == ["a_out", "z_out"]
    out = net.forward(data=np.array([[1, 2]], dtype=np.float32))
    np.testing.assert_array_equal(out["z_out"], [[2, 4]])
    np.testing.assert_array_equal(out["a_out"], [[2, 3]])


def test_views_are_the_blobs_memory(write):
    net = ip_net(write)
    view = net.params["ip"][0].data
    view[0, 0] = 7
    assert net.params["ip"][0].data[0, 0] == 7, "no copy"
    del net
    assert view[0, 0] == 7, "a view keeps its net alive"


def test_surgery_save_and_reload(write, tmp_path):
    net = ip_net(write)
    weights = str(tmp_path / "surgery.caffemodel")
    net.save(weights)
    for again in (caffe.Net(write("ip2.prototxt", IP_NET), weights, caffe.TEST),
                  caffe.Net(write("ip3.prototxt", IP_NET), caffe.TEST, weights=weights)):
        np.testing.assert_array_equal(again.params["ip"][0].data, W)
        np.testing.assert_array_equal(again.params["ip"][1].data, B)
    fresh = caffe.Net(write("ip4.prototxt", IP_NET), caffe.TEST)
    fresh.copy_from(weights)
    np.testing.assert_array_equal(fresh.params["ip"][0].data, W)


def loss_at(net, x, target):
    return float(net.forward(data=x, target=target)["loss"])


def test_backward_matches_finite_differences(write):
    net = caffe.Net(write("loss.prototxt", LOSS_NET), caffe.TRAIN)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(2, 2, 4, 4)).astype(np.float32)
    target = rng.uniform(-1, 1, size=(2, 3)).astype(np.float32)
    loss_at(net, x, target)
    diffs = net.backward(diffs=["conv"])
    assert set(diffs) == {"data", "target", "conv"}
    analytic = diffs["data"].copy()
    weight_grad = net.params["ip"][0].diff.copy()
    h = 1e-2
    for index in [(0, 0, 0, 0), (0, 1, 2, 3), (1, 0, 3, 1), (1, 1, 1, 1)]:
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        numeric = (loss_at(net, plus, target) - loss_at(net, minus, target)) / (2 * h)
        assert analytic[index] == pytest.approx(numeric, rel=2e-2, abs=2e-4), index
    w = net.params["ip"][0].data
    for index in [(0, 0), (2, 11)]:
        saved = w[index]
        w[index] = saved + h
        plus = loss_at(net, x, target)
        w[index] = saved - h
        minus = loss_at(net, x, target)
        w[index] = saved
        assert weight_grad[index] == pytest.approx((plus - minus) / (2 * h), rel=2e-2, abs=2e-4), index


def test_forward_and_backward_ranges(write):
    net = caffe.Net(write("loss.prototxt", LOSS_NET), caffe.TRAIN)
    net.blobs["data"].data[...] = 0.5
    out = net.forward(end="tanh")
    assert set(out) == {"conv"}
    conv = out["conv"].copy()
    assert np.all(np.abs(conv) <= 1), "tanh ran"
    net.blobs["ip"].data[...] = 0
    net.forward(start="ip", end="ip")
    expected = conv.reshape(2, -1) @ net.params["ip"][0].data.T + net.params["ip"][1].data
    np.testing.assert_allclose(net.blobs["ip"].data, expected, rtol=1e-5, atol=1e-6)
    net.blobs["ip"].diff[...] = 1
    grads = net.backward(start="ip", end="ip")
    assert set(grads) == {"conv"}
    np.testing.assert_allclose(grads["conv"].reshape(2, -1), np.ones((2, 3)) @ net.params["ip"][0].data, rtol=1e-5, atol=1e-6)


def test_forward_all_pads_the_last_batch(write):
    net = ip_net(write)
    xs = np.arange(15, dtype=np.float32).reshape(5, 3) / 10 - 0.4
    out = net.forward_all(data=xs)
    assert out["ip"].shape == (5, 2)
    np.testing.assert_allclose(out["ip"], np.maximum(xs @ W.T + B, 0), rtol=1e-6)
    outs, grads = net.forward_backward_all(data=xs, ip=np.ones((5, 2), dtype=np.float32))
    assert outs["ip"].shape == (5, 2) and grads["data"].shape == (5, 3)


def test_reshape_an_input(write):
    net = ip_net(write)
    net.blobs["data"].reshape(4, 3)
    net.reshape()
    assert net.blobs["ip"].shape == (4, 2)
    out = net.forward(data=np.ones((4, 3), dtype=np.float32))
    np.testing.assert_allclose(out["ip"], np.maximum(np.ones((4, 3)) @ W.T + B, 0)[:4], rtol=1e-6)


def test_share_with(write):
    train = caffe.Net(write("loss.prototxt", LOSS_NET), caffe.TRAIN)
    test = caffe.Net(write("loss2.prototxt", LOSS_NET), caffe.TEST)
    test.share_with(train)
    train.params["ip"][0].data[...] = 3
    assert np.all(test.params["ip"][0].data == 3)


def test_misuse_raises_what_pycaffe_raises(write):
    net = ip_net(write)
    with pytest.raises(KeyError):
        net.blobs["nope"]
    with pytest.raises(Exception, match="Input blob arguments do not match net inputs."):
        net.forward(image=X)
    with pytest.raises(Exception, match="Input is not batch sized"):
        net.forward(data=np.zeros((3, 3), dtype=np.float32))
    with pytest.raises(ValueError):
        net.blobs["data"].data[...] = np.zeros((2, 4))
    with pytest.raises(ValueError):
        net.forward(start="no_such_layer")
    with pytest.raises(Exception, match="Top diff arguments do not match net outputs."):
        net.backward(loss=np.zeros(1))
    with pytest.raises(RuntimeError, match="missing.prototxt: error: no such file"):
        caffe.Net("missing.prototxt", caffe.TEST)
    with pytest.raises(RuntimeError, match="missing.caffemodel"):
        caffe.Net(write("ip5.prototxt", IP_NET), "missing.caffemodel", caffe.TEST)
    with pytest.raises(TypeError):
        caffe.Net(write("ip6.prototxt", IP_NET), 7)
    with pytest.raises(caffe.CaffeError, match="cannot reshape a blob to 2×-1"):
        net.blobs["data"].reshape(2, -1)
    bad = write("bad.prototxt", 'layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 } } }\nlayer { nam: "y" }\n')
    with pytest.raises(RuntimeError, match=r"bad.prototxt:2:9: error: unknown field 'nam'"):
        caffe.Net(bad, caffe.TEST)


def test_gpu_mode_warns_and_stays_on_cpu():
    caffe.set_mode_cpu()
    with pytest.warns(RuntimeWarning, match="CPU only"):
        caffe.set_mode_gpu()
    caffe.set_device(0)


MEMORY_NET = """
layer { name: "mem" type: "MemoryData" top: "data" top: "label"
        memory_data_param { batch_size: 2 channels: 1 height: 1 width: 3 } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }
"""


def test_set_input_arrays_feeds_memory_data(write):
    net = caffe.Net(write("mem.prototxt", MEMORY_NET), caffe.TEST)
    data = np.arange(12, dtype=np.float32).reshape(4, 1, 1, 3)
    net.set_input_arrays(data, np.array([0, 1, 2, 3], dtype=np.float32))
    net.forward()
    np.testing.assert_array_equal(net.blobs["data"].data, data[:2])
    np.testing.assert_array_equal(net.blobs["label"].data, [0, 1])
    net.forward()
    np.testing.assert_array_equal(net.blobs["label"].data, [2, 3], "then the next batch")
    with pytest.raises(RuntimeError, match="first dimensions of input arrays must be a multiple of batch size"):
        net.set_input_arrays(data[:3], np.zeros(3))
    with pytest.raises(RuntimeError, match="data array has wrong number of width"):
        net.set_input_arrays(np.zeros((2, 1, 1, 4)), np.zeros(2))
    with pytest.raises(RuntimeError, match="set_input_arrays may only be called if the first layer is a MemoryDataLayer"):
        ip_net(write).set_input_arrays(data, np.zeros(4))


def test_seed_layer_list_and_layer_dict(write):
    text = """
        layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 } } }
        layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
                inner_product_param { num_output: 4 weight_filler { type: "gaussian" std: 1 } } }
        """
    path = write("seeded.prototxt", text)
    caffe.set_random_seed(5)
    a = caffe.Net(path, caffe.TEST).params["ip"][0].data.copy()
    b = caffe.Net(path, caffe.TEST).params["ip"][0].data.copy()
    caffe.set_random_seed(6)
    c = caffe.Net(path, caffe.TEST).params["ip"][0].data.copy()
    caffe.set_random_seed(1701)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    types = caffe.layer_type_list()
    assert "Convolution" in types and "HDF5Data" in types and types == sorted(types)
    net = caffe.Net(path, caffe.TEST)
    assert list(net.layer_dict) == ["data", "ip"] and net.layer_dict["ip"].type == "InnerProduct"
