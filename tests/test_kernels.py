"""Kernel functions (frontend/kernels.py): portable code marked with a
kernel's name, which the CPU backend runs as native loops in one dispatch
(backends/cpu_kernels.py, cpu.native_kernels) and every other backend as
it is. The factorizations' values are tested in test_linalg_decompositions.py
(on the CPU with the kernels, on Vulkan with the portable code)."""
import numpy as np
import pytest

import irax
from irax import lax
from irax.backends import cpu

jax = pytest.importorskip("jax")

from helpers import check  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3, 3)).astype(np.float32)
SPD = X @ X.transpose(0, 2, 1) + 3 * np.eye(3, dtype=np.float32)
W = RNG.standard_normal((3, 3)).astype(np.float32)


def test_the_cpu_runs_a_kernel_as_one_dispatch_of_native_loops(monkeypatch):
    text = irax.jit(lax.linalg.cholesky).lower(SPD[0]).as_text("optimized")
    assert 'irax.kernel = "cholesky_block"' in text and "scf.for" in text
    native = cpu.backend.prepare(text)
    assert "flow.dispatch.region" in native and "irax.kernel" not in native
    monkeypatch.setattr(irax.config, "irax_cpu_kernels", False)
    assert "flow.dispatch.region" not in cpu.backend.prepare(text)


def test_vmap_keeps_a_kernel_call_one_call():
    """The batched function keeps the marks (a kernel takes leading batch
    dims), so the CPU still runs it natively."""
    text = irax.jit(irax.vmap(lax.linalg.cholesky)).lower(SPD).as_text("optimized")
    assert text.count('irax.kernel = "cholesky_block"') == 1 and "_vmap2" in text
    check(irax.jit(irax.vmap(lax.linalg.cholesky))(SPD), np.linalg.cholesky(SPD))


def test_grad_differentiates_a_kernels_portable_code():
    """lu has no derivative rules of its own: grad inlines the kernel call
    and differentiates its loop, as JAX differentiates its lu."""
    ours = irax.grad(lambda a: (lax.linalg.lu(a)[0] * W).sum())(X[0])
    theirs = jax.grad(lambda a: (jax.lax.linalg.lu(a)[0] * W).sum())(X[0])
    check(ours, theirs, tol=1e-4)


def test_lu_solve_runs_the_pivots_as_a_kernel():
    """lu_pivots_to_permutation is a kernel (one native loop on the CPU,
    not a host step per pivot), and lu_solve's values stay NumPy's."""
    a = RNG.standard_normal((70, 70)).astype(np.float32) + 8 * np.eye(70, dtype=np.float32)
    b = RNG.standard_normal((70, 2)).astype(np.float32)
    solve = irax.jit(lambda a, b: irax.scipy.linalg.lu_solve(irax.scipy.linalg.lu_factor(a), b))
    assert 'irax.kernel = "pivots_to_permutation"' in solve.lower(a, b).as_text("optimized")
    check(solve(a, b), np.linalg.solve(a, b), tol=1e-4)


def test_more_pivots_than_rows_is_an_error():
    pivots = np.zeros(4, np.int32)
    with pytest.raises(ValueError) as theirs:
        jax.lax.linalg.lu_pivots_to_permutation(pivots, 3)
    with pytest.raises(ValueError) as ours:
        lax.linalg.lu_pivots_to_permutation(pivots, 3)
    assert str(ours.value) == str(theirs.value)
