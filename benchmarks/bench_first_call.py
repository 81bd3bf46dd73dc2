"""First calls in fresh processes: eager ops, irax with and without its
eager kernel library (irax/frontend/kernel_library.py), and jitted programs,
irax with and without tiered jit (irax/frontend/tiered.py), beside JAX.

    .venv/bin/python benchmarks/bench_first_call.py [--repeat 3] [--full-library] [--only eager|programs]

Each run is a new Python process, timed from the inside:

  import      `import numpy, <the library>.numpy`
  first op    `jnp.sin(x)` on an array already on the device: the first
              call of one eager op (irax: find its kernel, load, run)
  line        the six eager ops of a notebook line, from a fresh import:
              `x = jnp.arange(10.0); y = jnp.sin(x) * 2 + 1; z = jnp.exp(-y).sum()`
              (sin, mul, add, neg, exp, reduce_sum), then float(z)

Rows: irax with the library built (`irax cache warm`, only the line's ops
unless --full-library: the lookup of a kernel reads its primitive's module
only, so the rest does not change the figures) and nothing else in its cache;
irax without the library (IRAX_KERNEL_LIBRARY=none) and an empty cache, with
tiered jit (each kernel evaluated with NumPy while it compiles in the
background) and without (every kernel compiled before it runs); without the
library, with the cache those compiles left (traced kernels read from disk);
JAX. Runs are interleaved, medians printed. irax's modules are read
compiled to bytecode, as JAX's are (timing.byte_compiled).

Programs, each in a fresh process whose compile cache holds the library and
nothing else (a fresh copy of it each run), arguments on the device first:

  first       the first call, until its results are ready: trace + passes +
              compile + run (tiers off), or trace + passes + tier 1 (NumPy
              evaluation) while the compile starts in the background
  second      the next call (tiered: tier 1 again, beside the compile)
  compiled    how long the background compile took after that (tiered.wait)
  swap        the call that loads the compiled program and runs it
  warm        a call after that

for the MLP 784-512-512-10 SGD step (batch 128; bench_jit.py), jit(grad) of
softmax attention (4 heads, 128 tokens, 64 dims) and jit(grad) of the
200-step lax.scan RNN (H = 128, batch 8; bench_loops.py).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np
from timing import byte_compiled

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE_OPS = "sin,mul,add,neg,exp,reduce_sum"

SCRIPT = """
import json, time
t0 = time.perf_counter()
import numpy as np, {module} as jnp
t1 = time.perf_counter()
x = jnp.asarray(np.arange(10, dtype=np.float32))
x.block_until_ready()
t2 = time.perf_counter()
jnp.sin(x).block_until_ready()
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "first op": t3 - t2}}))
"""

LINE = """
import json, time
t0 = time.perf_counter()
import numpy as np, {module} as jnp
t1 = time.perf_counter()
x = jnp.arange(10.0); y = jnp.sin(x) * 2 + 1; z = jnp.exp(-y).sum()
float(z)
t2 = time.perf_counter()
print(json.dumps({{"line": t2 - t1}}))
"""


PROGRAM = """
import json, sys, time
sys.path.insert(0, {here!r})
import numpy as np
import {lib} as lib, {lib}.numpy as jnp
from bench_first_call import program
fn, args = program({name!r}, lib, jnp)

def call():
    start = time.perf_counter()
    [x.block_until_ready() for x in lib.tree_util.tree_leaves(fn(*args))]
    return time.perf_counter() - start

[x.block_until_ready() for x in lib.tree_util.tree_leaves(args)]
times = {{"first": call(), "second": call()}}
if {tiered}:
    from irax.frontend import tiered
    start = time.perf_counter()
    tiered.wait()
    times["compiled"] = time.perf_counter() - start
    times["swap"] = call()
