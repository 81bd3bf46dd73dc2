"""The eager kernel library (irax/frontend/kernel_library.py): the forms a
call is brought to, library kernels' values against the traced kernels',
and a fresh process that runs its first eager ops without compiling.

The library is kept small here (`irax cache warm --ops`): three primitives,
three modules, built once into a temporary cache directory.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.backends import cache
from irax.cli import main as cli_main
from irax.cli.commands import library_primitives
from irax.config import config
from irax.frontend import eager, kernel_library
from irax.frontend.core import ShapedArray
from irax.plugins import registry

from helpers import device_or_skip

OPS = "add,sin,reduce_max"
F32 = np.dtype("float32")


def _aval(shape, dtype=F32):
    return ShapedArray(shape, np.dtype(dtype))


# ---------------------------------------------------------------------------
# Forms (no compile).

@pytest.mark.parametrize("shapes, out, kernel, views", [
    (((3, 4), (3, 4)), (3, 4), ((None,), (None,)), ((12,), (12,))),
    (((3, 4), ()), (3, 4), ((None,), ()), ((12,), None)),
    (((1, 1), (12,)), (1, 12), ((), (None,)), ((), None)),
    (((1,), (1, 1)), (1, 1), ((), ()), ((), ())),
])
def test_same_size_and_scalar_operands_run_on_rank_1_and_0(shapes, out, kernel, views):
    avals = tuple(_aval(s) for s in shapes)
    *_, (kernel_avals, params, in_views, out_views) = kernel_library.FORMS["add"](avals, {}, (_aval(out),))
    assert tuple(tuple(a.shape) for a in kernel_avals) == kernel
    assert in_views == views
    kernel_out = (12,) if any(kernel) else ()
    assert out_views == (None if out == kernel_out else out,)


def test_matrices_run_as_they_are_first_then_flattened():
    avals = (_aval((1, 5)), _aval(()))
    as_they_are, flat = kernel_library.FORMS["mul"](avals, {}, (_aval((1, 5)),))
    assert [a.shape for a in as_they_are[0]] == [(None, None), ()] and as_they_are[2:] == ((None, None), (None,))
    assert [a.shape for a in flat[0]] == [(None,), ()] and flat[2:] == (((5,), None), ((1, 5),))


@pytest.mark.parametrize("shapes, out, kernel, views", [
    (((3, 4), (4,)), (3, 4), ((None, None), (None,)), (None, None)),
    (((2, 3, 4), (1, 3, 4)), (2, 3, 4), ((None, None), (None,)), ((2, 12), (12,))),
    (((2, 3, 4), (2, 3, 1)), (2, 3, 4), ((None, None), (None, 1)), ((6, 4), (6, 1))),
    (((4, 1), (1, 5)), (4, 5), ((None, 1), (None,)), (None, (5,))),
])
def test_rows_and_columns_broadcast_on_a_matrix(shapes, out, kernel, views):
    avals = tuple(_aval(s) for s in shapes)
    (kernel_avals, params, in_views, out_views), = kernel_library.FORMS["add"](avals, {}, (_aval(out),))
    assert tuple(tuple(a.shape) for a in kernel_avals) == kernel
    assert in_views == views and out_views == (None if len(out) == 2 else out,)


@pytest.mark.parametrize("shapes, out", [
    (((3, 3, 4), (3, 1)), (3, 3, 4)),  # a broadcast in the middle
    (((2, 3, 4), (2, 1, 4)), (2, 3, 4)),
    (((2, 3, 4), (4,), (2, 1, 1)), (2, 3, 4)),  # a row and a column that split the dims apart
    (((0,), ()), (0,)),
])
def test_other_broadcasts_and_empty_arrays_keep_their_traced_kernels(shapes, out):
    assert kernel_library.FORMS["add"](tuple(_aval(s) for s in shapes), {}, (_aval(out),)) == []


@pytest.mark.parametrize("shape, axes, keepdims, view, kernel_axes, out_view", [
    ((3, 4), (0, 1), False, (12,), (0,), ()),
    ((3, 4), (0, 1), True, (12,), (0,), ()),
    ((2, 3, 4), (1, 2), False, (2, 12, 1), (1,), (2, 1)),
    ((2, 3, 4), (0,), True, (1, 2, 12), (1,), (1, 12)),
])
def test_a_reduction_over_adjacent_axes_runs_on_rank_1_or_3(shape, axes, keepdims, view, kernel_axes, out_view):
    params = {"axes": axes, "keepdims": keepdims, "dtype": F32}
    out = irax.eval_shape(lambda x: jnp.max(x, axis=axes, keepdims=keepdims), jnp.zeros(shape)).shape
    (kernel_avals, kernel_params, in_views, out_views), = kernel_library.FORMS["reduce_max"](
        (_aval(shape),), params, (_aval(out),))
    assert in_views == (view,) and kernel_params == {**params, "axes": kernel_axes, "keepdims": False}
    assert out_views == ((out if out_view != out else None),)
    assert len(kernel_avals[0].shape) == len(view)


def test_matrix_products_and_transposes_run_as_they_are():
    avals = (_aval((3, 1)), _aval((1, 4)))
    params = {"dimension_numbers": (((1,), (0,)), ((), ()))}
    (kernel_avals, kernel_params, in_views, out_views), = kernel_library.FORMS["dot_general"](avals, params,
                                                                                           (_aval((3, 4)),))
    assert [a.shape for a in kernel_avals] == [(None, None)] * 2  # dims of 1 too: nothing broadcasts
    assert kernel_params == params and in_views == (None, None) and out_views == (None,)


def test_a_reduction_over_axes_apart_keeps_its_traced_kernel():
    params = {"axes": (0, 2), "keepdims": False, "dtype": F32}
    assert kernel_library.FORMS["reduce_max"]((_aval((2, 3, 4)),), params, (_aval((3,)),)) == []


def test_every_library_op_is_a_primitive_with_kernels():
    prims = library_primitives()
    assert sorted(prims) == sorted(kernel_library.OPS)
    for name, prim in prims.items():
        assert any(kernel_library._accepts(prim, a, p) for a, p in kernel_library.catalogue(name)), name


def test_warm_refuses_an_op_it_does_not_have(capsys):
    assert cli_main(["cache", "warm", "--ops", "add,no_such_op"]) == 2
    assert "no_such_op" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# A small library, built by `irax cache warm` in a temporary cache directory.

def _env(cache_dir):
    return dict(os.environ, IRAX_CACHE_DIR=str(cache_dir), IRAX_PLATFORMS="cpu", IRAX_KERNEL_LIBRARY="all")


def _warm(cache_dir):
    run = subprocess.run([sys.executable, "-c", "import sys; from irax.cli import main; sys.exit(main(sys.argv[1:]))",
                          "cache", "warm", "--ops", OPS], capture_output=True, text=True, env=_env(cache_dir),
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp("kernel_library")
    run = _warm(cache_dir)
    assert "kernel library for cpu: 30 kernels of 3 primitives" in run.stdout
    assert "3/3 primitives" in run.stderr  # the progress bar's last state
    return cache_dir


FRESH = """
import json, sys
import numpy as np
import irax.numpy as jnp
from irax.backends import cache
from irax.frontend import kernel_library
from irax.plugins import registry

