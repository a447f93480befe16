"""Writes the deploy nets of Models/vgg16, Models/squeezenet, Models/nin,
Models/resnet50 and Models/googlenet (python3, no packages). The layer lists follow the published
definitions: VGG-16 (Simonyan & Zisserman 2014, configuration D, the VGG
team's Caffe release), SqueezeNet v1.1 (DeepScale's release), NIN (Lin et
al. 2013, the ImageNet model of the Caffe model zoo) and ResNet-50 (He et al.
2015, the authors' Caffe release: stride 2 on the first 1x1 convolution of a
stage, BatchNorm + Scale after every convolution) and GoogLeNet (Szegedy et
al. 2014, BVLC's Caffe replication). Run from the repository root."""


def layer(name, type_, bottoms, tops, body=""):
    s = f'layer {{\n  name: "{name}"\n  type: "{type_}"\n'
    s += "".join(f'  bottom: "{b}"\n' for b in bottoms)
    s += "".join(f'  top: "{t}"\n' for t in tops)
    if body:
        s += "".join(f"  {line}\n" for line in body.strip().split("\n"))
    return s + "}\n"


def conv(name, bottom, n, k, stride=1, pad=0, filler='weight_filler { type: "xavier" }', top=None):
    extra = (f"\n    stride: {stride}" if stride != 1 else "") + (f"\n    pad: {pad}" if pad else "")
    return layer(name, "Convolution", [bottom], [top or name], f"""
param {{ lr_mult: 1 decay_mult: 1 }}
param {{ lr_mult: 2 decay_mult: 0 }}
convolution_param {{
  num_output: {n}
  kernel_size: {k}{extra}
  {filler}
  bias_filler {{ type: "constant" value: 0 }}
}}""")


def relu(name, blob):
    return layer(name, "ReLU", [blob], [blob])


def pool(name, bottom, kind, k, stride, top=None):
    return layer(name, "Pooling", [bottom], [top or name], f"pooling_param {{ pool: {kind} kernel_size: {k} stride: {stride} }}")


def input_layer(n, c, h, w):
    return layer("data", "Input", [], ["data"], f"input_param {{ shape {{ dim: {n} dim: {c} dim: {h} dim: {w} }} }}")


def vgg16():
    s = """# VGG-16 (configuration D of Simonyan & Zisserman, "Very Deep Convolutional
# Networks for Large-Scale Image Recognition", 2014) as the VGG team released
# it for Caffe: thirteen 3x3 convolutions (pad 1) in five blocks of 64, 128,
# 256, 512, 512 channels, each block ending in 2x2 max pooling, then fc6/fc7
# of 4096 with dropout 0.5 and fc8 of 1000. 224x224 input, BGR, mean subtracted.
name: "VGG_ILSVRC_16_layers"
"""
    s += input_layer(10, 3, 224, 224)
    prev = "data"
    for b, (n, reps) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], start=1):
        for r in range(1, reps + 1):
            name = f"conv{b}_{r}"
            s += conv(name, prev, n, 3, pad=1) + relu(f"relu{b}_{r}", name)
            prev = name
        s += pool(f"pool{b}", prev, "MAX", 2, 2)
        prev = f"pool{b}"
    for name, n in [("fc6", 4096), ("fc7", 4096)]:
        s += layer(name, "InnerProduct", [prev], [name], f"""
param {{ lr_mult: 1 decay_mult: 1 }}
param {{ lr_mult: 2 decay_mult: 0 }}
inner_product_param {{ num_output: {n} weight_filler {{ type: "gaussian" std: 0.005 }} bias_filler {{ type: "constant" value: 0.1 }} }}""")
        s += relu(f"relu{name[2:]}", name) + layer(f"drop{name[2:]}", "Dropout", [name], [name], "dropout_param { dropout_ratio: 0.5 }")
        prev = name
    s += layer("fc8", "InnerProduct", [prev], ["fc8"], """
param { lr_mult: 1 decay_mult: 1 }
param { lr_mult: 2 decay_mult: 0 }
inner_product_param { num_output: 1000 weight_filler { type: "gaussian" std: 0.01 } bias_filler { type: "constant" value: 0 } }""")
    s += layer("prob", "Softmax", ["fc8"], ["prob"])
    return s


