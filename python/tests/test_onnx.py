"""export-onnx, checked by onnxruntime blob by blob: every Models/ deploy
net with seeded weights, and a net per mapping with its corner cases."""
import glob
import os

import numpy as np
import pytest

import swiftcaffe as caffe
from conftest import ROOT

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def seeded_weights(net, seed=0):
    """Weights that keep activations in range through deep nets: He-scaled
    filters, BatchNorm statistics of a unit-variance input, Scale near 1."""
    rng = np.random.default_rng(seed)
    for name, blobs in net.params.items():
        layer = net.layer_dict[name]
        if layer.type == "BatchNorm":
            c = blobs[0].data.shape[0]
            blobs[0].data[...] = rng.normal(0, 0.1, c)
            blobs[1].data[...] = rng.uniform(0.5, 2, c)
            blobs[2].data[...] = 1
            continue
        for k, b in enumerate(blobs):
            shape = b.data.shape
            if layer.type == "Scale":
                b.data[...] = rng.uniform(0.5, 1.5, shape) if k == 0 else rng.normal(0, 0.1, shape)
            elif k == 0 and len(shape) > 1:
                fan_in = int(np.prod(shape[1:])) if layer.type != "Deconvolution" else int(shape[0] * np.prod(shape[2:]))
                b.data[...] = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
            else:
                b.data[...] = rng.normal(0, 0.1, shape)


def last_values(model, blob_names):
    """The ONNX value holding each Caffe blob after the whole graph: the blob's
    name, or "blob/layer" written later by a layer working in place."""
    last = {}
    for node in model.graph.node:
        for out in node.output:
            for b in blob_names:
                if out == b or out.startswith(b + "/"):
                    last[b] = out
    return {b: v for b, v in last.items() if v == b or "/" in v and v.split("/", 1)[0] == b}


