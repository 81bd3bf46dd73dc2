"""Figures for several processes over MPI (irax.distributed), on this machine.

    .venv/bin/python benchmarks/bench_distributed.py [rounds]

1. All-reduce of a 10M-float gradient pytree (leaves of 4M, 4M and 2M
   float32) between 2 processes: irax.distributed.all_reduce on irax Arrays
   beside mpi4py's Allreduce on NumPy buffers of the same sizes (the floor
   MPI sets), interleaved, median ms. Goal: irax within 1.5x.
2. The data-parallel MLP step (examples/data_parallel.py, batch 512) with 2
   processes of one thread each (IRAX_CPU_WORKERS=1, and one NumPy BLAS
   thread: OPENBLAS_NUM_THREADS=1) beside one such process on the whole
   batches: samples per second, for the MNIST-sized MLP 784-512-512-10
   (the MLP step of bench_jit.py) and a small one, 16-256-256-4, whose
   2.5 ms step shows what each step's all-reduce costs. Each process is
   bound to a core of its own (mpiexec -bind-to core; taskset for the one
   process): unbound, the one process's main thread makes the next batch
   on the second core while its worker computes. Goal: 2 processes >=
   1.6x. Both need as many free cores as processes: print the load beside
   the figures.
Needs mpi4py and mpiexec (pip install 'irax[mpi]'). Part 1 runs under
mpiexec as `bench_distributed.py allreduce`.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parents[1]
SIZES = (4_000_000, 4_000_000, 2_000_000)
MPIEXEC = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def allreduce(rounds=7):
    """(In each of 2 processes) median ms of irax's and mpi4py's all-reduce of the pytree."""
    import irax.distributed  # (starts MPI: only in the processes mpiexec runs)
    import irax.numpy as jnp
    from mpi4py import MPI

    irax.distributed.initialize()
    rng = np.random.default_rng(irax.process_index())
    arrays = [rng.normal(size=n).astype(np.float32) for n in SIZES]
    tree = {f"g{i}": jnp.asarray(a) for i, a in enumerate(arrays)}
    outs = [np.empty_like(a) for a in arrays]

    def with_irax():
        irax.block_until_ready(irax.distributed.all_reduce(tree))

    def with_mpi4py():
        for a, out in zip(arrays, outs):
            MPI.COMM_WORLD.Allreduce(a, out, op=MPI.SUM)

    times = {"irax": [], "mpi4py": []}
    for _ in range(rounds + 1):  # (the first round warms up)
        for name, fn in (("irax", with_irax), ("mpi4py", with_mpi4py)):
            MPI.COMM_WORLD.Barrier()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    np.testing.assert_allclose(np.asarray(irax.distributed.all_reduce(tree)["g2"]),
                               MPI.COMM_WORLD.allreduce(arrays[2]), rtol=1e-6)
    if irax.process_index() == 0:
        irax_ms, mpi_ms = (1e3 * statistics.median(times[k][1:]) for k in ("irax", "mpi4py"))
        print(f"all-reduce of {sum(SIZES) / 1e6:g}M float32 in {len(SIZES)} leaves, 2 processes: irax {irax_ms:.1f} ms,"
              f" mpi4py {mpi_ms:.1f} ms: irax/mpi4py = {irax_ms / mpi_ms:.2f} (goal <= 1.5); load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


MODELS = {"784-512-512-10": ["--features", "784", "--width", "512", "--outputs", "10", "--steps", "40"],
          "16-256-256-4": ["--features", "16", "--width", "256", "--outputs", "4", "--steps", "300"]}
# One thread each: NumPy's BLAS threads (the example's data) spin after each
# product, which took the cores from irax's worker (2 processes: 2x slower).
ONE_THREAD = {"IRAX_CPU_WORKERS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def samples_per_second(processes, model):
    """samples/s of examples/data_parallel.py on `model` in `processes` processes of one thread each."""
    command = [sys.executable, "examples/data_parallel.py", "--batch", "512", *MODELS[model]]
    if processes > 1:
        command = [MPIEXEC, "-bind-to", "core", "-n", str(processes), *command]
    elif shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **ONE_THREAD}, capture_output=True,
                          text=True, check=True)
    return float(done.stdout.split()[-2])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "allreduce":
        return allreduce()
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    subprocess.run([MPIEXEC, "-n", "2", sys.executable, __file__, "allreduce"], check=True)
    for model in MODELS:
        speeds = {1: [], 2: []}
        for _ in range(rounds):
            for processes in (1, 2):
                speeds[processes].append(samples_per_second(processes, model))
        one, two = (statistics.median(speeds[p]) for p in (1, 2))
        print(f"data-parallel MLP {model} step (batch 512), one thread a process: 1 process {one:.0f} samples/s, "
              f"2 processes {two:.0f} samples/s: {two / one:.2f}x (goal >= 1.6); runs {speeds}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
