"""Writes the nets of Models/vgg16, Models/squeezenet, Models/nin,
Models/resnet50 and Models/googlenet (python3, no packages): deploy.prototxt,
train_val.prototxt and solver.prototxt for each.

The layer lists follow the published definitions: VGG-16 (Simonyan &
Zisserman 2014, configuration D, the VGG team's Caffe release), SqueezeNet
v1.1 (DeepScale's release), NIN (Lin et al. 2013, the ImageNet model of the
Caffe model zoo), ResNet-50 (He et al. 2015, the authors' Caffe release:
stride 2 on the first 1x1 convolution of a stage, BatchNorm + Scale after
every convolution) and GoogLeNet (Szegedy et al. 2014, BVLC's Caffe
replication, with its two auxiliary classifiers in train_val).

Where a train_val or solver was published (BVLC GoogLeNet, SqueezeNet v1.1)
they follow it; for the others (the VGG team and the ResNet authors released
deploy files only) they follow the paper's training settings and say so in
the file's first lines.

`width(k)` divides every hidden channel count by k: the reduced copies that
ReferenceForwardTests compares with OpenCV (Tests/.../Fixtures/opencv/zoo)
and that `make check-zoo` does not need. Run from the repository root:
    python3 Models/make_zoo.py
"""
import os

WIDTH = 1
PHASE_TRAIN = "train"
PHASE_DEPLOY = "deploy"


