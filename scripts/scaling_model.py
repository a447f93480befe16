#!/usr/bin/env python3
"""Predicted scaling of synchronous data-parallel training (docs/scaling.md).

Inputs are measurements from this repository's tools on the 2-core EPYC
build machine (see docs/scaling.md for the commands); the model is a ring
allreduce of fp32 gradients, partly hidden behind backward:

  per-rank compute per iteration   C = B * c            (c: fwd+bwd ms per image)
  ring allreduce per rank          T = 2(N-1)/N * 4P / bw + 2(N-1) * alpha
  hidden behind backward           O = h * C            (h: share of C after the
                                                         first bucket is final)
  exposed communication            E = max(T - O, T_bucket)
  efficiency                       C / (C + E)          (no overlap: C / (C + T))

Cells: efficiency with overlap (without overlap in brackets).
Usage: scripts/scaling_model.py  (prints the markdown tables)."""

# name: (parameters, fwd+bwd ms per image on 2 cores, per-rank batch, overlap share h)
NETS = {
    # `swiftcaffe time --phase train`: 1009.7 ms at batch 32; conv backward
    # (after fc6-8, 96 % of the parameters, are final) is 54 % of the pass.
    "AlexNet": (60_965_224, 1009.7 / 32, 128, 0.54),
    "CaffeNet": (60_965_224, 1019.6 / 32, 128, 0.54),
    # 1650.7 ms at batch 8; backward is 78 % of the pass and its gradients
    # become final evenly through it: half of it hides communication.
    "ResNet-50": (25_610_205, 1650.7 / 8, 32, 0.39),
    # 679.0 ms at batch 8; backward 51 %, half of it hides communication.
    "GoogLeNet": (6_998_552, 679.0 / 8, 32, 0.26),
}
LINKS_GBIT = [10, 25, 100]
RANKS = [2, 4, 8, 16, 32, 64]
ALPHA_MS = 0.03          # per ring step: TCP latency between hosts
WIRE_EFFICIENCY = 0.9    # of the link rate left after TCP/IP framing
BUCKET_BYTES = 4 << 20   # GradientExchange.bucketBytes


def efficiency(params, ms_per_image, batch, hidden, ranks, gbit, overlap=True):
    compute = batch * ms_per_image
    bytes_per_ms = gbit * 1e9 / 8 * WIRE_EFFICIENCY / 1000
    ring = 2 * (ranks - 1) / ranks
    comm = ring * 4 * params / bytes_per_ms + 2 * (ranks - 1) * ALPHA_MS
    if not overlap:
        return compute / (compute + comm), comm
    last = ring * BUCKET_BYTES / bytes_per_ms
    exposed = max(comm - hidden * compute, last)
    return compute / (compute + exposed), comm


# A node's speed relative to the 2-core build machine: 1 (this machine),
# 10 (a 2-socket server) and 100 (a GPU-class node): faster nodes leave less
# compute to hide the same bytes behind.
SPEEDS = [1, 10, 100]


def main():
    for name, (params, c, batch, hidden) in NETS.items():
        print(f"### {name}: {params / 1e6:.1f} M parameters = {4 * params / 1e6:.0f} MB of gradients per iteration, "
              f"per-rank batch {batch}\n")
        print("| node speed | compute per iteration | ranks | " + " | ".join(f"{g} Gb/s" for g in LINKS_GBIT) + " |")
        print("|---|---|---|" + "---|" * len(LINKS_GBIT))
        for speed in SPEEDS:
            for n in RANKS:
                cells = []
                for g in LINKS_GBIT:
                    e, t = efficiency(params, c / speed, batch, hidden, n, g)
                    e0, _ = efficiency(params, c / speed, batch, hidden, n, g, overlap=False)
                    cells.append(f"{100 * e:.0f} % ({100 * e0:.0f} %)")
                print(f"| ×{speed} | {batch * c / speed / 1000:.2f} s | {n} | " + " | ".join(cells) + " |")
        ring = [f"{2 * (n - 1) / n * 4 * params / 1e6:.0f} MB" for n in RANKS]
        print(f"\nBytes each rank sends per iteration (ring, N = {', '.join(map(str, RANKS))}): {', '.join(ring)}.\n")


if __name__ == "__main__":
    main()
