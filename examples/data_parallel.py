"""Data-parallel training over MPI: each process computes the gradient of
its shard of every batch, the gradients are averaged across the processes,
and every process takes the same SGD step (docs/distributed.md).

    pip install 'irax[mpi]'
    mpiexec -n 2 python examples/data_parallel.py            # 2 processes, half of each batch each
    python examples/data_parallel.py                          # 1 process, whole batches: the same parameters

The model is examples/model.py's tanh layer, stacked into an MLP, and its
mean squared error: the loss being a mean over equal shards, the average of
the shards' gradients is the whole batch's, so any number of processes
trains the same parameters (to float rounding). `--save FILE` writes them
(process 0) as an .npz; `--steps`, `--batch`, `--features`, `--width`,
`--outputs` size the run (`--features 784 --width 512 --outputs 10`: the
MNIST-sized MLP of benchmarks/bench_jit.py).
"""
import argparse
import time

import numpy as np

import irax
import irax.distributed
import irax.numpy as jnp
from model import predict

def init(features, width, outputs, depth=3):
    """The MLP's layers, [{"w", "b"}] (the same on every process: a fixed seed)."""
    rng = np.random.default_rng(0)
    sizes = [features] + [width] * (depth - 1) + [outputs]
    return [{"w": jnp.asarray(rng.normal(0, 1 / np.sqrt(m), (m, n)).astype(np.float32)),
             "b": jnp.zeros(n, jnp.float32)} for m, n in zip(sizes[:-1], sizes[1:])]


def mlp(layers, x):
    for layer in layers:
        x = predict(layer, x)
    return x


def loss(layers, x, y):
    return jnp.mean((mlp(layers, x) - y) ** 2)


gradient = irax.jit(irax.grad(loss))
sgd = irax.jit(lambda params, grads: irax.tree.map(lambda p, g: p - 0.1 * g, params, grads))


def batches(steps, batch, features, outputs, rows=slice(None)):
    """Rows `rows` of the same batches on every process, each made only
    where it is used (as a sharded data loader would): inputs uniform with
    unit variance and targets of a fixed smooth map. Each input takes one
    draw of one stream, so a process starts its rows by skipping the draws
    of the rows before them (`advance`), whatever the process count."""
    target = np.random.default_rng(1).normal(size=(features, outputs)) / np.sqrt(features)
    start, stop, _ = rows.indices(batch)
    for step in range(steps):
        draws = np.random.PCG64([2, step])
        draws.advance(start * features)
        uniform = np.random.Generator(draws).random((stop - start, features))
        x = (np.sqrt(12) * (uniform - 0.5)).astype(np.float32)
        yield x, np.sin(4 * x @ target).astype(np.float32)


def train(steps, batch, features, width, outputs, average=True):
    """(the parameters after `steps` steps, samples per second of the steps
    after the first). `average=False` skips the all-reduce: each process then
    trains on its shard alone, which is no longer data-parallel training but
    what the processes compute with no communication at all, the most they
    can make (benchmarks/bench_distributed.py compares with it)."""
    rank, size = irax.process_index(), irax.process_count()
    if batch % size:
        raise SystemExit(f"the batch ({batch}) must split evenly over the {size} processes")
    shard = slice(rank * batch // size, (rank + 1) * batch // size)
    params = init(features, width, outputs)
    start = None
    for step, (x, y) in enumerate(batches(steps, batch, features, outputs, shard)):
        if step == 1:  # (the first step compiles)
            irax.distributed.sync_global_devices("timing")
            start = time.perf_counter()
        grads = gradient(params, x, y)
        if average:
            grads = irax.distributed.all_reduce(grads, op="mean")
        params = sgd(params, grads)
    irax.block_until_ready(params)
    irax.distributed.sync_global_devices("trained")  # (the time of the slowest process)
    elapsed = time.perf_counter() - start if start is not None else float("nan")
    return params, (steps - 1) * batch / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--outputs", type=int, default=4)
    parser.add_argument("--save", help="write the final parameters here (.npz)")
    args = parser.parse_args()
    irax.distributed.initialize()
    params, speed = train(args.steps, args.batch, args.features, args.width, args.outputs)
    if irax.process_index() == 0:
        final = float(loss(params, *next(batches(1, args.batch, args.features, args.outputs))))
        print(f"{irax.process_count()} process(es): loss {final:.5f}, {speed:.0f} samples/s")
        if args.save:
            np.savez(args.save, *[np.asarray(p) for p in irax.tree.leaves(params)])


if __name__ == "__main__":
    main()