def ch(n):
    """A hidden channel count, divided for reduced copies (at least 1)."""
    return max(1, n // WIDTH)


def layer(name, type_, bottoms, tops, body=""):
    s = f'layer {{\n  name: "{name}"\n  type: "{type_}"\n'
    s += "".join(f'  bottom: "{b}"\n' for b in bottoms)
    s += "".join(f'  top: "{t}"\n' for t in tops)
    if body:
        s += "".join(f"  {line}\n" for line in body.strip().split("\n"))
    return s + "}\n"


LR_PARAMS = "param { lr_mult: 1 decay_mult: 1 }\nparam { lr_mult: 2 decay_mult: 0 }\n"


def conv(name, bottom, n, k, stride=1, pad=0, filler='weight_filler { type: "xavier" }', bias=0, params=True, top=None):
    extra = (f"\n  stride: {stride}" if stride != 1 else "") + (f"\n  pad: {pad}" if pad else "")
    bias_filler = f'\n  bias_filler {{ type: "constant" value: {bias} }}' if params else ""
    return layer(name, "Convolution", [bottom], [top or name], f"""
{LR_PARAMS if params else ""}convolution_param {{
  num_output: {n}
  kernel_size: {k}{extra}
  {filler}{bias_filler}
}}""")


def fc(name, bottom, n, weight_filler, bias):
    return layer(name, "InnerProduct", [bottom], [name], f"""
{LR_PARAMS}inner_product_param {{
  num_output: {n}
  weight_filler {{ {weight_filler} }}
  bias_filler {{ type: "constant" value: {bias} }}
}}""")


def relu(name, blob):
    return layer(name, "ReLU", [blob], [blob])


def dropout(name, blob, ratio):
    return layer(name, "Dropout", [blob], [blob], f"dropout_param {{ dropout_ratio: {ratio} }}")


def pool(name, bottom, kind, k, stride, top=None, pad=0):
    extra = f" pad: {pad}" if pad else ""
    return layer(name, "Pooling", [bottom], [top or name], f"pooling_param {{ pool: {kind} kernel_size: {k} stride: {stride}{extra} }}")


def header(comment, name):
    return "".join(f"# {line}\n" if line else "#\n" for line in comment.strip().split("\n")) + f'name: "{name}"\n'


def inputs(mode, side, deploy_batch=10, crop=None, mean_values=None, mean_file=None, batches=(32, 50),
           sources=("examples/imagenet/ilsvrc12_train_lmdb", "examples/imagenet/ilsvrc12_val_lmdb")):
    """deploy: an Input layer; train: Caffe's two ImageNet Data layers (TRAIN with
    mirroring, TEST without), cropping to `crop` and subtracting the mean."""
    if mode == PHASE_DEPLOY:
        return layer("data", "Input", [], ["data"], f"input_param {{ shape {{ dim: {deploy_batch} dim: 3 dim: {side} dim: {side} }} }}")
    mean = f'\n  mean_file: "{mean_file}"' if mean_file else "".join(f"\n  mean_value: {v}" for v in mean_values)
    s = ""
    for phase, mirror, batch, source in (("TRAIN", "true", batches[0], sources[0]), ("TEST", "false", batches[1], sources[1])):
        s += layer("data", "Data", [], ["data", "label"], f"""
include {{ phase: {phase} }}
transform_param {{
  mirror: {mirror}
  crop_size: {crop or side}{mean}
}}
data_param {{
  source: "{source}"
  batch_size: {batch}
  backend: LMDB
}}""")
    return s


def classifier_outputs(mode, logits, prefix="", loss_name="loss", loss_weight=None, accuracy_in_test_only=True):
    """deploy: Softmax "prob"; train: SoftmaxWithLoss and top-1/top-5 Accuracy."""
    if mode == PHASE_DEPLOY:
        return layer("prob", "Softmax", [logits], ["prob"])
    weight = f"loss_weight: {loss_weight}" if loss_weight is not None else ""
    s = layer(f"{prefix}{loss_name}", "SoftmaxWithLoss", [logits, "label"], [f"{prefix}{loss_name}"], weight)
    only_test = "include { phase: TEST }\n" if accuracy_in_test_only else ""
    top1, top5 = (f"{prefix}top-1", f"{prefix}top-5") if prefix else ("accuracy", "accuracy_top5")
    s += layer(top1, "Accuracy", [logits, "label"], [top1], only_test.strip())
    s += layer(top5, "Accuracy", [logits, "label"], [top5], f"{only_test}accuracy_param {{ top_k: 5 }}")
    return s


def vgg16(mode):
    s = header("""VGG-16 (configuration D of Simonyan & Zisserman, "Very Deep Convolutional
Networks for Large-Scale Image Recognition", 2014) as the VGG team released
it for Caffe: thirteen 3x3 convolutions (pad 1) in five blocks of 64, 128,
256, 512, 512 channels, each block ending in 2x2 max pooling, then fc6/fc7
of 4096 with dropout 0.5 and fc8 of 1000. 224x224 input, BGR, mean subtracted.""" + ("" if mode == PHASE_DEPLOY else """

The VGG team published the deploy net only. This train_val is ours, with the
paper's data handling: random 224x224 crops with mirroring, the per-channel
ImageNet mean (B 103.939, G 116.779, R 123.68); xavier initialisation (the
paper notes Glorot's initialisation works without pre-training)."""), "VGG_ILSVRC_16_layers")
    s += inputs(mode, 224, mean_values=(103.939, 116.779, 123.68), batches=(32, 50))
    prev = "data"
    for b, (n, reps) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], start=1):
        for r in range(1, reps + 1):
            name = f"conv{b}_{r}"
            s += conv(name, prev, ch(n), 3, pad=1) + relu(f"relu{b}_{r}", name)
            prev = name
        s += pool(f"pool{b}", prev, "MAX", 2, 2)
        prev = f"pool{b}"
    for name in ("fc6", "fc7"):
        s += fc(name, prev, ch(4096), 'type: "gaussian" std: 0.005', 0.1)
        s += relu(f"relu{name[2:]}", name) + dropout(f"drop{name[2:]}", name, 0.5)
        prev = name
    s += fc("fc8", prev, 1000, 'type: "gaussian" std: 0.01', 0)
    return s + classifier_outputs(mode, "fc8")


