"""Figures for several processes over MPI (irax.distributed), on this machine.

    .venv/bin/python benchmarks/bench_distributed.py [rounds] [model ...]   (a model: 784-512-512-10, 16-256-256-4)

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
   1.6x. Beside them, interleaved, the ceiling: the same 2 processes with
   no all-reduce at all (each trains on its shard alone), which no
   communication can beat. On a shared machine both ratios fall with the
   load (each process shares its core with what else runs there, and each
   synchronous step waits for the slower process); the load is printed
   beside the figures.
3. Where a step's time goes (`breakdown`), in 1 and 2 processes: the median
   ms a step making the batch, computing the gradient, in the all-reduce (of
   which "waiting" for the other process to arrive and "moving" the data
   in MPI; the rest is irax's work on the host) and in the SGD update, each
   phase waited for, in each process, and the CPU time the process took a
   step (which waiting by spinning counts in). In parentheses, each phase's
   fastest: what a step would take with the cores to itself.
Needs mpi4py and mpiexec (pip install 'irax[mpi]'). Parts run as
subprocesses of this file: `allreduce`, `steps MODEL [alone]` and
`breakdown MODEL` (under mpiexec, or alone for one process).
"""
import importlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import irax

ROOT = Path(__file__).parents[1]
SIZES = (4_000_000, 4_000_000, 2_000_000)
MPIEXEC = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def allreduce(rounds=7):
    """(In each of 2 processes) median ms of irax's and mpi4py's all-reduce of the pytree."""
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
BATCH = 512
# One thread each: NumPy's BLAS threads (the example's data) spin after each
# product, which took the cores from irax's worker (2 processes: 2x slower).
ONE_THREAD = {"IRAX_CPU_WORKERS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
# (processes, whether they average their gradients: False is the ceiling)
RUNS = {"1 process": (1, True), "2 processes": (2, True), "2 alone": (2, False)}


def _example(model):
    """examples/data_parallel.py, imported, and the keyword arguments of its train() for `model`."""
    sys.path.insert(0, str(ROOT / "examples"))
    import data_parallel
    options = MODELS[model]
    sizes = {options[i].lstrip("-"): int(options[i + 1]) for i in range(0, len(options), 2)}
    return data_parallel, dict(batch=BATCH, **sizes)


def steps(model, alone=False):
    """(In each process) examples/data_parallel.py's training on `model`: process 0 prints samples/s."""
    example, sizes = _example(model)
    irax.distributed.initialize()
    _, speed = example.train(**sizes, average=not alone)
    if irax.process_index() == 0:
        print(f"{speed:.1f} samples/s")


def breakdown(model):
    """(In each process) the median and fastest ms of each phase of the example's step, each waited for."""
    example, sizes = _example(model)
    irax.distributed.initialize()
    world = irax.distributed._world()
    rank, size = irax.process_index(), irax.process_count()
    # (the all-reduce's parts: the header exchange returns once every process has reached the collective,
    # the rest of the collective moves the data; the rest of all_reduce is irax's work on the host)
    timed = {"_agree": [], "_collective": []}
    for method, times in timed.items():
        def timing(*args, untimed=getattr(world, method), times=times):
            start = time.perf_counter()
            untimed(*args)
            times.append(time.perf_counter() - start)
        setattr(world, method, timing)
    shard = slice(rank * BATCH // size, (rank + 1) * BATCH // size)
    params = example.init(sizes["features"], sizes["width"], sizes["outputs"])
    phases = {name: [] for name in ("batch", "gradient", "all-reduce", "sgd")}
    batches = example.batches(sizes["steps"], BATCH, sizes["features"], sizes["outputs"], shard)
    cpu = []  # (this process's CPU time a step: under load, what waiting by spinning costs it)
    for step in range(sizes["steps"]):
        cpu_start = time.process_time()
        marks = [time.perf_counter()]
        x, y = next(batches)
        marks.append(time.perf_counter())
        grads = irax.block_until_ready(example.gradient(params, x, y))
        marks.append(time.perf_counter())
        grads = irax.block_until_ready(irax.distributed.all_reduce(grads, op="mean"))
        marks.append(time.perf_counter())
        params = irax.block_until_ready(example.sgd(params, grads))
        marks.append(time.perf_counter())
        cpu.append(time.process_time() - cpu_start)
        for times, start, stop in zip(phases.values(), marks, marks[1:]):
            times.append(stop - start)
    if size > 1:  # (one collective a step: the step's all-reduce)
        phases["waiting"] = timed["_agree"]
        phases["moving"] = [whole - agree for whole, agree in zip(timed["_collective"], timed["_agree"])]
    median, fastest = ({name: 1e3 * summary(times[1:]) for name, times in phases.items()}  # (the first compiles)
                       for summary in (statistics.median, min))
    text = ", ".join(f"{name} {median[name]:.2f} ({fastest[name]:.2f})" for name in median)
    in_step = [name for name in phases if name not in ("waiting", "moving")]
    print(f"  process {rank} of {size}: {text} ms (step {sum(median[k] for k in in_step):.2f} "
          f"({sum(fastest[k] for k in in_step):.2f}), CPU time {1e3 * statistics.median(cpu[1:]):.2f})\n",
          end="", flush=True)  # (one write: mpiexec interleaves the processes' writes)


def _command(processes, *args):
    """This file run with `args` in `processes` processes of one thread each, each bound to a core."""
    command = [sys.executable, __file__, *args]
    if processes > 1:
        return [MPIEXEC, "-bind-to", "core", "-n", str(processes), *command]
    return ["taskset", "-c", "0", *command] if shutil.which("taskset") else command


def _output(processes, *args):
    """The output of this file run with `args` in `processes` processes of one thread each (its errors if it fails)."""
    done = subprocess.run(_command(processes, *args), cwd=ROOT, env={**os.environ, **ONE_THREAD},
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} in {processes} process(es) failed:\n{done.stderr[-3000:]}")
    return done.stdout


def samples_per_second(run, model):
    """samples/s of examples/data_parallel.py on `model` in the processes of RUNS[run]."""
    processes, average = RUNS[run]
    return float(_output(processes, "steps", model, *([] if average else ["alone"])).split()[-2])


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("allreduce", "steps", "breakdown"):
        importlib.import_module("irax.distributed")  # (starts MPI: only in the processes run here)
        return {"allreduce": allreduce, "steps": steps, "breakdown": breakdown}[sys.argv[1]](*sys.argv[2:])
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    models = sys.argv[2:] or list(MODELS)
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    if models == list(MODELS):
        subprocess.run([MPIEXEC, "-n", "2", sys.executable, __file__, "allreduce"], check=True)
    for model in models:
        speeds = {run: [] for run in RUNS}
        for _ in range(rounds):
            for run in RUNS:
                speeds[run].append(samples_per_second(run, model))
        one, two, alone = (statistics.median(speeds[run]) for run in RUNS)
        print(f"data-parallel MLP {model} step (batch {BATCH}), one thread a process: 1 process {one:.0f} samples/s,"
              f" 2 processes {two:.0f} samples/s: {two / one:.2f}x (goal >= 1.6); ceiling, 2 processes without the"
              f" all-reduce: {alone:.0f} samples/s, {alone / one:.2f}x; load average {os.getloadavg()[0]:.1f}; runs"
              f" {({run: [round(v) for v in values] for run, values in speeds.items()})}")
        print(f"where the time of a step goes, {model}:")
        for processes in (1, 2):
            print(_output(processes, "breakdown", model).rstrip())
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
