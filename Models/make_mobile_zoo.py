"""Writes the deploy nets of Models/mobilenet_v1, mobilenet_v2, mobilenet_ssd,
shufflenet_v2 and se_resnet50 (python3, no packages): the nets people run
from Caffe forks, in the structure of their Caffe ports.

- MobileNet v1 1.0-224 (Howard et al. 2017) as shicai/MobileNet-Caffe:
  convolutions without bias, each followed by BatchNorm + Scale + ReLU,
  depthwise 3x3 as Convolution with group = channels, 1x1 pointwise, global
  average pooling, fc7 as a 1x1 convolution.
- MobileNet v2 1.0-224 (Sandler et al. 2018) as shicai's port, with ReLU6 as
  in the paper: inverted residual blocks (1x1 expansion, 3x3 depthwise, 1x1
  projection without activation), Eltwise shortcuts where shapes match.
- MobileNet-SSD (chuanqi305/MobileNet-SSD, VOC, 21 classes, 300x300): the
  published deploy net, BatchNorm merged into the convolutions (so with
  biases), six heads on conv11, conv13 and conv14_2..conv17_2 with 3 + 5x6
  priors per cell, 1917 priors in all, PriorBox, Permute, Flatten, Concat,
  Softmax and DetectionOutput.
- ShuffleNet v2 1.0 (Ma et al. 2018) as its Caffe ports: Slice for the
  channel split, ConvolutionDepthwise, ShuffleChannel (group 2).
- SE-ResNet-50 (Hu et al. 2018) as hujie-frank/SENet released it: ResNet-50
  with a squeeze-and-excitation module before each shortcut sum (global
  average pooling, 1x1 convolutions to C/16 and back, Sigmoid, and Axpy:
  excitation x block + shortcut).

Run from the repository root: python3 Models/make_mobile_zoo.py
`reduced_deploy(net, k)` divides hidden channels by k for the OpenCV
fixtures, as make_zoo.py does.
"""
import os

from make_zoo import header, layer

WIDTH = 1