def squeezenet(mode):
    s = header("""SqueezeNet v1.1 (Iandola et al., "SqueezeNet: AlexNet-level accuracy with
50x fewer parameters", 2016; v1.1 as DeepScale released it): a 3x3/2
convolution of 64, then Fire modules (a 1x1 "squeeze" convolution feeding
1x1 and 3x3 "expand" convolutions whose outputs are concatenated), max
pooling 3/2 after conv1, fire3 and fire5, dropout 0.5, a 1x1 convolution to
the 1000 classes and global average pooling instead of fully connected layers.
As in the release, no layer sets lr_mult or a bias filler (Caffe's defaults:
lr_mult 1, biases 0).""", "SqueezeNet_v1.1")
    s += inputs(mode, 227, mean_values=(104, 117, 123), batches=(32, 25))
    s += conv("conv1", "data", ch(64), 3, stride=2, params=False) + relu("relu_conv1", "conv1") + pool("pool1", "conv1", "MAX", 3, 2)
    prev = "pool1"
    for f, (sq, ex) in enumerate([(16, 64), (16, 64), (32, 128), (32, 128), (48, 192), (48, 192), (64, 256), (64, 256)], start=2):
        p = f"fire{f}"
        s += conv(f"{p}/squeeze1x1", prev, ch(sq), 1, params=False) + relu(f"{p}/relu_squeeze1x1", f"{p}/squeeze1x1")
        s += conv(f"{p}/expand1x1", f"{p}/squeeze1x1", ch(ex), 1, params=False) + relu(f"{p}/relu_expand1x1", f"{p}/expand1x1")
        s += conv(f"{p}/expand3x3", f"{p}/squeeze1x1", ch(ex), 3, pad=1, params=False) + relu(f"{p}/relu_expand3x3", f"{p}/expand3x3")
        s += layer(f"{p}/concat", "Concat", [f"{p}/expand1x1", f"{p}/expand3x3"], [f"{p}/concat"])
        prev = f"{p}/concat"
        if f in (3, 5):
            s += pool(f"pool{f}", prev, "MAX", 3, 2)
            prev = f"pool{f}"
    s += dropout("drop9", prev, 0.5)
    s += conv("conv10", prev, 1000, 1, filler='weight_filler { type: "gaussian" mean: 0.0 std: 0.01 }', params=False)
    s += relu("relu_conv10", "conv10")
    s += layer("pool10", "Pooling", ["conv10"], ["pool10"], "pooling_param { pool: AVE global_pooling: true }")
    # The release computes accuracy in both phases.
    return s + classifier_outputs(mode, "pool10", accuracy_in_test_only=False)


def nin(mode):
    s = header("""Network in Network (Lin, Chen & Yan, "Network In Network", 2013), the
ImageNet model of the Caffe model zoo: four mlpconv blocks (a spatial
convolution followed by two 1x1 "cccp" convolutions, each with ReLU), max
pooling 3/2 between them, dropout 0.5, and global average pooling of the
last 1x1 convolution's 1000 maps instead of fully connected layers.""" + ("" if mode == PHASE_DEPLOY else """

Training as in Caffe's ImageNet examples (random 224x224 crops of 256x256
images, mirroring, the mean image); the solver follows the paper's recipe."""), "NIN_ImageNet")
    s += inputs(mode, 224, mean_file="data/ilsvrc12/imagenet_mean.binaryproto", batches=(64, 50))
    blocks = [("conv1", 96, 11, 4, 0, ["cccp1", "cccp2"], "pool0"),
              ("conv2", 256, 5, 1, 2, ["cccp3", "cccp4"], "pool2"),
              ("conv3", 384, 3, 1, 1, ["cccp5", "cccp6"], "pool3"),
              ("conv4-1024", 1024, 3, 1, 1, ["cccp7-1024", "cccp8-1024"], None)]
    prev, r = "data", 0
    for name, n, k, stride, pad, cccps, pool_name in blocks:
        s += conv(name, prev, ch(n), k, stride=stride, pad=pad, filler='weight_filler { type: "gaussian" mean: 0 std: 0.01 }')
        s += relu(f"relu{r}", name)
        r += 1
        prev = name
        for c in cccps:
            outputs = 1000 if c == "cccp8-1024" else ch(n)
            s += conv(c, prev, outputs, 1, filler='weight_filler { type: "gaussian" mean: 0 std: 0.05 }') + relu(f"relu{r}", c)
            r += 1
            prev = c
        if pool_name:
            s += pool(pool_name, prev, "MAX", 3, 2)
            prev = pool_name
            if pool_name == "pool3":
                s += dropout("drop", prev, 0.5)
    s += layer("pool4", "Pooling", [prev], ["pool4"], "pooling_param { pool: AVE kernel_size: 6 stride: 1 }")
    return s + classifier_outputs(mode, "pool4")


