"""Shared by the test modules: random inputs, a NumPy comparison, devices,
and the example plugin package installed for the session."""
import contextlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import distributions
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import irax
from irax import Array, device_put
from irax.backends import cache
from irax.plugins import registry
from irax.plugins.registry import get_default_device

EXAMPLE_PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "plugins" / "irax_example"

# JAX, the oracle, compiles each program it runs with XLA (~60 ms on 2 busy
# cores): in a warm run of tests/test_vmap.py 40% of the time. Its persistent
# cache keeps those programs between runs, as irax's keeps its own; beside
# irax's (an empty IRAX_CACHE_DIR starts both cold, IRAX_DISABLE_CACHE=1 turns
# both off). Set before the tests import jax, which reads these at import.
if not irax.config.irax_disable_cache:
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(irax.config.irax_cache_dir, "jax-oracle"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

rng = np.random.default_rng(0)
TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float16): 2e-3, np.dtype(ml_dtypes.bfloat16): 2e-2}


def sample(shape, dtype=np.float32):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if np.issubdtype(dtype, np.unsignedinteger):
        return rng.integers(0, 256, shape).astype(dtype)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-9, 10, shape).astype(dtype)
    return rng.uniform(-2, 2, shape).astype(dtype)


def check(actual, expected, tol=TOL[np.dtype(np.float32)]):
    expected = np.asarray(expected)
    assert isinstance(actual, Array)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(np.asarray(actual).astype(np.float64), expected.astype(np.float64), rtol=tol, atol=tol)


def same_as_jax(ours, theirs, tol=1e-5):
    """Pytrees of irax's and JAX's results alike: as many leaves, each of one
    shape, dtype and weak type, and values within `tol`."""
    import jax  # (the oracle: a test extra)
    ours_leaves, theirs_leaves = irax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    for a, b in zip(ours_leaves, theirs_leaves):
        assert (a.shape, a.dtype, a.weak_type) == (b.shape, b.dtype, b.weak_type)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def error_of(fn) -> tuple:
    """(type name, message) of what fn() raises, to compare with JAX's."""
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value).__name__, str(info.value)


def check_central_differences(gradients, values, points, shape, eps=1e-2, tol=3e-2):
    """Each of `gradients` (name -> array of `shape`) against central
    differences of the jitted `values` (dict of points -> dict of scalars),
    one element of every point moved at a time."""
    for i in np.ndindex(shape):
        step = np.zeros(shape, np.float32)
        step[i] = eps
        hi = values({name: x + step for name, x in points.items()})
        lo = values({name: x - step for name, x in points.items()})
        for name in points:
            numerical = (float(hi[name]) - float(lo[name])) / (2 * eps)
            np.testing.assert_allclose(float(gradients[name][i]), numerical, rtol=tol, atol=tol, err_msg=(name, i))


def run_module(module, inputs, out_avals, device=None) -> list:
    """Compile an MLIR module (or its text) irax-style and run its `@main` on
    `inputs` (irax or NumPy arrays) on `device` (default: the default one):
    one Array per aval of `out_avals`."""
    device = device or get_default_device()
    program = device.load(device.backend.compile(str(module)))
    buffers = [device_put(x, device)._buffer for x in inputs]
    results, ready = program(buffers, len(out_avals))
    return [Array(b, a, device, ready=ready) for b, a in zip(results, out_avals)]


# lavapipe loses a device for good when IREE 3.13's Vulkan queue signals its
# wakeup semaphore out of order (queue.c:2867, a race between IREE's own
# threads: docs/architecture.md), and irax puts a new device in its place.
# A test that fails with a DeviceError saying so runs once more, on the new
# device (conftest.pytest_runtest_protocol), and the later tests use the new
# one. Any DeviceError that says so counts (irax asks the device when IREE's
# error does not say: runtime.Device._is_lost).
DEVICE_LOST = "the device itself is lost"


def device_or_skip(name):
    """The first device of platform `name`, or a skip saying why there is
    none; a failure if it is a lost device that irax could not replace (its
    tests would fail one by one, saying less)."""
    try:
        device = irax.devices(name)[0]
    except RuntimeError as e:
        pytest.skip(str(e))
    lost = getattr(device, "lost_for_good", None)  # (a plugin's device may lack it)
    if lost:
        pytest.fail(f"{device} was lost ({lost}) and irax could not make a new device in its place, so the {name} "
                    "tests of this process cannot run", pytrace=False)
    return device


def _venv_distributions():
    return sorted((d.metadata["Name"], d.version) for d in distributions(path=[sysconfig.get_path("purelib")]))


