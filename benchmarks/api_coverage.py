"""How much of JAX's public API irax has, by name.

    .venv/bin/python benchmarks/api_coverage.py [-v]

For each namespace pair (jax.numpy / irax.numpy, jax.lax / irax.lax, ...):
how many of JAX's public names irax also has, leaving out what JAX marks
deprecated (its `_deprecations` table) and, in lax, the primitives (`*_p`).
A submodule counts as its names (jnp.linalg's functions, not "linalg").
-v lists the missing names.
"""
import importlib
import sys
import types

PAIRS = ["numpy", "numpy.linalg", "numpy.fft", "lax", "lax.linalg", "nn", "nn.initializers", "random",
         "scipy.special", "scipy.linalg", "scipy.stats", "scipy.signal", "scipy.optimize", "scipy.ndimage",
         "scipy.fft", "scipy.integrate", "scipy.interpolate", "scipy.sparse.linalg", "scipy.cluster.vq",
         "example_libraries.stax", "example_libraries.optimizers", "tree", "tree_util", "custom_batching", ""]


def public_names(module):
    deprecated = set(getattr(module, "_deprecations", {}))
    return {n for n in dir(module)
            if not n.startswith("_") and not n.endswith("_p") and n not in deprecated
            and not isinstance(getattr(module, n, None), types.ModuleType)}


def coverage(suffix):
    """(names JAX has, of them the ones irax lacks) for jax.<suffix>."""
    jax_module = importlib.import_module("jax" + (f".{suffix}" if suffix else ""))
    try:
        irax_module = importlib.import_module("irax" + (f".{suffix}" if suffix else ""))
        ours = set(dir(irax_module))
    except ImportError:
        ours = set()
    theirs = public_names(jax_module)
    return theirs, sorted(theirs - ours)


def main():
    verbose = "-v" in sys.argv
    for suffix in PAIRS:
        theirs, missing = coverage(suffix)
        have = len(theirs) - len(missing)
        name = suffix or "(top level)"
        print(f"{name:28} {have:4} of {len(theirs):4}  {100 * have / max(len(theirs), 1):5.1f}%")
        if verbose and missing:
            print("    missing: " + " ".join(missing))


if __name__ == "__main__":
    main()