def bn_conv(mode, name, bottom, n, k, stride=1, pad=0, relu_after=True):
    """A convolution without bias, then BatchNorm and Scale with bias, as in the
    ResNet release. deploy: BatchNorm uses the stored statistics; train_val
    leaves use_global_stats unset, so Caffe's phase default applies (batch
    statistics in TRAIN, stored ones in TEST), and its three blobs get lr_mult 0."""
    extra = (f"\n  stride: {stride}" if stride != 1 else "") + (f"\n  pad: {pad}" if pad else "")
    s = layer(name, "Convolution", [bottom], [name], f"""
{"param { lr_mult: 1 decay_mult: 1 }" if mode != PHASE_DEPLOY else ""}
convolution_param {{
  num_output: {n}
  kernel_size: {k}{extra}
  bias_term: false
  weight_filler {{ type: "msra" }}
}}""".replace("\n\n", "\n"))
    suffix = name[3:] if name.startswith("res") else "_" + name
    if mode == PHASE_DEPLOY:
        s += layer(f"bn{suffix}", "BatchNorm", [name], [name], "batch_norm_param { use_global_stats: true }")
    else:
        s += layer(f"bn{suffix}", "BatchNorm", [name], [name], "param { lr_mult: 0 }\nparam { lr_mult: 0 }\nparam { lr_mult: 0 }")
    s += layer(f"scale{suffix}", "Scale", [name], [name], "scale_param { bias_term: true }")
    if relu_after:
        s += relu(f"{name}_relu", name)
    return s


def resnet50(mode):
    s = header("""ResNet-50 (He, Zhang, Ren & Sun, "Deep Residual Learning for Image
Recognition", 2015) as the authors released it for Caffe: a 7x7/2
convolution and 3x3/2 max pooling, then 3, 4, 6 and 3 bottleneck blocks
(1x1, 3x3, 1x1 with 4x expansion) of 64, 128, 256 and 512 channels, each
convolution followed by BatchNorm and Scale, identity shortcuts summed by
Eltwise, projection shortcuts (1x1) where the shape changes, stride 2 on
the first 1x1 convolution of stages 3-5, 7x7 average pooling and fc1000.""" + ("" if mode == PHASE_DEPLOY else """

The authors released the deploy net only. This train_val is ours, with the
paper's settings: msra ("He") initialisation, random 224x224 crops with
mirroring, per-channel mean; BatchNorm computes batch statistics in TRAIN
and uses its moving averages in TEST."""), "ResNet-50")
    s += inputs(mode, 224, deploy_batch=1, mean_values=(104, 117, 123), batches=(32, 50))
    s += bn_conv(mode, "conv1", "data", ch(64), 7, stride=2, pad=3)
    s += pool("pool1", "conv1", "MAX", 3, 2)
    prev = "pool1"
    for stage, (n, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], start=2):
        for b in range(blocks):
            tag = f"{stage}{chr(ord('a') + b)}"
            stride = 2 if (b == 0 and stage > 2) else 1
            if b == 0:
                s += bn_conv(mode, f"res{tag}_branch1", prev, ch(4 * n), 1, stride=stride, relu_after=False)
                shortcut = f"res{tag}_branch1"
            else:
                shortcut = prev
            s += bn_conv(mode, f"res{tag}_branch2a", prev, ch(n), 1, stride=stride)
            s += bn_conv(mode, f"res{tag}_branch2b", f"res{tag}_branch2a", ch(n), 3, pad=1)
            s += bn_conv(mode, f"res{tag}_branch2c", f"res{tag}_branch2b", ch(4 * n), 1, relu_after=False)
            s += layer(f"res{tag}", "Eltwise", [shortcut, f"res{tag}_branch2c"], [f"res{tag}"], "eltwise_param { operation: SUM }")
            s += relu(f"res{tag}_relu", f"res{tag}")
            prev = f"res{tag}"
    s += layer("pool5", "Pooling", [prev], ["pool5"], "pooling_param { pool: AVE kernel_size: 7 stride: 1 }")
    if mode == PHASE_DEPLOY:
        s += layer("fc1000", "InnerProduct", ["pool5"], ["fc1000"], "inner_product_param { num_output: 1000 }")
    else:
        s += fc("fc1000", "pool5", 1000, 'type: "msra"', 0)
    return s + classifier_outputs(mode, "fc1000")


