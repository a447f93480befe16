"""caffe.draw on a NetParameter built with caffe_pb2."""
import shutil

import pytest
from google.protobuf import text_format

import swiftcaffe as caffe
from swiftcaffe.proto import caffe_pb2

NET = """
name: "drawn"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "train_only" type: "ReLU" bottom: "conv1" top: "conv1" include { phase: TRAIN } }
"""


def net():
    return text_format.Parse(NET, caffe_pb2.NetParameter())


def test_draw_dot_by_phase(tmp_path):
    path = str(tmp_path / "net.dot")
    caffe.draw.draw_net_to_file(net(), path, "TB", caffe.TRAIN)
    dot = open(path).read()
    assert dot.startswith("digraph") and "conv1" in dot and "train_only" in dot and "rankdir=TB" in dot
    caffe.draw.draw_net_to_file(net(), path)
    assert "train_only" not in open(path).read(), "phase None draws the TEST phase"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_png_bytes():
    data = caffe.draw.draw_net(net(), "LR", ext="png")
    assert data.startswith(b"\x89PNG")


def test_draw_errors(tmp_path):
    with pytest.raises(caffe.CaffeError, match="rankdir must be LR, TB, RL or BT, found 'XY'"):
        caffe.draw.draw_net_to_file(net(), str(tmp_path / "n.dot"), "XY")
    with pytest.raises(caffe.CaffeError, match="must end in .dot, .gv, .svg, .png or .pdf"):
        caffe.draw.draw_net_to_file(net(), str(tmp_path / "n.jpg"))
