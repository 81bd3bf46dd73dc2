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
(process 0) as an .npz; `--steps`, `--batch`, `--width` size the run.
"""
import argparse
import time

import numpy as np

import irax
import irax.distributed
import irax.numpy as jnp
from model import predict

FEATURES, OUTPUTS = 16, 4


def init(width, depth=3):
    """The MLP's layers, [{"w", "b"}] (the same on every process: a fixed seed)."""
    rng = np.random.default_rng(0)
    sizes = [FEATURES] + [width] * (depth - 1) + [OUTPUTS]
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


def batches(steps, batch):
    """The same batches on every process: inputs and targets of a fixed smooth map."""
    rng = np.random.default_rng(1)
    target = rng.normal(size=(FEATURES, OUTPUTS)).astype(np.float32)
    for _ in range(steps):
        x = rng.normal(size=(batch, FEATURES)).astype(np.float32)
        yield x, np.sin(x @ target)


def train(steps, batch, width):
    """(the parameters after `steps` steps, samples per second of the steps after the first)."""
    rank, size = irax.process_index(), irax.process_count()
    if batch % size:
        raise SystemExit(f"the batch ({batch}) must split evenly over the {size} processes")
    shard = slice(rank * batch // size, (rank + 1) * batch // size)
    params = init(width)
    start = None
    for step, (x, y) in enumerate(batches(steps, batch)):
        if step == 1:  # (the first step compiles)
            irax.distributed.sync_global_devices("timing")
            start = time.perf_counter()
        grads = irax.distributed.all_reduce(gradient(params, x[shard], y[shard]), op="mean")
        params = sgd(params, grads)
    irax.block_until_ready(params)
    elapsed = time.perf_counter() - start if start is not None else float("nan")
    return params, (steps - 1) * batch / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--save", help="write the final parameters here (.npz)")
    args = parser.parse_args()
    irax.distributed.initialize()
    params, speed = train(args.steps, args.batch, args.width)
    if irax.process_index() == 0:
        final = float(loss(params, *next(batches(1, args.batch))))
        print(f"{irax.process_count()} process(es): loss {final:.5f}, {speed:.0f} samples/s")
        if args.save:
            np.savez(args.save, *[np.asarray(p) for p in irax.tree.leaves(params)])


if __name__ == "__main__":
    main()