# GoogLeNet's Inception modules (the paper's Table 1): #1x1, #3x3 reduce,
# #3x3, #5x5 reduce, #5x5, pool proj.
INCEPTION = [("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64),
             ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64), ("4c", 128, 128, 256, 24, 64, 64),
             ("4d", 112, 144, 288, 32, 64, 64), ("4e", 256, 160, 320, 32, 128, 128),
             ("5a", 256, 160, 320, 32, 128, 128), ("5b", 384, 192, 384, 48, 128, 128)]


def lrn(name, bottom):
    return layer(name, "LRN", [bottom], [name], "lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 }")


def googlenet_aux_head(n, bottom):
    """An auxiliary classifier of the paper (train_val only): 5x5/3 average
    pooling, a 1x1 convolution of 128, fc 1024 with dropout 0.7, a 1000-way
    classifier, and a loss weighted 0.3."""
    p = f"loss{n}"
    xavier = 'weight_filler { type: "xavier" }'
    s = pool(f"{p}/ave_pool", bottom, "AVE", 5, 3)
    s += conv(f"{p}/conv", f"{p}/ave_pool", ch(128), 1, filler=xavier, bias=0.2) + relu(f"{p}/relu_conv", f"{p}/conv")
    s += fc(f"{p}/fc", f"{p}/conv", ch(1024), 'type: "xavier"', 0.2) + relu(f"{p}/relu_fc", f"{p}/fc")
    s += dropout(f"{p}/drop_fc", f"{p}/fc", 0.7)
    s += fc(f"{p}/classifier", f"{p}/fc", 1000, 'type: "xavier"', 0)
    return s + classifier_outputs(PHASE_TRAIN, f"{p}/classifier", prefix=f"{p}/", loss_name=p, loss_weight=0.3)


