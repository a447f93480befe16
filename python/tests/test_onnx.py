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


def last_values(model, net, blob_names):
    """The ONNX value holding each Caffe blob after the whole graph: the blob's
    name, or "blob/layer" written later by a layer working in place."""
    writers = {}
    for layer, tops in net.top_names.items():
        for t in tops:
            writers.setdefault(t, set()).add(layer)
    last = {}
    for node in model.graph.node:
        for out in node.output:
            for b in blob_names:
                if out == b or out.startswith(b + "/") and out[len(b) + 1:] in writers.get(b, ()):
                    last[b] = out
    return last


def compare(net, path, tolerance=1e-4, seed=1):
    """Runs the net and its export on one seeded input; every blob agrees."""
    model = onnx.load(path)
    onnx.checker.check_model(model)
    rng = np.random.default_rng(seed)
    feeds = {}
    for name in net.inputs:
        feeds[name] = rng.uniform(-1, 1, net.blobs[name].data.shape).astype(np.float32)
    net.forward(**feeds)
    values = last_values(model, net, [b for b in net.blobs if b not in net.inputs])
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
    # ReLU leaves many zeros: ties, which Caffe gives to the larger index.
    "argmax": ((2, 5, 3, 4), 'layer { name: "r" type: "ReLU" bottom: "data" top: "r" }\n'
               'layer { name: "a" type: "ArgMax" bottom: "r" top: "a" argmax_param { axis: 1 top_k: 4 } }\n'
               'layer { name: "b" type: "ArgMax" bottom: "r" top: "b" argmax_param { axis: -1 top_k: 2 out_max_val: true } }\n'
               'layer { name: "c" type: "ArgMax" bottom: "r" top: "c" argmax_param { top_k: 7 out_max_val: true } }\n'
               'layer { name: "d" type: "ArgMax" bottom: "data" top: "d" }'),
    "interp_crop": ((1, 2, 6, 7), 'layer { name: "i" type: "Interp" bottom: "data" top: "i" interp_param { zoom_factor: 2 pad_beg: -1 pad_end: -2 } }\n'
                    'layer { name: "j" type: "Interp" bottom: "data" top: "j" interp_param { height: 5 width: 9 pad_end: -1 } }'),
    # SegNet: pooling masks, and unpooling by them (an overlapping pool names some positions twice).
    "unpool": ((2, 3, 6, 7), 'layer { name: "p" type: "Pooling" bottom: "data" top: "p" top: "m" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n'
               'layer { name: "u" type: "Upsample" bottom: "p" bottom: "m" top: "u" upsample_param { upsample_h: 6 upsample_w: 7 } }\n'
               'layer { name: "q" type: "Pooling" bottom: "data" top: "q" top: "n" pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 } }\n'
               'layer { name: "v" type: "Upsample" bottom: "q" bottom: "n" top: "v" upsample_param { upsample_h: 6 upsample_w: 7 } }'),
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
    ssd = caffe.Net(os.path.join(ROOT, "Models", "mobilenet_ssd", "deploy.prototxt"), caffe.TEST)
    with pytest.raises(caffe.CaffeError, match=r"layer 'detection_out' \(DetectionOutput\): DetectionOutput's NMS is exported "
                                               r"only with --allow-approximate \(DetectionOutput: boxes are decoded in float"):
        ssd.to_onnx(str(tmp_path / "ssd.onnx"))
    with pytest.raises(caffe.CaffeError, match=r"layer 'detection_out' \(DetectionOutput\): DetectionOutput is exported with a fixed batch only"):
        ssd.to_onnx(str(tmp_path / "ssd.onnx"), allow_approximate=True, dynamic_batch=True)
    assert "--opset must be 13 to 21, found 11" in refusal('layer { name: "r" type: "ReLU" bottom: "data" top: "r" }', opset=11)
    assert "layer 'h' (HDF5Output): HDF5Output writes its bottoms to a file, which an ONNX model cannot do" in refusal(
        'layer { name: "h" type: "HDF5Output" bottom: "data" bottom: "data" hdf5_output_param { file_name: "%s" } }' % (tmp_path / "out.h5"))
    assert not os.path.exists(str(tmp_path / "bad.onnx")), "nothing written"


@pytest.mark.parametrize("case", ["tile_reduction", "mvn", "normalize", "interp_upsample"])
def test_opset_18_reduce_and_resize_forms(write, tmp_path, case):
    shape, layers = LAYERS[case]
    net, path = export(write, tmp_path, net_text(shape, layers), opset=18)
    compare(net, path, tolerance=1e-5)