@pytest.fixture(scope="session")
def example_plugin(tmp_path_factory):
    """The environment of a Python that has examples/plugins/irax_example
    installed: pip installs a copy of it (building writes next to the
    sources) into a temporary directory, which PYTHONPATH puts on sys.path,
    where importlib.metadata finds its entry points. (~3 s, once a session.)"""
    source = shutil.copytree(EXAMPLE_PLUGIN, tmp_path_factory.mktemp("source") / EXAMPLE_PLUGIN.name)
    site = tmp_path_factory.mktemp("site")
    before = _venv_distributions()
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--no-index",
                    "--no-cache-dir", "--disable-pip-version-check", "--target", str(site), str(source)],
                   check=True, capture_output=True)
    assert _venv_distributions() == before
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


def use_example_plugin(request):
    """Make the example plugin's backends (vmvx, sync-cpu) registered here,
    as if installed, for the rest of the session, and for the child
    processes of the test asking (its PYTHONPATH). irax discovers plugins
    once, so it is told to discover them again."""
    env = request.getfixturevalue("example_plugin")
    site = env["PYTHONPATH"].split(os.pathsep)[0]
    if site not in sys.path:
        sys.path.append(site)
        registry.backends.cache_clear()
        registry.passes.cache_clear()
    request.getfixturevalue("monkeypatch").setenv("PYTHONPATH", env["PYTHONPATH"])


@contextlib.contextmanager
def x64_mode(enabled: bool):
    """irax and JAX (the oracle) both in 64-bit mode or not, as each was after."""
    jax = pytest.importorskip("jax")
    old = irax.config.irax_enable_x64, jax.config.jax_enable_x64
    irax.config.update("irax_enable_x64", enabled)
    jax.config.update("jax_enable_x64", enabled)
    try:
        yield
    finally:
        irax.config.update("irax_enable_x64", old[0])
        jax.config.update("jax_enable_x64", old[1])


def encoded(thunk) -> dict:
    """`thunk()` as a child process reports it (JSON): its exception's type
    and words, or its leaves' shapes, dtypes and values (a dict's in key order)."""
    try:
        out = thunk()
    except Exception as error:  # the error is the result
        return {"error": type(error).__name__, "message": str(error)}
    leaves = [np.asarray(leaf) for leaf in _sorted_leaves(out)]
    return {"leaves": [{"shape": list(x.shape), "dtype": str(x.dtype), "value": x.tolist()} for x in leaves]}


def _sorted_leaves(tree) -> list:
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _sorted_leaves(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _sorted_leaves(item)]
    return [tree]


def child_results(test_file: str, library: str, env: dict) -> dict:
    """What the test file, run as a script for `library` in a fresh process
    with `env` added, prints last (one JSON line)."""
    result = subprocess.run([sys.executable, os.path.abspath(test_file), library], capture_output=True, text=True,
                            timeout=900, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])

# ---------------------------------------------------------------------------
# The native CPU kernels' tests (test_cpu_kernels.py, test_cpu_kernels_jacobi.py):
# a kernel compiled alone behind a public @main, compared with NumPy references.

KERNEL_FLAGS = ["--iree-llvmcpu-target-cpu=host", "--iree-input-demote-f64-to-f32=false"]
KERNEL_ELEMENTS = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64}
KERNEL_TOL = {np.float32: 2e-5, np.float64: 1e-12}


def tensor_type(shape, dtype):
    return f"tensor<{''.join(f'{d}x' for d in shape)}{np.dtype(dtype).name.replace('float', 'f').replace('int', 'i')}>"


def compile_kernel(text, args, results, dtype):
    """`text` (a kernel's function) called by a public @main, compiled
    through irax's compile cache (a warm run compiles none of these) and
    loaded on irax's CPU device."""
    rtypes = ", ".join(results)
    names = [f"%r#{n}" for n in range(len(results))] if len(results) > 1 else ["%r"]
    count = f":{len(results)}" if len(results) > 1 else ""
    params = ", ".join(f"%a{n}: {t}" for n, t in enumerate(args))
    operands = ", ".join(f"%a{n}" for n in range(len(args)))
    text += (f"\nfunc.func @main({params}) -> ({rtypes}) {{\n"
             f"  %r{count} = call @kernel({operands}) : ({', '.join(args)}) -> ({rtypes})\n"
             f"  return {', '.join(names)} : {rtypes}\n}}\n")
    cpu = irax.devices("cpu")[0]
    program = cpu.load(cache.cached_compile(text, "llvm-cpu", KERNEL_FLAGS))
    result_dtypes = [KERNEL_ELEMENTS[t.rpartition("x")[2].rstrip(">")] for t in results]

    def run(*arrays):
        views, call = program([cpu.put(np.ascontiguousarray(a, dtype)) for a in arrays], len(results))
        out = tuple(cpu.fetch_after(call, v, d, tuple(v.shape)) for v, d in zip(views, result_dtypes))
        return out if len(out) > 1 else out[0]

    return run


def assert_close(actual, expected, rtol):
    """Equal NaN and inf patterns, finite values close (relative to the largest)."""
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(actual[~finite & ~np.isnan(expected)], expected[~finite & ~np.isnan(expected)])
    scale = np.max(np.abs(expected[finite]), initial=1)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=0, atol=rtol * scale)