def googlenet(mode):
    s = header("""GoogLeNet (Szegedy et al., "Going Deeper with Convolutions", 2014) as BVLC
replicated it for Caffe: a 7x7/2 stem with LRN, nine Inception modules whose
1x1, 3x3 (after a 1x1 reduction), 5x5 (after a 1x1 reduction) and
pooling-projection branches are joined by Concat, max pooling 3/2 between
stages, 7x7 average pooling, dropout 0.4 and a 1000-way classifier.
224x224 input, BGR, mean subtracted.""" + ("" if mode == PHASE_DEPLOY else """

train_val adds the paper's two auxiliary classifiers on inception_4a and
inception_4d, whose losses count 0.3 each (loss1, loss2; loss3 is the main one)."""), "GoogleNet")
    xavier = 'weight_filler { type: "xavier" }'
    s += inputs(mode, 224, crop=224, mean_values=(104, 117, 123), batches=(32, 50))
    s += conv("conv1/7x7_s2", "data", ch(64), 7, stride=2, pad=3, filler=xavier, bias=0.2) + relu("conv1/relu_7x7", "conv1/7x7_s2")
    s += pool("pool1/3x3_s2", "conv1/7x7_s2", "MAX", 3, 2) + lrn("pool1/norm1", "pool1/3x3_s2")
    s += conv("conv2/3x3_reduce", "pool1/norm1", ch(64), 1, filler=xavier, bias=0.2) + relu("conv2/relu_3x3_reduce", "conv2/3x3_reduce")
    s += conv("conv2/3x3", "conv2/3x3_reduce", ch(192), 3, pad=1, filler=xavier, bias=0.2) + relu("conv2/relu_3x3", "conv2/3x3")
    s += lrn("conv2/norm2", "conv2/3x3") + pool("pool2/3x3_s2", "conv2/norm2", "MAX", 3, 2)
    prev = "pool2/3x3_s2"
    for tag, n1, r3, n3, r5, n5, pp in INCEPTION:
        p = f"inception_{tag}"
        s += conv(f"{p}/1x1", prev, ch(n1), 1, filler=xavier, bias=0.2) + relu(f"{p}/relu_1x1", f"{p}/1x1")
        s += conv(f"{p}/3x3_reduce", prev, ch(r3), 1, filler=xavier, bias=0.2) + relu(f"{p}/relu_3x3_reduce", f"{p}/3x3_reduce")
        s += conv(f"{p}/3x3", f"{p}/3x3_reduce", ch(n3), 3, pad=1, filler=xavier, bias=0.2) + relu(f"{p}/relu_3x3", f"{p}/3x3")
        s += conv(f"{p}/5x5_reduce", prev, ch(r5), 1, filler=xavier, bias=0.2) + relu(f"{p}/relu_5x5_reduce", f"{p}/5x5_reduce")
        s += conv(f"{p}/5x5", f"{p}/5x5_reduce", ch(n5), 5, pad=2, filler=xavier, bias=0.2) + relu(f"{p}/relu_5x5", f"{p}/5x5")
        s += pool(f"{p}/pool", prev, "MAX", 3, 1, pad=1)
        s += conv(f"{p}/pool_proj", f"{p}/pool", ch(pp), 1, filler=xavier, bias=0.2) + relu(f"{p}/relu_pool_proj", f"{p}/pool_proj")
        s += layer(f"{p}/output", "Concat", [f"{p}/1x1", f"{p}/3x3", f"{p}/5x5", f"{p}/pool_proj"], [f"{p}/output"])
        prev = f"{p}/output"
        if mode == PHASE_TRAIN and tag in ("4a", "4d"):
            s += googlenet_aux_head(1 if tag == "4a" else 2, prev)
        if tag in ("3b", "4e"):
            name = "pool3/3x3_s2" if tag == "3b" else "pool4/3x3_s2"
            s += pool(name, prev, "MAX", 3, 2)
            prev = name
    s += pool("pool5/7x7_s1", prev, "AVE", 7, 1)
    s += dropout("pool5/drop_7x7_s1", "pool5/7x7_s1", 0.4)
    s += fc("loss3/classifier", "pool5/7x7_s1", 1000, 'type: "xavier"', 0)
    if mode == PHASE_DEPLOY:
        return s + classifier_outputs(mode, "loss3/classifier")
    return s + classifier_outputs(mode, "loss3/classifier", prefix="loss3/", loss_name="loss3", loss_weight=1)


def solver(comment, net, lines):
    body = "".join(f"# {line}\n" for line in comment.strip().split("\n"))
    body += f'net: "Models/{net}/train_val.prototxt"\n' + lines.strip() + "\n"
    return body + f'snapshot_prefix: "Models/{net}/{net}_train"\nsolver_mode: CPU\n'