@pytest.mark.parametrize("case", ["interp_upsample", "interp_crop", "unpool"])
def test_resize_and_unpool_with_a_free_batch(write, tmp_path, case):
    shape, layers = LAYERS[case]
    net, path = export(write, tmp_path, net_text(shape, layers), dynamic_batch=True)
    net.blobs["data"].reshape(3, *shape[1:])
    net.reshape()
    compare(net, path, tolerance=1e-5)


def test_fold_batchnorm_leaves_one_conv_per_chain(write, tmp_path):
    layers = ('layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }\n'
              'layer { name: "bn" type: "BatchNorm" bottom: "c" top: "c" batch_norm_param { eps: 0.001 } }\n'
              'layer { name: "sc" type: "Scale" bottom: "c" top: "c" scale_param { bias_term: true } }\n'
              'layer { name: "r" type: "ReLU" bottom: "c" top: "c" }\n'
              # Depthwise, no bias of its own, BatchNorm out of place.
              'layer { name: "dw" type: "ConvolutionDepthwise" bottom: "c" top: "dw" convolution_param { num_output: 4 kernel_size: 3 bias_term: false } }\n'
              'layer { name: "bn2" type: "BatchNorm" bottom: "dw" top: "dw_bn" }\n'
              'layer { name: "sc2" type: "Scale" bottom: "dw_bn" top: "dw_bn" }\n'
              # A conv whose top another layer also reads is not folded.
              'layer { name: "e" type: "Convolution" bottom: "dw_bn" top: "e" convolution_param { num_output: 4 kernel_size: 1 } }\n'
              'layer { name: "bn3" type: "BatchNorm" bottom: "e" top: "e_bn" }\n'
              'layer { name: "s" type: "Eltwise" bottom: "e" bottom: "e_bn" top: "s" }')
    net, path = export(write, tmp_path, net_text((2, 3, 6, 6), layers), fold_batchnorm=True)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ops == ["Conv", "Relu", "Conv", "Conv", "BatchNormalization", "Sum"], ops
    model = onnx.load(path)
    outputs = {o for n in model.graph.node for o in n.output}
    assert "dw_bn/sc2" in outputs and "dw" not in outputs, "the folded conv writes the Scale's value"
    compare(net, path, tolerance=1e-5)


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet50"])
def test_zoo_nets_fold_to_convolutions(name, tmp_path):
    deploy = os.path.join(ROOT, "Models", name, "deploy.prototxt")
    if not os.path.exists(deploy):
        pytest.skip("no %s in Models/" % name)
    net = caffe.Net(deploy, caffe.TEST)
    seeded_weights(net)
    path = str(tmp_path / "net.onnx")
    net.to_onnx(path, fold_batchnorm=True)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert "BatchNormalization" not in ops and ops.count("Conv") == sum(1 for l in net.layers if "Convolution" in l.type)
    compare(net, path)


def detection_inputs(rng, images, priors, classes, peaked=True, variance_in_target=False):
    """Priors on a grid inside the image with SSD's variances, small offsets,
    and softmaxed scores (peaked: some over the threshold)."""
    centres = rng.uniform(0.15, 0.85, (priors, 2))
    sizes = rng.uniform(0.1, 0.3, (priors, 2))
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    variances = np.tile([0.1, 0.1, 0.2, 0.2], (priors, 1))
    prior = np.stack([boxes.ravel(), variances.ravel()])[None].astype(np.float32)
    loc = rng.normal(0, 1 if not variance_in_target else 0.1, (images, priors * 4)).astype(np.float32)
    logits = rng.normal(0, 3 if peaked else 0.01, (images, priors, classes))
    conf = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    return {"loc": loc, "conf": conf.reshape(images, -1).astype(np.float32), "prior": prior}


DETECTION = {
    "keep_top_k": (2, 'num_classes: 4 code_type: CENTER_SIZE nms_param { nms_threshold: 0.45 top_k: 30 } keep_top_k: 12 '
                      'confidence_threshold: 0.3', True),
    "no_top_k": (1, 'num_classes: 3 code_type: CENTER_SIZE background_label_id: 2 nms_param { nms_threshold: 0.3 } confidence_threshold: 0.5', True),
    # The fork's default code type: large offsets invert some boxes, which then overlap nothing.
    "corner_inverted": (2, 'num_classes: 3 nms_param { nms_threshold: 0.5 top_k: 10 } keep_top_k: 5 confidence_threshold: 0.2', True),
    "corner_size_variance_in_target": (1, 'num_classes: 3 code_type: CORNER_SIZE variance_encoded_in_target: true '
                                          'nms_param { nms_threshold: 0.4 top_k: 50 } confidence_threshold: 0.3', True),
    "nothing_found": (2, 'num_classes: 4 code_type: CENTER_SIZE nms_param { nms_threshold: 0.45 top_k: 30 } keep_top_k: 12 '
                         'confidence_threshold: 0.9', False),
}