def compare(net, path, tolerance=1e-4, seed=1):
    """Runs the net and its export on one seeded input; every blob agrees."""
    model = onnx.load(path)
    onnx.checker.check_model(model)
    rng = np.random.default_rng(seed)
    feeds = {}
    for name in net.inputs:
        feeds[name] = rng.uniform(-1, 1, net.blobs[name].data.shape).astype(np.float32)
    net.forward(**feeds)
    values = last_values(model, [b for b in net.blobs if b not in net.inputs])
    inferred = onnx.shape_inference.infer_shapes(model)
    typed = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    existing = {o.name for o in model.graph.output}
    for v in sorted(set(values.values()) - existing):
        model.graph.output.append(typed[v] if v in typed else onnx.helper.make_tensor_value_info(v, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    results = dict(zip(names, session.run(None, feeds)))
    worst = {}
    for blob, value in values.items():
        want = net.blobs[blob].data.astype(np.float64)
        got = results[value].astype(np.float64).reshape(want.shape)
        assert np.all(np.isfinite(want)), blob
        scale = max(np.max(np.abs(want)), 1e-6)
        worst[blob] = float(np.max(np.abs(got - want)) / scale)
        assert worst[blob] <= tolerance, (blob, worst[blob])
    return worst


ZOO = sorted(glob.glob(os.path.join(ROOT, "Models", "*", "deploy.prototxt")))


def without_detection_output(deploy, tmp_path):
    """The deploy net up to DetectionOutput (whose NMS ONNX cannot express):
    loc, conf and priors become the outputs, as the refusal advises."""
    from google.protobuf import text_format
    from swiftcaffe.proto import caffe_pb2
    net = text_format.Parse(open(deploy).read(), caffe_pb2.NetParameter())
    kept = [l for l in net.layer if l.type != "DetectionOutput"]
    if len(kept) == len(net.layer):
        return deploy
    del net.layer[:]
    net.layer.extend(kept)
    path = str(tmp_path / "deploy_heads.prototxt")
    open(path, "w").write(text_format.MessageToString(net))
    return path


@pytest.mark.parametrize("deploy", ZOO, ids=[os.path.basename(os.path.dirname(p)) for p in ZOO])
def test_zoo_deploy_nets_match_onnxruntime_blob_by_blob(deploy, tmp_path):
    net = caffe.Net(without_detection_output(deploy, tmp_path), caffe.TEST)
    try:
        path = str(tmp_path / "net.onnx")
        net.to_onnx(path)
    except caffe.CaffeError as e:
        pytest.skip("not exported yet: %s" % str(e).splitlines()[0])
    seeded_weights(net)
    net.to_onnx(path)
    worst = compare(net, path)
    assert worst, "no blob compared"


def export(write, tmp_path, text, seed=0, **kw):
    net = caffe.Net(write("layer.prototxt", text), caffe.TEST)
    seeded_weights(net, seed)
    path = str(tmp_path / "layer.onnx")
    net.to_onnx(path, **kw)
    return net, path


def net_text(shape, layers):
    dims = " ".join("dim: %d" % d for d in shape)
    return 'layer { name: "data" type: "Input" top: "data" input_param { shape { %s } } }\n%s' % (dims, layers)


POOLING = [
    # Caffe rounds up: 6 → 3 windows of 3/2 reach one past the input.
    ("pool: MAX kernel_size: 3 stride: 2", (1, 2, 6, 6)),
    ("pool: AVE kernel_size: 3 stride: 2", (1, 2, 6, 6)),
    # Padding, and the last window dropped when it starts in the padding.
    ("pool: AVE kernel_size: 2 stride: 2 pad: 1", (1, 2, 5, 5)),
    ("pool: AVE kernel_size: 3 stride: 2 pad: 1", (1, 2, 7, 8)),
    ("pool: MAX kernel_size: 3 stride: 3 pad: 1", (1, 2, 7, 7)),
    ("pool: AVE kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 1", (1, 2, 6, 5)),
    ("pool: MAX global_pooling: true", (2, 3, 5, 4)),
    ("pool: AVE global_pooling: true", (2, 3, 5, 4)),
    ("pool: AVE kernel_size: 3 stride: 2 round_mode: FLOOR", (1, 2, 6, 6)),
]


@pytest.mark.parametrize("param,shape", POOLING, ids=[p for p, _ in POOLING])
def test_pooling_rounding_and_padding(write, tmp_path, param, shape):
    net, path = export(write, tmp_path, net_text(shape, 'layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { %s } }' % param))
    compare(net, path, tolerance=1e-5)


LAYERS = {
    "conv_groups_dilation": ((1, 4, 9, 9), 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param '
                             '{ num_output: 6 kernel_size: 3 group: 2 dilation: 2 pad: 1 stride: 2 } }'),
    "conv_rectangular": ((1, 3, 7, 8), 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param '
                         '{ num_output: 2 kernel_h: 3 kernel_w: 1 pad_h: 1 pad_w: 0 bias_term: false } }'),
    "depthwise": ((1, 4, 6, 6), 'layer { name: "c" type: "ConvolutionDepthwise" bottom: "data" top: "c" convolution_param '
                  '{ num_output: 4 kernel_size: 3 pad: 1 } }'),
    "deconvolution": ((1, 3, 4, 5), 'layer { name: "d" type: "Deconvolution" bottom: "data" top: "d" convolution_param '
                      '{ num_output: 4 kernel_size: 4 stride: 2 pad: 1 } }'),
    "lrn_across": ((1, 7, 3, 3), 'layer { name: "n" type: "LRN" bottom: "data" top: "n" lrn_param { local_size: 5 alpha: 0.5 beta: 0.75 k: 2 } }'),
    "inner_product": ((2, 3, 2, 2), 'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 5 } }'),
    "inner_product_transposed": ((2, 6), 'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
                                 'inner_product_param { num_output: 3 transpose: true } }'),
    "batchnorm_scale_inplace": ((2, 3, 4, 4), 'layer { name: "bn" type: "BatchNorm" bottom: "data" top: "data" batch_norm_param { eps: 0.001 } }\n'
                                'layer { name: "sc" type: "Scale" bottom: "data" top: "data" scale_param { bias_term: true } }\n'
                                'layer { name: "r" type: "ReLU" bottom: "data" top: "data" }'),
    "eltwise": ((2, 3), 'layer { name: "s" type: "Eltwise" bottom: "data" bottom: "data" top: "s" eltwise_param { coeff: 2 coeff: -0.5 } }\n'
                'layer { name: "p" type: "Eltwise" bottom: "s" bottom: "data" bottom: "s" top: "p" eltwise_param { operation: PROD } }\n'
                'layer { name: "m" type: "Eltwise" bottom: "p" bottom: "data" top: "m" eltwise_param { operation: MAX } }'),
    "concat_softmax_axis": ((2, 3, 4), 'layer { name: "c" type: "Concat" bottom: "data" bottom: "data" top: "c" concat_param { axis: 2 } }\n'
                            'layer { name: "s" type: "Softmax" bottom: "c" top: "s" softmax_param { axis: 2 } }'),
    "neurons": ((2, 5), 'layer { name: "a" type: "ReLU" bottom: "data" top: "a" relu_param { negative_slope: 0.1 } }\n'
                'layer { name: "b" type: "Sigmoid" bottom: "a" top: "b" }\nlayer { name: "c" type: "TanH" bottom: "a" top: "c" }\n'
                'layer { name: "d" type: "AbsVal" bottom: "a" top: "d" }\nlayer { name: "e" type: "BNLL" bottom: "a" top: "e" }\n'
                'layer { name: "f" type: "ELU" bottom: "a" top: "f" elu_param { alpha: 0.5 } }\n'
                'layer { name: "g" type: "Power" bottom: "d" top: "g" power_param { power: 2 scale: 0.5 shift: 1 } }\n'
                'layer { name: "h" type: "ReLU6" bottom: "data" top: "h" }\n'
                'layer { name: "i" type: "Clip" bottom: "data" top: "i" clip_param { min: -0.3 max: 0.2 } }'),
    "prelu": ((2, 3, 2, 2), 'layer { name: "p" type: "PReLU" bottom: "data" top: "p" }\n'
              'layer { name: "q" type: "PReLU" bottom: "p" top: "q" prelu_param { channel_shared: true } }'),
    "flatten_reshape_dropout": ((2, 3, 2, 2), 'layer { name: "f" type: "Flatten" bottom: "data" top: "f" }\n'
                                'layer { name: "d" type: "Dropout" bottom: "f" top: "f" }\n'
                                'layer { name: "r" type: "Reshape" bottom: "f" top: "r" reshape_param { shape { dim: 0 dim: -1 dim: 2 } } }'),
    "slice": ((2, 6, 3), 'layer { name: "s" type: "Slice" bottom: "data" top: "a" top: "b" top: "c" '
              'slice_param { axis: 1 slice_point: 1 slice_point: 4 } }'),
    "permute": ((2, 3, 4, 5), 'layer { name: "p" type: "Permute" bottom: "data" top: "p" permute_param { order: 0 order: 2 order: 3 order: 1 } }'),
    "shuffle_channel": ((2, 6, 2, 3), 'layer { name: "s" type: "ShuffleChannel" bottom: "data" top: "s" shuffle_channel_param { group: 3 } }'),
    "axpy": ((2, 4, 3, 3), 'layer { name: "a" type: "Pooling" bottom: "data" top: "a" pooling_param { pool: AVE global_pooling: true } }\n'
             'layer { name: "x" type: "Axpy" bottom: "a" bottom: "data" bottom: "data" top: "x" }'),
    "lrn_within": ((1, 3, 6, 5), 'layer { name: "n" type: "LRN" bottom: "data" top: "n" '
                   'lrn_param { local_size: 3 alpha: 0.7 beta: 0.75 norm_region: WITHIN_CHANNEL } }'),
    "inner_product_axis2": ((2, 3, 4), 'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 5 axis: 2 } }'),
    "crop": ((1, 3, 8, 9), 'layer { name: "r" type: "Pooling" bottom: "data" top: "r" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n'
             'layer { name: "c" type: "Crop" bottom: "data" bottom: "r" top: "c" crop_param { axis: 2 offset: 1 offset: 3 } }'),
    "tile_reduction": ((2, 3, 4), 'layer { name: "t" type: "Tile" bottom: "data" top: "t" tile_param { axis: 1 tiles: 2 } }\n'
                       'layer { name: "r1" type: "Reduction" bottom: "t" top: "r1" reduction_param { operation: SUMSQ axis: 1 coeff: 0.5 } }\n'
                       'layer { name: "r2" type: "Reduction" bottom: "t" top: "r2" reduction_param { operation: ASUM axis: 2 } }\n'
                       'layer { name: "r3" type: "Reduction" bottom: "t" top: "r3" reduction_param { operation: MEAN axis: -1 } }\n'
                       'layer { name: "r4" type: "Reduction" bottom: "t" top: "r4" reduction_param { operation: SUM } }'),
    "mvn": ((2, 3, 4, 5), 'layer { name: "m" type: "MVN" bottom: "data" top: "m" }\n'
            'layer { name: "a" type: "MVN" bottom: "data" top: "a" mvn_param { across_channels: true normalize_variance: false } }'),
    "exp_log_threshold_swish": ((2, 5), 'layer { name: "e" type: "Exp" bottom: "data" top: "e" exp_param { base: 2 scale: 0.5 shift: 0.1 } }\n'
                                'layer { name: "l" type: "Log" bottom: "e" top: "l" log_param { base: 10 scale: 2 shift: 0.5 } }\n'
                                'layer { name: "n" type: "Log" bottom: "e" top: "n" }\n'
                                'layer { name: "t" type: "Threshold" bottom: "data" top: "t" threshold_param { threshold: 0.1 } }\n'
                                'layer { name: "s" type: "Swish" bottom: "data" top: "s" swish_param { beta: 1.5 } }'),
    "normalize": ((2, 4, 3, 3), 'layer { name: "n" type: "Normalize" bottom: "data" top: "n" norm_param { across_spatial: false } }\n'
                  'layer { name: "m" type: "Normalize" bottom: "data" top: "m" norm_param { across_spatial: true channel_shared: true } }'),
    "interp_upsample": ((1, 2, 4, 5), 'layer { name: "i" type: "Interp" bottom: "data" top: "i" interp_param { height: 7 width: 9 } }\n'
                        'layer { name: "z" type: "Interp" bottom: "data" top: "z" interp_param { zoom_factor: 3 } }\n'
                        'layer { name: "u" type: "Upsample" bottom: "data" top: "u" upsample_param { scale: 2 } }'),
    "embed": ((2, 3), 'layer { name: "f" type: "Power" bottom: "data" top: "f" power_param { shift: 2 scale: 0 } }\n'
              'layer { name: "e" type: "Embed" bottom: "f" top: "e" embed_param { num_output: 4 input_dim: 5 } }'),
    "scale_bias_axis": ((2, 3, 4), 'layer { name: "s" type: "Scale" bottom: "data" top: "s" scale_param { axis: 1 num_axes: 1 } }\n'
                        'layer { name: "b" type: "Bias" bottom: "s" top: "b" bias_param { axis: 1 num_axes: 2 } }'),
}


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_layer_mappings(write, tmp_path, case):
    shape, layers = LAYERS[case]
    net, path = export(write, tmp_path, net_text(shape, layers))
    compare(net, path, tolerance=1e-5)


def test_dynamic_batch_and_opset(write, tmp_path):
    net, path = export(write, tmp_path, net_text((2, 3, 4, 4), 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
                                                  'convolution_param { num_output: 2 kernel_size: 3 } }\n'
                                                  'layer { name: "f" type: "Flatten" bottom: "c" top: "f" }'), opset=17, dynamic_batch=True)
    model = onnx.load(path)
    assert model.opset_import[0].version == 17
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    assert model.producer_name == "SwiftCaffe" and model.producer_version == caffe.__version__
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(2).uniform(-1, 1, (5, 3, 4, 4)).astype(np.float32)
    assert session.run(None, {"data": x})[0].shape == (5, 8), "another batch size runs"
    first = open(path, "rb").read()
    net.to_onnx(path, opset=17, dynamic_batch=True)
    assert open(path, "rb").read() == first, "the same net gives the same bytes"


def test_refusals_name_the_layer(write, tmp_path):
    def refusal(layers, shape=(1, 3, 4, 4), **kw):
        net = caffe.Net(write("bad.prototxt", net_text(shape, layers)), caffe.TEST)
        with pytest.raises(caffe.CaffeError) as e:
            net.to_onnx(str(tmp_path / "bad.onnx"), **kw)
        return str(e.value)
    assert "layer 'i' (Interp): Interp's pad_beg/pad_end cropping is not exported yet" in refusal(
        'layer { name: "i" type: "Interp" bottom: "data" top: "i" interp_param { zoom_factor: 2 pad_beg: -1 pad_end: -1 } }')
    ssd = caffe.Net(os.path.join(ROOT, "Models", "mobilenet_ssd", "deploy.prototxt"), caffe.TEST)
    with pytest.raises(caffe.CaffeError, match=r"layer 'detection_out' \(DetectionOutput\): DetectionOutput's per-class NMS"):
        ssd.to_onnx(str(tmp_path / "ssd.onnx"))
    assert "--opset must be 13 to 21, found 11" in refusal('layer { name: "r" type: "ReLU" bottom: "data" top: "r" }', opset=11)
    assert "layer 'am' (ArgMax): ArgMax has no ONNX mapping in SwiftCaffe yet" in refusal(
        'layer { name: "am" type: "ArgMax" bottom: "data" top: "am" }')
    assert not os.path.exists(str(tmp_path / "bad.onnx")), "nothing written"


@pytest.mark.parametrize("case", ["tile_reduction", "mvn", "normalize", "interp_upsample"])
def test_opset_18_reduce_and_resize_forms(write, tmp_path, case):
    shape, layers = LAYERS[case]
    net, path = export(write, tmp_path, net_text(shape, layers), opset=18)
    compare(net, path, tolerance=1e-5)