backend = registry.get_backend("cpu")
if any(cache.find(kernel_library.shard_key(op, backend)) is None for op in sys.argv[1].split(",")):
    print(json.dumps("stale"))  # irax's sources changed since the library was built: build it again
    sys.exit()
xn = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
x = jnp.asarray(xn)
results = {
    "x + x": (x + x, xn + xn),
    "x + 1.5": (x + 1.5, xn + np.float32(1.5)),
    "sin(x)": (jnp.sin(x), np.sin(xn)),
    "x.max()": (x.max(), xn.max()),
    "x.max(axis=1, keepdims=True)": (x.max(axis=1, keepdims=True), xn.max(axis=1, keepdims=True)),
    "int x + 2": (jnp.arange(7) + 2, np.arange(7) + 2),
}
for name, (got, want) in results.items():
    assert got.shape == want.shape, name
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, err_msg=name)
print(json.dumps(cache.stats()))
"""


def test_a_fresh_process_runs_library_ops_without_compiling(library_dir):
    for _ in range(5):
        run = subprocess.run([sys.executable, "-c", FRESH, OPS], capture_output=True, text=True,
                             env=_env(library_dir), timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        stats = json.loads(run.stdout.strip().splitlines()[-1])
        if stats != "stale":
            break
        _warm(library_dir)
    else:
        pytest.skip("irax's source files kept changing while this test ran (someone editing them)")
    assert stats["compiles"] == 0 and stats["disk_hits"] == 3, stats


def test_without_the_library_a_fresh_process_compiles(library_dir):
    run = subprocess.run([sys.executable, "-c", FRESH, OPS], capture_output=True, text=True,
                         env=dict(_env(library_dir), IRAX_KERNEL_LIBRARY="none"), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    stats = json.loads(run.stdout.strip().splitlines()[-1])
    assert stats == "stale" or stats["compiles"] > 0  # (stale: there was nothing to leave out)


@pytest.fixture
def library(library_dir, monkeypatch):
    """The small library, found by this process (built again in it if irax's sources changed since)."""
    monkeypatch.setattr(config, "irax_cache_dir", str(library_dir))
    prims = library_primitives()
    kernel_library.warm([prims[name] for name in OPS.split(",")], registry.get_backend("cpu"), eager.build_module)
    irax.clear_caches()
    yield
    irax.clear_caches()


CASES = {  # name: (irax function, NumPy's, operands)
    "(3, 4) + (3, 4)": (jnp.add, np.add, [np.arange(12.0).reshape(3, 4), np.ones((3, 4))]),
    "(2, 3, 2) + scalar": (jnp.add, np.add, [np.linspace(-2, 2, 12).reshape(2, 3, 2), 0.25]),
    "scalar + (5,)": (jnp.add, np.add, [3.0, np.arange(5.0)]),
    "(5,) + (1,)": (jnp.add, np.add, [np.arange(5.0), np.array([0.5])]),  # x - x.mean(keepdims=True)
    "int32 (1, 1) + (1,)": (jnp.add, np.add, [np.array([[4]], np.int32), np.array([-7], np.int32)]),
    "bool (4,) + (4,)": (jnp.add, np.add, [np.array([1, 0, 1, 0], bool), np.array([1, 1, 0, 0], bool)]),
    "(3, 4) + row (4,)": (jnp.add, np.add, [np.arange(12.0).reshape(3, 4), np.array([1.0, -2, 3, -4])]),
    "column (2, 3, 1) + (2, 3, 4)": (jnp.add, np.add, [np.arange(6.0).reshape(2, 3, 1) * 10,
                                                        np.arange(24.0).reshape(2, 3, 4)]),
    "outer (3, 1) + (1, 4)": (jnp.add, np.add, [np.arange(3.0).reshape(3, 1) * 10, np.arange(4.0).reshape(1, 4)]),
    "sin (2, 5)": (jnp.sin, np.sin, [np.linspace(-7, 7, 10).reshape(2, 5)]),
    "max of all (3, 4)": (jnp.max, np.max, [np.sin(np.arange(12.0)).reshape(3, 4)]),
    "max axis 1 keepdims (2, 3, 4)": (lambda x: jnp.max(x, axis=1, keepdims=True),
                                      lambda x: np.max(x, axis=1, keepdims=True),
                                      [np.cos(np.arange(24.0)).reshape(2, 3, 4)]),
    "int32 max axis 0 (3, 4)": (lambda x: jnp.max(x, axis=0), lambda x: np.max(x, axis=0),
                                [np.arange(12, dtype=np.int32).reshape(3, 4)[::-1]]),
}


@pytest.mark.parametrize("case", CASES)
def test_a_library_kernel_gives_the_traced_kernels_values(case, library, monkeypatch):
    fn, numpy_fn, operands = CASES[case]
    operands = [np.asarray(o, np.float32) if np.asarray(o).dtype == np.float64 else np.asarray(o) for o in operands]
    arrays = [jnp.asarray(o) for o in operands]
    before = cache.stats()["compiles"]
    from_library = fn(*arrays)
    assert cache.stats()["compiles"] == before, "the library has this kernel: nothing to compile"
    monkeypatch.setattr(config, "irax_kernel_library", "none")
    irax.clear_caches()
    traced = fn(*arrays)  # (compiled, or read from the disk cache by its MLIR text)
    assert from_library.shape == traced.shape and from_library.dtype == traced.dtype
    np.testing.assert_array_equal(np.asarray(from_library), np.asarray(traced))
    np.testing.assert_allclose(np.asarray(from_library), numpy_fn(*operands), rtol=1e-6)


BACKGROUND = """
import json
import numpy as np
import irax.numpy as jnp
from irax.backends import cache
from irax.frontend import kernel_library

y = jnp.sin(jnp.asarray(np.linspace(0, 3, 7, dtype=np.float32)))
np.testing.assert_allclose(np.asarray(y), np.sin(np.linspace(0, 3, 7, dtype=np.float32)), rtol=1e-6)
kernel_library._background.join()
print(json.dumps([cache.stats()["compiles"], kernel_library.sources_stamp()]))
"""


def test_a_process_builds_the_kernels_it_uses_in_the_background_for_the_next(tmp_path):
    env = dict(_env(tmp_path), IRAX_KERNEL_LIBRARY="sin", IRAX_KERNEL_LIBRARY_BACKGROUND="1")
    for _ in range(3):
        counts, stamps = [], set()
        for _ in range(2):
            run = subprocess.run([sys.executable, "-c", BACKGROUND], capture_output=True, text=True, env=env,
                                 timeout=600)
            assert run.returncode == 0 and not run.stderr, run.stderr[-3000:]  # (no complaint at exit either)
            compiles, stamp = json.loads(run.stdout.strip().splitlines()[-1])
            counts.append(compiles)
            stamps.add(stamp)
        if len(stamps) == 1:  # else irax's sources changed in between (someone editing them): again
            break
    assert counts == [2, 0]  # sin's traced kernel and its library module; then neither


def test_an_eager_reshape_views_the_buffer_and_compiles_nothing():
    before = cache.stats()["compiles"]
    x = jnp.asarray(np.arange(24, dtype=np.int32))
    views = [x.reshape(2, 3, 4), jnp.expand_dims(x.reshape(4, 6), 2), jnp.reshape(x, (-1, 2)).reshape(3, 8)]
    assert cache.stats()["compiles"] == before
    for got, want in zip(views, [np.arange(24).reshape(2, 3, 4), np.arange(24).reshape(4, 6, 1),
                                 np.arange(24).reshape(3, 8)]):
        assert got.shape == want.shape
        np.testing.assert_array_equal(np.asarray(got), want)
    y = irax.jit(lambda v: v + 1, donate_argnums=0)(x)  # x's buffer is shared: donating it copies first
    np.testing.assert_array_equal(np.asarray(views[0]), np.arange(24).reshape(2, 3, 4))
    np.testing.assert_array_equal(np.asarray(y), np.arange(24) + 1)


VULKAN = """
import json
import numpy as np
import irax.numpy as jnp
from irax.backends import cache
from irax.frontend import kernel_library
from irax.plugins import registry

a, row = np.arange(12, dtype=np.float32).reshape(3, 4), np.array([1, -2, 3, -4], np.float32)
for got, want in ((jnp.asarray(a) + jnp.asarray(row), a + row), (jnp.asarray(a) + 0.5, a + 0.5)):
    np.testing.assert_array_equal(np.asarray(got), want)
built = cache.find(kernel_library.shard_key("add", registry.get_backend("vulkan"))) is not None
print(json.dumps(cache.stats()["compiles"] if built else "stale"))
"""


def test_a_vulkan_library_serves_the_vulkan_device(tmp_path):
    device_or_skip("vulkan")
    env = dict(_env(tmp_path), IRAX_PLATFORMS="vulkan")
    warm = subprocess.run([sys.executable, "-c", "import sys; from irax.cli import main; sys.exit(main(sys.argv[1:]))",
                           "cache", "warm", "--target", "vulkan", "--ops", "add"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert warm.returncode == 0 and "kernel library for vulkan: 21 kernels" in warm.stdout, warm.stderr[-3000:]
    run = subprocess.run([sys.executable, "-c", VULKAN], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) in (0, "stale")