@pytest.mark.parametrize("case", sorted(DETECTION))
def test_detection_output_approximation_matches_on_every_row(write, tmp_path, case):
    images, param, peaked = DETECTION[case]
    priors, classes = 60, int(param.split()[1])
    text = ('layer { name: "in" type: "Input" top: "loc" top: "conf" top: "prior" input_param { shape { dim: %d dim: %d } '
            'shape { dim: %d dim: %d } shape { dim: 1 dim: 2 dim: %d } } }\n'
            'layer { name: "det" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "det" '
            'detection_output_param { %s } }') % (images, priors * 4, images, priors * classes, priors * 4, param)
    net = caffe.Net(write("det.prototxt", text), caffe.TEST)
    path = str(tmp_path / "det.onnx")
    net.to_onnx(path, allow_approximate=True)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    assert model.graph.output[0].type.tensor_type.shape.dim[2].dim_param == "detections"
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for seed in range(3):
        feeds = detection_inputs(np.random.default_rng(seed), images, priors, classes, peaked, "variance_encoded_in_target" in param)
        want = net.forward(**feeds)["det"].copy()
        got = session.run(None, feeds)[0]
        assert got.shape == want.shape, (seed, got.shape, want.shape)
        assert np.max(np.abs(got - want)) <= 1e-5, seed
        if peaked:
            assert want.shape[2] > 1 and np.all(want[0, 0, :, 1] >= 0), "detections were found"
            if "keep_top_k: 12" in param:
                assert np.all(np.bincount(want[0, 0, :, 0].astype(int)) <= 12)
        else:
            assert np.array_equal(want[0, 0, :, 0], np.arange(images)) and np.all(want[0, 0, :, 1:] == -1)


def test_mobilenet_ssd_exports_whole_with_allow_approximate(tmp_path):
    net = caffe.Net(os.path.join(ROOT, "Models", "mobilenet_ssd", "deploy.prototxt"), caffe.TEST)
    seeded_weights(net)
    path = str(tmp_path / "ssd.onnx")
    net.to_onnx(path, allow_approximate=True)
    x = np.random.default_rng(3).uniform(-1, 1, net.blobs["data"].data.shape).astype(np.float32)
    want = net.forward(data=x)["detection_out"].copy()
    got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"data": x})[0]
    assert got.shape == want.shape and np.max(np.abs(got - want)) <= 1e-4


def run_cli(*args, python=None):
    import subprocess
    import sys
    binary = os.path.join(ROOT, ".build", "release", "swiftcaffe")
    if not os.path.exists(binary):
        pytest.skip("no release build of the swiftcaffe command")
    env = dict(os.environ, SWIFTCAFFE_PYTHON=python or sys.executable)
    return subprocess.run([binary, *args], capture_output=True, text=True, env=env)


def test_cli_check_runs_onnxruntime_and_prints_each_output(tmp_path):
    out = str(tmp_path / "ssd.onnx")
    deploy = os.path.join(ROOT, "Models", "mobilenet_ssd", "deploy.prototxt")
    r = run_cli("export-onnx", deploy, "-o", out, "--allow-approximate", "--fold-batchnorm", "--check")
    assert r.returncode == 0, r.stderr
    assert "approximated: DetectionOutput: boxes are decoded in float" in r.stdout
    assert "detection_out: max |SwiftCaffe − onnxruntime| = " in r.stdout
    assert "check passed: every output within 1e-4 relative" in r.stdout
    ops = {n.op_type for n in onnx.load(out).graph.node}
    assert "NonMaxSuppression" in ops and "BatchNormalization" not in ops
    refused = run_cli("export-onnx", deploy, "-o", str(tmp_path / "refused.onnx"))
    assert refused.returncode != 0 and "only with --allow-approximate" in refused.stderr
    assert not os.path.exists(str(tmp_path / "refused.onnx"))


def test_cli_check_says_how_to_get_onnxruntime(tmp_path, write):
    python = write("python-without-onnxruntime", "#!/bin/sh\nexit 3\n")
    os.chmod(python, 0o755)
    lenet = os.path.join(ROOT, "Models", "lenet", "deploy.prototxt")
    r = run_cli("export-onnx", lenet, "-o", str(tmp_path / "lenet.onnx"), "--check", python=python)
    assert r.returncode != 0
    assert "--check needs onnxruntime and numpy in %s: pip install onnxruntime numpy" % python in r.stderr