def squeezenet():
    s = """# SqueezeNet v1.1 (Iandola et al., "SqueezeNet: AlexNet-level accuracy with
# 50x fewer parameters", 2016; v1.1 as DeepScale released it): a 3x3/2
# convolution of 64, then Fire modules (a 1x1 "squeeze" convolution feeding
# 1x1 and 3x3 "expand" convolutions whose outputs are concatenated), max
# pooling 3/2 after conv1, fire3 and fire5, dropout 0.5, a 1x1 convolution to
# the 1000 classes and global average pooling instead of fully connected layers.
name: "SqueezeNet_v1.1"
"""
    s += input_layer(10, 3, 227, 227)
    s += conv("conv1", "data", 64, 3, stride=2) + relu("relu_conv1", "conv1") + pool("pool1", "conv1", "MAX", 3, 2)
    prev = "pool1"
    for f, (sq, ex) in enumerate([(16, 64), (16, 64), (32, 128), (32, 128), (48, 192), (48, 192), (64, 256), (64, 256)], start=2):
        p = f"fire{f}"
        s += conv(f"{p}/squeeze1x1", prev, sq, 1) + relu(f"{p}/relu_squeeze1x1", f"{p}/squeeze1x1")
        s += conv(f"{p}/expand1x1", f"{p}/squeeze1x1", ex, 1) + relu(f"{p}/relu_expand1x1", f"{p}/expand1x1")
        s += conv(f"{p}/expand3x3", f"{p}/squeeze1x1", ex, 3, pad=1) + relu(f"{p}/relu_expand3x3", f"{p}/expand3x3")
        s += layer(f"{p}/concat", "Concat", [f"{p}/expand1x1", f"{p}/expand3x3"], [f"{p}/concat"])
        prev = f"{p}/concat"
        if f in (3, 5):
            s += pool(f"pool{f}", prev, "MAX", 3, 2)
            prev = f"pool{f}"
    s += layer("drop9", "Dropout", [prev], [prev], "dropout_param { dropout_ratio: 0.5 }")
    s += conv("conv10", prev, 1000, 1, filler='weight_filler { type: "gaussian" mean: 0.0 std: 0.01 }') + relu("relu_conv10", "conv10")
    s += layer("pool10", "Pooling", ["conv10"], ["pool10"], "pooling_param { pool: AVE global_pooling: true }")
    s += layer("prob", "Softmax", ["pool10"], ["prob"])
    return s


def nin():
    s = """# Network in Network (Lin, Chen & Yan, "Network In Network", 2013), the
# ImageNet model of the Caffe model zoo: four mlpconv blocks (a spatial
# convolution followed by two 1x1 "cccp" convolutions, each with ReLU), max
# pooling 3/2 between them, dropout 0.5, and global average pooling of the
# last 1x1 convolution's 1000 maps instead of fully connected layers.
name: "NIN_ImageNet"
"""
    s += input_layer(10, 3, 224, 224)
    blocks = [("conv1", 96, 11, 4, 0, ["cccp1", "cccp2"], "pool0"),
              ("conv2", 256, 5, 1, 2, ["cccp3", "cccp4"], "pool2"),
              ("conv3", 384, 3, 1, 1, ["cccp5", "cccp6"], "pool3"),
              ("conv4-1024", 1024, 3, 1, 1, ["cccp7-1024", "cccp8-1024"], None)]
    prev, r = "data", 0
    for name, n, k, stride, pad, cccps, pool_name in blocks:
        s += conv(name, prev, n, k, stride=stride, pad=pad, filler='weight_filler { type: "gaussian" mean: 0 std: 0.01 }')
        s += relu(f"relu{r}", name); r += 1
        prev = name
        for j, c in enumerate(cccps):
            outputs = 1000 if c == "cccp8-1024" else n
            s += conv(c, prev, outputs, 1, filler='weight_filler { type: "gaussian" mean: 0 std: 0.05 }') + relu(f"relu{r}", c); r += 1
            prev = c
        if pool_name:
            s += pool(pool_name, prev, "MAX", 3, 2)
            prev = pool_name
            if pool_name == "pool3":
                s += layer("drop", "Dropout", [prev], [prev], "dropout_param { dropout_ratio: 0.5 }")
    s += layer("pool4", "Pooling", [prev], ["pool4"], "pooling_param { pool: AVE kernel_size: 6 stride: 1 }")
    s += layer("prob", "Softmax", ["pool4"], ["prob"])
    return s


