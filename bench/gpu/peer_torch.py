#!/usr/bin/env python3
"""PyTorch (eager, CUDA) peer of bench/gpu/bench_gpu.cpp: the same workloads G1-G4, timed the
same way (warm-up, then the median over trials of the mean over reps, waiting for the device
with torch.cuda.synchronize()). Prints one JSON object per line. TF32 is off, as in tapeflow.

    peer_torch.py [G1|G2|G3|G4]      exit 2 when torch or a CUDA device is missing
"""
import json
import math
import sys
import time


def median_seconds(trials, reps, body):
    import torch
    body()
    torch.cuda.synchronize()
    means = []
    for _ in range(trials):
        start = time.perf_counter()
        for _ in range(reps):
            body()
        torch.cuda.synchronize()
        means.append((time.perf_counter() - start) / reps)
    means.sort()
    return means[len(means) // 2]


def emit(name, **fields):
    print(json.dumps({"library": "pytorch", "bench": name, **fields}), flush=True)


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        import torch
    except ImportError:
        print("peer_torch: no torch module", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("peer_torch: torch has no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda:0")
    torch.manual_seed(1)
    emit("versions", torch=torch.__version__, cuda=torch.version.cuda,
         gpu=torch.cuda.get_device_name(0))

    if only in ("", "G1"):
        n = 100_000_000
        x = torch.rand(n, device=dev)
        y = torch.rand(n, device=dev)
        s = median_seconds(5, 10, lambda: x + y)
        c = torch.empty_like(x)
        copy = median_seconds(5, 10, lambda: c.copy_(x))
        emit("G1_add_1e8", ms=s * 1e3, GBps=12.0 * n / s * 1e-9, copy_GBps=8.0 * n / copy * 1e-9)
    if only in ("", "G2"):
        n = 4096
        a = torch.randn(n, n, device=dev)
        b = torch.randn(n, n, device=dev)
        s = median_seconds(5, 10, lambda: a @ b)
        emit("G2_sgemm_4096", ms=s * 1e3, TFLOPs=2.0 * n ** 3 / s * 1e-12)
    if only in ("", "G3"):
        batch = 128

        def glorot(i, o):
            lim = math.sqrt(6.0 / (i + o))
            return (torch.rand(i, o, device=dev) * 2 * lim - lim).requires_grad_()

        params = [glorot(784, 256), torch.zeros(256, device=dev, requires_grad=True),
                  glorot(256, 128), torch.zeros(128, device=dev, requires_grad=True),
                  glorot(128, 10), torch.zeros(10, device=dev, requires_grad=True)]
        x = torch.rand(batch, 784, device=dev)
        labels = torch.randint(0, 10, (batch,), device=dev)
        opt = torch.optim.SGD(params, lr=0.1)

        def step():
            h = torch.relu(x @ params[0] + params[1])
            h = torch.relu(h @ params[2] + params[3])
            logits = h @ params[4] + params[5]
            loss = torch.nn.functional.cross_entropy(logits, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss

        s = median_seconds(5, 100, step)
        emit("G3_W6_mlp_step", ms=s * 1e3, steps_per_s=1.0 / s)
    if only in ("", "G4"):
        one = torch.ones((), device=dev)
        acc = torch.zeros((), device=dev)
        chain = 2000

        def run():
            a = acc
            for _ in range(chain):
                a = a + one
            return a

        s = median_seconds(5, 1, run)
        emit("G4_small_op", us_per_op=s / chain * 1e6)
    return 0


if __name__ == "__main__":
    sys.exit(main())