def ch(n):
    return max(1, n // WIDTH)


def data(side, batch=1):
    return layer("data", "Input", [], ["data"], f"input_param {{ shape {{ dim: {batch} dim: 3 dim: {side} dim: {side} }} }}")


def conv(name, bottom, n, k, stride=1, pad=0, group=1, bias=False, type_="Convolution", top=None):
    lines = [f"num_output: {n}", f"kernel_size: {k}"] + ([f"stride: {stride}"] if stride != 1 else []) + ([f"pad: {pad}"] if pad else [])
    lines += ([f"group: {group}"] if group != 1 else []) + ([] if bias else ["bias_term: false"])
    lines += ['weight_filler { type: "msra" }']
    return layer(name, type_, [bottom], [top or name], "convolution_param {\n" + "".join(f"  {x}\n" for x in lines) + "}")


def bn(name, blob, act="ReLU", bn_name=None, scale_name=None):
    s = layer(bn_name or f"{name}/bn", "BatchNorm", [blob], [blob], "batch_norm_param { use_global_stats: true }")
    s += layer(scale_name or f"{name}/scale", "Scale", [blob], [blob], "scale_param { bias_term: true }")
    if act:
        s += layer(f"{name}/{act.lower()}", act, [blob], [blob])
    return s


def conv_bn(name, bottom, n, k, stride=1, pad=0, group=1, act="ReLU", type_="Convolution"):
    return conv(name, bottom, n, k, stride, pad, group, type_=type_) + bn(name, name, act)


def classifier(bottom, n_in, name="fc7"):
    s = layer("pool6", "Pooling", [bottom], ["pool6"], "pooling_param { pool: AVE global_pooling: true }")
    s += conv(name, "pool6", 1000, 1, bias=True)
    return s + layer("prob", "Softmax", [name], ["prob"])


# MobileNet v1: (output channels, stride) of the 13 depthwise-separable pairs.
MOBILENET_V1 = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def mobilenet_v1():
    s = header("""MobileNet v1 1.0-224 (Howard et al., "MobileNets", 2017) in the structure of
shicai/MobileNet-Caffe's deploy net: 4,231,976 learned values (conv, Scale,
fc7) and 569M multiply-adds, the paper's Table 1 totals. Made by
Models/make_mobile_zoo.py.""", "MobileNet")
    s += data(224)
    s += conv_bn("conv1", "data", ch(32), 3, stride=2, pad=1)
    prev, cin = "conv1", ch(32)
    for i, (n, stride) in enumerate(MOBILENET_V1):
        block = f"conv{i + 2}"
        s += conv_bn(f"{block}/dw", prev, cin, 3, stride=stride, pad=1, group=cin)
        s += conv_bn(f"{block}/sep", f"{block}/dw", ch(n), 1)
        prev, cin = f"{block}/sep", ch(n)
    return s + classifier(prev, cin)


# MobileNet v2: (expansion t, output channels c, repeats n, first stride s), the paper's Table 2.
MOBILENET_V2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenet_v2():
    s = header("""MobileNet v2 1.0-224 (Sandler et al., "MobileNetV2", 2018) in the structure of
shicai/MobileNet-Caffe's v2 deploy net, with the paper's ReLU6: 3,504,872
learned values (conv, Scale, fc7) and 300M multiply-adds. Made by
Models/make_mobile_zoo.py.""", "MobileNetV2")
    s += data(224)
    s += conv_bn("conv1", "data", ch(32), 3, stride=2, pad=1, act="ReLU6")
    prev, cin, k = "conv1", ch(32), 0
    for t, c, n, first_stride in MOBILENET_V2:
        for r in range(n):
            k += 1
            stride = first_stride if r == 0 else 1
            name = f"conv{k + 1}"
            x = prev
            if t != 1:
                s += conv_bn(f"{name}/expand", x, cin * t, 1, act="ReLU6")
                x = f"{name}/expand"
            s += conv_bn(f"{name}/dwise", x, cin * t, 3, stride=stride, pad=1, group=cin * t, act="ReLU6")
            s += conv_bn(f"{name}/linear", f"{name}/dwise", ch(c), 1, act=None)
            out = f"{name}/linear"
            if stride == 1 and cin == ch(c):
                s += layer(f"block_{k}", "Eltwise", [prev, out], [f"block_{k}"])
                out = f"block_{k}"
            prev, cin = out, ch(c)
    s += conv_bn("conv_last", prev, ch(1280), 1, act="ReLU6")
    return s + classifier("conv_last", ch(1280))


# MobileNet-SSD's heads: (feature blob, min_size, max_size or None, extra aspect ratios).
SSD_HEADS = [("conv11", 60, None, [2]), ("conv13", 105, 150, [2, 3]), ("conv14_2", 150, 195, [2, 3]),
             ("conv15_2", 195, 240, [2, 3]), ("conv16_2", 240, 285, [2, 3]), ("conv17_2", 285, 300, [2, 3])]


def mobilenet_ssd():
    s = header("""MobileNet-SSD (chuanqi305/MobileNet-SSD), VOC0712, 21 classes, 300x300: the
published deploy net, whose convolutions carry the merged BatchNorm as
biases. MobileNet v1 to conv13, extra layers conv14..conv17, and SSD heads
(1x1 convolutions for box offsets and class scores) on six maps: 19x19x3 +
(10x10 + 5x5 + 3x3 + 2x2 + 1x1)x6 = 1917 priors. Inputs are BGR pixels
scaled as (x - 127.5) * 0.007843. Made by Models/make_mobile_zoo.py.""", "MobileNet-SSD")
    s += "# swiftcaffe transform_param {\n#   scale: 0.007843\n#   mean_value: 127.5\n#   mean_value: 127.5\n#   mean_value: 127.5\n# }\n"
    s += data(300)

    def cr(name, bottom, n, k, stride=1, pad=0, group=1):
        return conv(name, bottom, n, k, stride, pad, group, bias=True) + layer(f"{name}/relu", "ReLU", [name], [name])

    s += cr("conv0", "data", ch(32), 3, stride=2, pad=1)
    prev, cin = "conv0", ch(32)
    for i, (n, stride) in enumerate(MOBILENET_V1):
        s += cr(f"conv{i + 1}/dw", prev, cin, 3, stride=stride, pad=1, group=cin)
        s += cr(f"conv{i + 1}", f"conv{i + 1}/dw", ch(n), 1)
        prev, cin = f"conv{i + 1}", ch(n)
    for i, (a, b) in enumerate([(256, 512), (128, 256), (128, 256), (64, 128)]):
        k = 14 + i
        s += cr(f"conv{k}_1", prev, ch(a), 1)
        s += cr(f"conv{k}_2", f"conv{k}_1", ch(b), 3, stride=2, pad=1)
        prev = f"conv{k}_2"
    locs, confs, priors = [], [], []
    for feature, lo, hi, ratios in SSD_HEADS:
        per_cell = 1 + (1 if hi else 0) + 2 * len(ratios)
        for kind, n in (("loc", 4 * per_cell), ("conf", 21 * per_cell)):
            head = f"{feature}_mbox_{kind}"
            s += conv(head, feature, n, 1, bias=True)
            s += layer(f"{head}_perm", "Permute", [head], [f"{head}_perm"], "permute_param { order: 0 order: 2 order: 3 order: 1 }")
            s += layer(f"{head}_flat", "Flatten", [f"{head}_perm"], [f"{head}_flat"], "flatten_param { axis: 1 }")
            (locs if kind == "loc" else confs).append(f"{head}_flat")
        body = f"min_size: {lo}\n" + (f"max_size: {hi}\n" if hi else "") + "".join(f"aspect_ratio: {r}\n" for r in ratios)
        body += "flip: true\nclip: false\nvariance: 0.1\nvariance: 0.1\nvariance: 0.2\nvariance: 0.2\noffset: 0.5"
        s += layer(f"{feature}_mbox_priorbox", "PriorBox", [feature, "data"], [f"{feature}_mbox_priorbox"],
                   "prior_box_param {\n" + "".join(f"  {x}\n" for x in body.split("\n")) + "}")
        priors.append(f"{feature}_mbox_priorbox")
    s += layer("mbox_loc", "Concat", locs, ["mbox_loc"], "concat_param { axis: 1 }")
    s += layer("mbox_conf", "Concat", confs, ["mbox_conf"], "concat_param { axis: 1 }")
    s += layer("mbox_priorbox", "Concat", priors, ["mbox_priorbox"], "concat_param { axis: 2 }")
    s += layer("mbox_conf_reshape", "Reshape", ["mbox_conf"], ["mbox_conf_reshape"], "reshape_param { shape { dim: 0 dim: -1 dim: 21 } }")
    s += layer("mbox_conf_softmax", "Softmax", ["mbox_conf_reshape"], ["mbox_conf_softmax"], "softmax_param { axis: 2 }")
    s += layer("mbox_conf_flatten", "Flatten", ["mbox_conf_softmax"], ["mbox_conf_flatten"], "flatten_param { axis: 1 }")
    s += layer("detection_out", "DetectionOutput", ["mbox_loc", "mbox_conf_flatten", "mbox_priorbox"], ["detection_out"], """
detection_output_param {
  num_classes: 21
  share_location: true
  background_label_id: 0
  nms_param { nms_threshold: 0.45 top_k: 100 }
  code_type: CENTER_SIZE
  keep_top_k: 100
  confidence_threshold: 0.25
}""")
    return s


# ShuffleNet v2 1.0: output channels of stages 2-4 and their units.
SHUFFLENET_V2 = [(116, 4), (232, 8), (464, 4)]


def shufflenet_v2():
    s = header("""ShuffleNet v2 1.0 (Ma et al., "ShuffleNet V2", 2018) in the structure of its Caffe
ports: Slice splits the channels, ConvolutionDepthwise (yonghenglh6's type)
runs the 3x3 depthwise convolutions, ShuffleChannel (farmingyard's, group 2)
follows each Concat. 2,278,604 learned values (conv, Scale, fc), as
torchvision's shufflenet_v2_x1_0, and 146M multiply-adds. Made by
Models/make_mobile_zoo.py.""", "ShuffleNetV2")
    s += data(224)
    s += conv_bn("conv1", "data", ch(24), 3, stride=2, pad=1)
    s += layer("pool1", "Pooling", ["conv1"], ["pool1"], "pooling_param { pool: MAX kernel_size: 3 stride: 2 }")
    prev, cin = "pool1", ch(24)
    for stage, (out, units) in enumerate(SHUFFLENET_V2, start=2):
        half = ch(out) // 2
        for u in range(units):
            name = f"stage{stage}_{u + 1}"
            if u == 0:
                s += conv_bn(f"{name}/branch1_dw", prev, cin, 3, stride=2, pad=1, group=cin, act=None, type_="ConvolutionDepthwise")
                s += conv_bn(f"{name}/branch1_pw", f"{name}/branch1_dw", half, 1)
                left, x, stride = f"{name}/branch1_pw", prev, 2
            else:
                s += layer(f"{name}/split", "Slice", [prev], [f"{name}/left", f"{name}/right"], f"slice_param {{ axis: 1 slice_point: {half} }}")
                left, x, stride = f"{name}/left", f"{name}/right", 1
            s += conv_bn(f"{name}/branch2_pw1", x, half, 1)
            s += conv_bn(f"{name}/branch2_dw", f"{name}/branch2_pw1", half, 3, stride=stride, pad=1, group=half, act=None,
                         type_="ConvolutionDepthwise")
            s += conv_bn(f"{name}/branch2_pw2", f"{name}/branch2_dw", half, 1)
            s += layer(f"{name}/concat", "Concat", [left, f"{name}/branch2_pw2"], [f"{name}/concat"])
            s += layer(f"{name}/shuffle", "ShuffleChannel", [f"{name}/concat"], [f"{name}/shuffle"], "shuffle_channel_param { group: 2 }")
            prev, cin = f"{name}/shuffle", ch(out)
    s += conv_bn("conv5", prev, ch(1024), 1)
    s += layer("pool5", "Pooling", ["conv5"], ["pool5"], "pooling_param { pool: AVE global_pooling: true }")
    s += layer("fc", "InnerProduct", ["pool5"], ["fc"], "inner_product_param { num_output: 1000 }")
    return s + layer("prob", "Softmax", ["fc"], ["prob"])


def se_resnet50():
    s = header("""SE-ResNet-50 (Hu, Shen & Sun, "Squeeze-and-Excitation Networks", 2018) as
hujie-frank/SENet released it for Caffe: ResNet-50 (see Models/resnet50)
with, before each shortcut sum, global average pooling, a 1x1 convolution
to C/16 channels, ReLU, a 1x1 convolution back to C and Sigmoid, whose
excitation scales the block's channels in the Axpy layer that also adds the
shortcut (a·x + y, SENet's own layer). 28,088,024 learned values:
ResNet-50's 25,557,032 plus 2,530,992 in the SE modules. Made by
Models/make_mobile_zoo.py.""", "SE-ResNet-50")
    s += data(224)

    def cb(name, bottom, n, k, stride=1, pad=0, act=True):
        return conv(name, bottom, n, k, stride, pad) + bn(name, name, "ReLU" if act else None)

    s += cb("conv1", "data", ch(64), 7, stride=2, pad=3)
    s += layer("pool1", "Pooling", ["conv1"], ["pool1"], "pooling_param { pool: MAX kernel_size: 3 stride: 2 }")
    prev = "pool1"
    for stage, (n, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], start=2):
        for b in range(blocks):
            tag = f"conv{stage}_{b + 1}"
            stride = 2 if (b == 0 and stage > 2) else 1
            if b == 0:
                s += cb(f"{tag}_1x1_proj", prev, ch(4 * n), 1, stride=stride, act=False)
                shortcut = f"{tag}_1x1_proj"
            else:
                shortcut = prev
            s += cb(f"{tag}_1x1_reduce", prev, ch(n), 1, stride=stride)
            s += cb(f"{tag}_3x3", f"{tag}_1x1_reduce", ch(n), 3, pad=1)
            s += cb(f"{tag}_1x1_increase", f"{tag}_3x3", ch(4 * n), 1, act=False)
            c = ch(4 * n)
            s += layer(f"{tag}_global_pool", "Pooling", [f"{tag}_1x1_increase"], [f"{tag}_global_pool"],
                       "pooling_param { pool: AVE global_pooling: true }")
            s += conv(f"{tag}_1x1_down", f"{tag}_global_pool", max(1, c // 16), 1, bias=True)
            s += layer(f"{tag}_1x1_down/relu", "ReLU", [f"{tag}_1x1_down"], [f"{tag}_1x1_down"])
            s += conv(f"{tag}_1x1_up", f"{tag}_1x1_down", c, 1, bias=True)
            s += layer(f"{tag}_prob", "Sigmoid", [f"{tag}_1x1_up"], [f"{tag}_1x1_up"])
            s += layer(tag, "Axpy", [f"{tag}_1x1_up", f"{tag}_1x1_increase", shortcut], [tag])
            s += layer(f"{tag}/relu", "ReLU", [tag], [tag])
            prev = tag
    s += layer("pool5", "Pooling", [prev], ["pool5"], "pooling_param { pool: AVE kernel_size: 7 stride: 1 }")
    s += layer("classifier", "InnerProduct", ["pool5"], ["classifier"], "inner_product_param { num_output: 1000 }")
    return s + layer("prob", "Softmax", ["classifier"], ["prob"])


NETS = {"mobilenet_v1": mobilenet_v1, "mobilenet_v2": mobilenet_v2, "mobilenet_ssd": mobilenet_ssd,
        "shufflenet_v2": shufflenet_v2, "se_resnet50": se_resnet50}


def reduced_deploy(name, width):
    global WIDTH
    WIDTH = width
    try:
        return NETS[name]()
    finally:
        WIDTH = 1


def main():
    for name, build in NETS.items():
        with open(os.path.join("Models", name, "deploy.prototxt"), "w") as f:
            f.write(build())


if __name__ == "__main__":
    main()
