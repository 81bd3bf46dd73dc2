"""First eager calls in fresh processes: irax with and without its eager
kernel library (irax/frontend/kernel_library.py), beside JAX.

    .venv/bin/python benchmarks/bench_first_call.py [--repeat 3] [--full-library]

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
irax without the library (IRAX_KERNEL_LIBRARY=none) and an empty cache (every
kernel compiled); the same with the cache those compiles left (traced kernels
read from disk); JAX. Runs are interleaved, medians printed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

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


def run(code, env):
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(module, env):
    return {**run(SCRIPT.format(module=module), env), **run(LINE.format(module=module), env)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full-library", action="store_true", help="build the whole library, not the line's ops")
    args = parser.parse_args()
    base = dict(os.environ, IRAX_PLATFORMS="cpu", IRAX_LOG_COMPILES="0")
    with tempfile.TemporaryDirectory() as work:
        library_dir, warm_dir = os.path.join(work, "library"), os.path.join(work, "warm")
        warm = [sys.executable, "-c", "import sys; from irax.cli import main; sys.exit(main(sys.argv[1:]))",
                "cache", "warm"] + ([] if args.full_library else ["--ops", LINE_OPS])
        subprocess.run(warm, env=dict(base, IRAX_CACHE_DIR=library_dir), check=True, cwd=ROOT)
        rows = {
            "irax, library": lambda: measure("irax.numpy", dict(base, IRAX_CACHE_DIR=library_dir)),
            "irax, no library, empty cache": lambda: measure("irax.numpy", dict(
                base, IRAX_KERNEL_LIBRARY="none", IRAX_CACHE_DIR=tempfile.mkdtemp(dir=work))),
            "irax, no library, warm cache": lambda: measure("irax.numpy", dict(
                base, IRAX_KERNEL_LIBRARY="none", IRAX_CACHE_DIR=warm_dir)),
            "jax": lambda: measure("jax.numpy", dict(base, JAX_PLATFORMS="cpu")),
        }
        measure("irax.numpy", dict(base, IRAX_KERNEL_LIBRARY="none", IRAX_CACHE_DIR=warm_dir))  # fill it
        times = {name: [] for name in rows}
        for _ in range(args.repeat):
            for name, fn in rows.items():
                times[name].append(fn())
    print(f"{'fresh process, medians of ' + str(args.repeat):<34} {'import':>9} {'first op':>10} {'six-op line':>12}")
    for name, runs in times.items():
        cells = [statistics.median(r[k] for r in runs) for k in ("import", "first op", "line")]
        print(f"{name:<34} {cells[0] * 1e3:7.0f} ms {cells[1] * 1e3:7.1f} ms {cells[2] * 1e3:9.1f} ms")


if __name__ == "__main__":
    main()