times["warm"] = call()
print(json.dumps(times))
"""
PROGRAMS = ("MLP SGD step", "jit(grad) attention", "jit(grad) scan RNN")


def program(name, lib, jnp):
    """(the jitted function, its arguments) of one of PROGRAMS, for irax or JAX (`lib`)."""
    from bench_jit import mlp_data, mlp_step  # (imported here: they import both libraries)
    from bench_loops import H0, W, XS, rnn
    if name == "MLP SGD step":
        return mlp_step(jnp, lib.nn, lib.jit, lib.grad), mlp_data(jnp.asarray)
    if name == "jit(grad) scan RNN":
        return rnn(lib, jnp, {})[1], (jnp.asarray(W), jnp.asarray(H0), jnp.asarray(XS))
    rng = np.random.default_rng(0)

    def attention(q, k, v):
        weights = lib.nn.softmax(jnp.einsum("hqd,hkd->hqk", q, k) / 8.0, axis=-1)
        return jnp.sum(jnp.einsum("hqk,hkd->hqd", weights, v) ** 2)

    qkv = [jnp.asarray(rng.standard_normal((4, 128, 64)).astype(np.float32)) for _ in range(3)]
    return lib.jit(lib.grad(attention, argnums=(0, 1, 2))), qkv


def measure_programs(base, library_dir, work, repeat):
    """{row: {program: [times of each run]}}, runs interleaved."""
    here = os.path.dirname(os.path.abspath(__file__))

    def fresh_cache():
        directory = tempfile.mkdtemp(dir=work)
        shutil.copytree(library_dir, directory, dirs_exist_ok=True)
        return directory

    rows = {
        "irax, tiered": ("irax", True, lambda: dict(base, IRAX_TIERED_JIT="1", IRAX_CACHE_DIR=fresh_cache())),
        "irax, tiers off": ("irax", False, lambda: dict(base, IRAX_TIERED_JIT="0", IRAX_CACHE_DIR=fresh_cache())),
        "jax": ("jax", False, lambda: dict(base, JAX_PLATFORMS="cpu")),
    }
    times = {row: {name: [] for name in PROGRAMS} for row in rows}
    for _ in range(repeat):
        for name in PROGRAMS:
            for row, (lib, tiered, env) in rows.items():
                code = PROGRAM.format(here=here, lib=lib, name=name, tiered=tiered)
                times[row][name].append(run(code, dict(env(), IRAX_DISABLE_CACHE="0")))
    return times


def print_programs(times, repeat):
    keys = ("first", "second", "compiled", "swap", "warm")
    print(f"\n{'first calls of programs, medians of ' + str(repeat):<46}" + "".join(f"{k:>10}" for k in keys))
    for name in PROGRAMS:
        jax_first = statistics.median(r["first"] for r in times["jax"][name])
        for row, by_name in times.items():
            runs = by_name[name]
            cells = [f"{statistics.median(r[k] for r in runs) * 1e3:7.0f} ms" if k in runs[0] else f"{'':>10}"
                     for k in keys]
            ratio = statistics.median(r["first"] for r in runs) / jax_first
            print(f"{name + ', ' + row:<46}" + "".join(cells) + f"   first {ratio:4.2f}x JAX's")


def run(code, env):
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(module, env):
    return {**run(SCRIPT.format(module=module), env), **run(LINE.format(module=module), env)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full-library", action="store_true", help="build the whole library, not the line's ops")
    parser.add_argument("--only", choices=("eager", "programs"), help="one of the two tables")
    args = parser.parse_args()
    base = dict(os.environ, IRAX_PLATFORMS="cpu", IRAX_LOG_COMPILES="0")
    with tempfile.TemporaryDirectory() as work:
        base = byte_compiled(base, os.path.join(work, "bytecode"))
        library_dir, warm_dir = os.path.join(work, "library"), os.path.join(work, "warm")
        warm = [sys.executable, "-c", "import sys; from irax.cli import main; sys.exit(main(sys.argv[1:]))",
                "cache", "warm"] + ([] if args.full_library else ["--ops", LINE_OPS])
        subprocess.run(warm, env=dict(base, IRAX_CACHE_DIR=library_dir), check=True, cwd=ROOT)
        if args.only != "eager":
            programs = measure_programs(base, library_dir, work, args.repeat)
        if args.only == "programs":
            print_programs(programs, args.repeat)
            return
        cold = dict(base, IRAX_KERNEL_LIBRARY="none")
        rows = {
            "irax, library": lambda: measure("irax.numpy", dict(base, IRAX_CACHE_DIR=library_dir)),
            "irax, empty cache, tiered": lambda: measure("irax.numpy", dict(
                cold, IRAX_TIERED_JIT="1", IRAX_CACHE_DIR=tempfile.mkdtemp(dir=work))),
            "irax, empty cache, tiers off": lambda: measure("irax.numpy", dict(
                cold, IRAX_TIERED_JIT="0", IRAX_CACHE_DIR=tempfile.mkdtemp(dir=work))),
            "irax, no library, warm cache": lambda: measure("irax.numpy", dict(cold, IRAX_CACHE_DIR=warm_dir)),
            "jax": lambda: measure("jax.numpy", dict(base, JAX_PLATFORMS="cpu")),
        }
        measure("irax.numpy", dict(cold, IRAX_TIERED_JIT="0", IRAX_CACHE_DIR=warm_dir))  # fill it
        times = {name: [] for name in rows}
        for _ in range(args.repeat):
            for name, fn in rows.items():
                times[name].append(fn())
    print(f"{'fresh process, medians of ' + str(args.repeat):<34} {'import':>9} {'first op':>10} {'six-op line':>12}")
    for name, runs in times.items():
        cells = [statistics.median(r[k] for r in runs) for k in ("import", "first op", "line")]
        print(f"{name:<34} {cells[0] * 1e3:7.0f} ms {cells[1] * 1e3:7.1f} ms {cells[2] * 1e3:9.1f} ms")
    if args.only != "eager":
        print_programs(programs, args.repeat)


if __name__ == "__main__":
    main()