def bn_conv(name, bottom, n, k, stride=1, pad=0, relu_after=True):
    """A convolution without bias, then BatchNorm (global statistics) and Scale with bias, as in the ResNet release."""
    extra = (f"\n    stride: {stride}" if stride != 1 else "") + (f"\n    pad: {pad}" if pad else "")
    s = layer(name, "Convolution", [bottom], [name], f"""
convolution_param {{
  num_output: {n}
  kernel_size: {k}{extra}
  bias_term: false
  weight_filler {{ type: "msra" }}
}}""")
    suffix = name[3:] if name.startswith("res") else "_" + name
    s += layer(f"bn{suffix}", "BatchNorm", [name], [name], "batch_norm_param { use_global_stats: true }")
    s += layer(f"scale{suffix}", "Scale", [name], [name], "scale_param { bias_term: true }")
    if relu_after:
        s += relu(f"{name}_relu", name)
    return s


def resnet50():
    s = """# ResNet-50 (He, Zhang, Ren & Sun, "Deep Residual Learning for Image
# Recognition", 2015) as the authors released it for Caffe: a 7x7/2
# convolution and 3x3/2 max pooling, then 3, 4, 6 and 3 bottleneck blocks
# (1x1, 3x3, 1x1 with 4x expansion) of 64, 128, 256 and 512 channels, each
# convolution followed by BatchNorm and Scale, identity shortcuts summed by
# Eltwise, projection shortcuts (1x1) where the shape changes, stride 2 on
# the first 1x1 convolution of stages 3-5, 7x7 average pooling and fc1000.
name: "ResNet-50"
"""
    s += input_layer(1, 3, 224, 224)
    s += bn_conv("conv1", "data", 64, 7, stride=2, pad=3)
    s += pool("pool1", "conv1", "MAX", 3, 2)
    prev, channels = "pool1", 64
    for stage, (n, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], start=2):
        for b in range(blocks):
            tag = f"{stage}{chr(ord('a') + b)}"
            stride = 2 if (b == 0 and stage > 2) else 1
            if b == 0:
                s += bn_conv(f"res{tag}_branch1", prev, 4 * n, 1, stride=stride, relu_after=False)
                shortcut = f"res{tag}_branch1"
            else:
                shortcut = prev
            s += bn_conv(f"res{tag}_branch2a", prev, n, 1, stride=stride)
            s += bn_conv(f"res{tag}_branch2b", f"res{tag}_branch2a", n, 3, pad=1)
            s += bn_conv(f"res{tag}_branch2c", f"res{tag}_branch2b", 4 * n, 1, relu_after=False)
            s += layer(f"res{tag}", "Eltwise", [shortcut, f"res{tag}_branch2c"], [f"res{tag}"], "eltwise_param { operation: SUM }")
            s += relu(f"res{tag}_relu", f"res{tag}")
            prev = f"res{tag}"
    s += layer("pool5", "Pooling", [prev], ["pool5"], "pooling_param { pool: AVE kernel_size: 7 stride: 1 }")
    s += layer("fc1000", "InnerProduct", ["pool5"], ["fc1000"], "inner_product_param { num_output: 1000 }")
    s += layer("prob", "Softmax", ["fc1000"], ["prob"])
    return s


# GoogLeNet's Inception modules (the paper's Table 1): #1x1, #3x3 reduce,
# #3x3, #5x5 reduce, #5x5, pool proj.
INCEPTION = [("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64),
             ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64), ("4c", 128, 128, 256, 24, 64, 64),
             ("4d", 112, 144, 288, 32, 64, 64), ("4e", 256, 160, 320, 32, 128, 128),
             ("5a", 256, 160, 320, 32, 128, 128), ("5b", 384, 192, 384, 48, 128, 128)]


def lrn(name, bottom):
    return layer(name, "LRN", [bottom], [name], "lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 }")


