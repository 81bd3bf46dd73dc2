"""Call overhead of irax beside JAX, measured in one process (issue 17, item 3).

    .venv/bin/python benchmarks/bench_call_overhead.py [rounds]

Each row times a warm call from Python to its results being ready, on
arrays so small that the call's own cost is all there is:

    jit a + b         jit(lambda a, b: a + b) on two float32[4]
    eager add         jnp.add on two float32[4]
    jit 20-leaf tree  jit of p -> {k: 0.9 * w + 0.1} on a dict of 20 float32[4]
    jit 200-leaf tree the same on 200 leaves
    jit a * s         jit(lambda a, s: a * s), s the Python float 0.5
    jit a[i], new i   jit(lambda a, i: a[i]), i a Python int new at each call (a loop's counter)

Every round times each row once for irax and once for JAX, in turns (the
machine is shared, so load comes and goes): a round's figure is the median
of timing.timed's single calls, and a row's is the median over rounds.
Printed: irax's time, JAX's, and JAX/irax (above 1: irax is faster).
"""
import itertools
import statistics
import sys

import irax
import irax.numpy as jnp
from timing import timed

try:
    import jax
    import jax.numpy as jjnp
except ImportError:  # irax's figures still stand alone
    jax = jjnp = None


class _Ready:
    """A pytree result as timing.timed wants one: with block_until_ready."""

    def __init__(self, tree, library):
        self.tree, self.library = tree, library

    def block_until_ready(self):
        return self.library.block_until_ready(self.tree)


def _tree_step(library):
    step = library.jit(lambda p: {k: 0.9 * w + 0.1 for k, w in p.items()})
    return lambda p: _Ready(step(p), library)


def _new_index_each_call(library):
    """jit(lambda a, i: a[i]) called as a loop calls it: i a Python int
    never passed before (weakly typed: one program for every i)."""
    step, counter = library.jit(lambda a, i: a[i % 4]), itertools.count()
    return lambda a: step(a, next(counter))


def cases(lib, np_):
    """{row name: (function, arguments)} for one library (irax or jax)."""
    a, b = np_.arange(4.0, dtype="float32"), np_.ones(4, dtype="float32")
    add = lib.jit(lambda a, b: a + b)
    trees = {n: {f"w{i:03d}": np_.full(4, i, dtype="float32") for i in range(n)} for n in (20, 200)}
    return {
        "jit a + b, float32[4]": (add, (a, b)),
        "eager jnp.add, float32[4]": (np_.add, (a, b)),
        "jit 20-leaf tree": (_tree_step(lib), (trees[20],)),
        "jit 200-leaf tree": (_tree_step(lib), (trees[200],)),
        "jit a * s, Python float s": (lib.jit(lambda a, s: a * s), (a, 0.5)),
        "jit a[i], new Python int i": (_new_index_each_call(lib), (a,)),
    }


def main(rounds=7, calls=2000):
    ours = cases(irax, jnp)
    theirs = cases(jax, jjnp) if jax else {}
    times = {(name, who): [] for name in ours for who in ("irax", "jax")}
    for _ in range(rounds):
        for name in ours:
            for who, table in (("irax", ours), ("jax", theirs)):
                if name in table:
                    fn, args = table[name]
                    times[name, who].append(timed(fn, *args, repeat=calls)[0])
    print(f"{'row':<28} {'irax':>10} {'jax':>10} {'jax/irax':>9}")
    for name in ours:
        t_irax = statistics.median(times[name, "irax"])
        line = f"{name:<28} {t_irax * 1e6:7.2f} us"
        if times[name, "jax"]:
            t_jax = statistics.median(times[name, "jax"])
            line += f" {t_jax * 1e6:7.2f} us {t_jax / t_irax:8.2f}x"
        print(line)


if __name__ == "__main__":
    main(*map(int, sys.argv[1:2]))
