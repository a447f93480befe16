"""Peer for `make bench`: PyTorch's CPU training step (forward, backward,
SGD momentum 0.9, weight decay 5e-4, lr 0.01) of AlexNet or CaffeNet as
Caffe defines them: 227x227 input, conv2/4/5 in 2 groups, LRN (5, 1e-4,
0.75, k 1), 3/2 max pooling with Caffe's ceil rounding, dropout 0.5 on
fc6/fc7, softmax loss over 1000 classes. Prints '<median ms> <min ms>'.
Usage: torch_train_peer.py alexnet|caffenet BATCH ITERATIONS THREADS"""
import sys
import time

import torch
from torch import nn

net_name, batch, iterations, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)


def block(conv, norm_first):
    relu = nn.ReLU(inplace=True)
    norm = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
    pool = nn.MaxPool2d(3, 2, ceil_mode=True)
    return [conv, relu, norm, pool] if norm_first else [conv, relu, pool, norm]


alexnet = net_name == "alexnet"
model = nn.Sequential(
    *block(nn.Conv2d(3, 96, 11, stride=4), alexnet),
    *block(nn.Conv2d(96, 256, 5, padding=2, groups=2), alexnet),
    nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
    nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(inplace=True),
    nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(inplace=True),
    nn.MaxPool2d(3, 2, ceil_mode=True), nn.Flatten(),
    nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
    nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
    nn.Linear(4096, 1000),
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
loss_fn = nn.CrossEntropyLoss()
x = torch.randn(batch, 3, 227, 227)
y = torch.randint(0, 1000, (batch,))


def step():
    optimizer.zero_grad(set_to_none=False)
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()


step()
times = []
for _ in range(iterations):
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(f"{times[len(times) // 2]:.3f} {times[0]:.3f}")