SOLVERS = {
    "googlenet": solver("""BVLC's GoogLeNet solver (models/bvlc_googlenet/solver.prototxt), unchanged
but for the paths and the CPU mode: step decay by 0.96 every 320,000
iterations of batch 32; the losses averaged over 40 iterations for display.""", "googlenet", """
test_iter: 1000
test_interval: 4000
test_initialization: false
display: 40
average_loss: 40
base_lr: 0.01
lr_policy: "step"
stepsize: 320000
gamma: 0.96
max_iter: 10000000
momentum: 0.9
weight_decay: 0.0002
snapshot: 40000"""),
    "squeezenet": solver("""DeepScale's SqueezeNet v1.1 solver, unchanged but for the paths and the CPU
mode: batch 32 x iter_size 16 = 512, the learning rate falling linearly
(poly, power 1) from 0.04 to 0 over 170,000 iterations.""", "squeezenet", """
test_iter: 2000
test_interval: 1000
test_initialization: false
base_lr: 0.04
display: 40
average_loss: 40
max_iter: 170000
iter_size: 16
lr_policy: "poly"
power: 1.0
momentum: 0.9
weight_decay: 0.0002
random_seed: 42
snapshot: 1000"""),
    "vgg16": solver("""Ours, from the paper's section 3.1 (no solver was published): batch 256
(32 x iter_size 8), momentum 0.9, weight decay 5e-4, learning rate 0.01
divided by 10 three times (the paper did so when validation accuracy stopped
improving; here at fixed points), 370,000 iterations (74 epochs).""", "vgg16", """
test_iter: 1000
test_interval: 5000
test_initialization: false
display: 20
average_loss: 20
iter_size: 8
base_lr: 0.01
lr_policy: "multistep"
gamma: 0.1
stepvalue: 180000
stepvalue: 270000
stepvalue: 330000
max_iter: 370000
momentum: 0.9
weight_decay: 0.0005
snapshot: 10000"""),
    "resnet50": solver("""Ours, from the paper's section 3.4 (the authors published no solver): batch
256 (32 x iter_size 8), learning rate 0.1 divided by 10 when the error
plateaus (here at fixed points), weight decay 1e-4, momentum 0.9, up to
600,000 iterations.""", "resnet50", """
test_iter: 1000
test_interval: 5000
test_initialization: false
display: 20
average_loss: 20
iter_size: 8
base_lr: 0.1
lr_policy: "multistep"
gamma: 0.1
stepvalue: 150000
stepvalue: 300000
stepvalue: 450000
max_iter: 600000
momentum: 0.9
weight_decay: 0.0001
snapshot: 10000"""),
    "nin": solver("""Ours, after the paper (which trains with mini-batches, momentum 0.9 and a
learning rate divided by 10 when accuracy stops improving) and Caffe's
ImageNet recipe: batch 64, base_lr 0.01, weight decay 5e-4, steps of
200,000 iterations, 450,000 in all.""", "nin", """
test_iter: 1000
test_interval: 5000
test_initialization: false
display: 20
average_loss: 20
base_lr: 0.01
lr_policy: "step"
gamma: 0.1
stepsize: 200000
max_iter: 450000
momentum: 0.9
weight_decay: 0.0005
snapshot: 10000"""),
}

NETS = {"vgg16": vgg16, "squeezenet": squeezenet, "nin": nin, "resnet50": resnet50, "googlenet": googlenet}


def reduced_deploy(name, width):
    """The deploy net of `name` with hidden channels divided by `width`, batch 1."""
    global WIDTH
    WIDTH = width
    try:
        text = NETS[name](PHASE_DEPLOY)
    finally:
        WIDTH = 1
    return text.replace("dim: 10 dim: 3", "dim: 1 dim: 3")


def main():
    for name, build in NETS.items():
        folder = os.path.join("Models", name)
        with open(os.path.join(folder, "deploy.prototxt"), "w") as f:
            f.write(build(PHASE_DEPLOY))
        with open(os.path.join(folder, "train_val.prototxt"), "w") as f:
            f.write(build(PHASE_TRAIN))
        with open(os.path.join(folder, "solver.prototxt"), "w") as f:
            f.write(SOLVERS[name])


if __name__ == "__main__":
    main()