def googlenet():
    s = """# GoogLeNet (Szegedy et al., "Going Deeper with Convolutions", 2014) as BVLC
# replicated it for Caffe (deploy): a 7x7/2 stem with LRN, nine Inception
# modules whose 1x1, 3x3 (after a 1x1 reduction), 5x5 (after a 1x1
# reduction) and pooling-projection branches are joined by Concat, max
# pooling 3/2 between stages, 7x7 average pooling, dropout 0.4 and a
# 1000-way classifier. 224x224 input, BGR, mean subtracted.
name: "GoogleNet"
"""
    xavier = 'weight_filler { type: "xavier" std: 0.1 }'
    s += input_layer(10, 3, 224, 224)
    s += conv("conv1/7x7_s2", "data", 64, 7, stride=2, pad=3, filler=xavier) + relu("conv1/relu_7x7", "conv1/7x7_s2")
    s += pool("pool1/3x3_s2", "conv1/7x7_s2", "MAX", 3, 2) + lrn("pool1/norm1", "pool1/3x3_s2")
    s += conv("conv2/3x3_reduce", "pool1/norm1", 64, 1, filler=xavier) + relu("conv2/relu_3x3_reduce", "conv2/3x3_reduce")
    s += conv("conv2/3x3", "conv2/3x3_reduce", 192, 3, pad=1, filler=xavier) + relu("conv2/relu_3x3", "conv2/3x3")
    s += lrn("conv2/norm2", "conv2/3x3") + pool("pool2/3x3_s2", "conv2/norm2", "MAX", 3, 2)
    prev = "pool2/3x3_s2"
    for tag, n1, r3, n3, r5, n5, pp in INCEPTION:
        p = f"inception_{tag}"
        s += conv(f"{p}/1x1", prev, n1, 1, filler=xavier) + relu(f"{p}/relu_1x1", f"{p}/1x1")
        s += conv(f"{p}/3x3_reduce", prev, r3, 1, filler=xavier) + relu(f"{p}/relu_3x3_reduce", f"{p}/3x3_reduce")
        s += conv(f"{p}/3x3", f"{p}/3x3_reduce", n3, 3, pad=1, filler=xavier) + relu(f"{p}/relu_3x3", f"{p}/3x3")
        s += conv(f"{p}/5x5_reduce", prev, r5, 1, filler=xavier) + relu(f"{p}/relu_5x5_reduce", f"{p}/5x5_reduce")
        s += conv(f"{p}/5x5", f"{p}/5x5_reduce", n5, 5, pad=2, filler=xavier) + relu(f"{p}/relu_5x5", f"{p}/5x5")
        s += layer(f"{p}/pool", "Pooling", [prev], [f"{p}/pool"], "pooling_param { pool: MAX kernel_size: 3 stride: 1 pad: 1 }")
        s += conv(f"{p}/pool_proj", f"{p}/pool", pp, 1, filler=xavier) + relu(f"{p}/relu_pool_proj", f"{p}/pool_proj")
        s += layer(f"{p}/output", "Concat", [f"{p}/1x1", f"{p}/3x3", f"{p}/5x5", f"{p}/pool_proj"], [f"{p}/output"])
        prev = f"{p}/output"
        if tag in ("3b", "4e"):
            name = "pool3/3x3_s2" if tag == "3b" else "pool4/3x3_s2"
            s += pool(name, prev, "MAX", 3, 2)
            prev = name
    s += pool("pool5/7x7_s1", prev, "AVE", 7, 1)
    s += layer("pool5/drop_7x7_s1", "Dropout", ["pool5/7x7_s1"], ["pool5/7x7_s1"], "dropout_param { dropout_ratio: 0.4 }")
    s += layer("loss3/classifier", "InnerProduct", ["pool5/7x7_s1"], ["loss3/classifier"], """
param { lr_mult: 1 decay_mult: 1 }
param { lr_mult: 2 decay_mult: 0 }
inner_product_param { num_output: 1000 weight_filler { type: "xavier" } bias_filler { type: "constant" value: 0 } }""")
    s += layer("prob", "Softmax", ["loss3/classifier"], ["prob"])
    return s


if __name__ == "__main__":
    open("Models/googlenet/deploy.prototxt", "w").write(googlenet())
    open("Models/nin/deploy.prototxt", "w").write(nin())
    open("Models/resnet50/deploy.prototxt", "w").write(resnet50())
    open("Models/vgg16/deploy.prototxt", "w").write(vgg16())
    open("Models/squeezenet/deploy.prototxt", "w").write(squeezenet())
