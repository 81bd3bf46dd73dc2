"""A block's 0-d generics become one generic (transforms/scalar_fusion.py,
pass `fuse-scalar-work`): one dispatch for scalar work and its derivative,
not two that hand each other more values than a dispatch may bind. Values
against JAX; the structure from the IR."""
import re

import numpy as np
import pytest
from iree.compiler import ir

import irax
import irax.numpy as jnp
import irax.scipy.special as sp
from irax.frontend.core import ShapedArray
from irax.ir import mlir
from irax.transforms import pipeline, scalar_fusion

from helpers import device_or_skip, run_module

jax = pytest.importorskip("jax")

GENERIC = re.compile(r"= linalg\.generic")


def _bindings(text) -> list:
    """For each linalg.generic of `text`: how many inputs and results it has
    (its outputs are `tensor.empty`s here, which bind nothing)."""
    counts = []
    for m in re.finditer(r"%\w+(?::(\d+))? = linalg\.generic .*?ins\((.*?) :", text):
        counts.append(int(m.group(1) or 1) + m.group(2).count("%"))
    return counts


@pytest.mark.parametrize("device", ["cpu", "vulkan"])
def test_value_and_grad_of_ndtri_runs(device):
    """326 scalar generics: IREE cut them into two dispatches with 62 values
    between them, 63 bindings (the HAL allows 32), and the call failed."""
    got = irax.jit(irax.value_and_grad(sp.ndtri), device=device_or_skip(device))(0.3)
    want = jax.value_and_grad(jax.scipy.special.ndtri)(0.3)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-6)


def test_eager_grad_of_ndtri_matches_jax_and_central_differences():
    for x in (0.01, 0.3, 0.5, 0.9, 0.999):
        got = float(irax.grad(sp.ndtri)(x))
        np.testing.assert_allclose(got, float(jax.grad(jax.scipy.special.ndtri)(x)), rtol=2e-6)
        eps = 1e-3 * min(x, 1 - x)
        numerical = (float(sp.ndtri(np.float64(x + eps))) - float(sp.ndtri(np.float64(x - eps)))) / (2 * eps)
        np.testing.assert_allclose(got, numerical, rtol=2e-2)


def test_scalar_work_and_its_derivative_are_one_generic_and_one_dispatch():
    f = irax.jit(irax.value_and_grad(sp.ndtri))
    text = f.lower(0.3).as_text("optimized")
    assert len(GENERIC.findall(text)) == 1
    flow = f.lower(0.3).as_text("flow")
    main = flow[flow.index("util.func public @main"):]
    assert main.count("flow.dispatch @") == 1


# ---------------------------------------------------------------------------
# Where merging must stop: an op between members that reads one of them

MAP = "affine_map<() -> ()>"


def _scalar(name, inputs, expr):
    """A 0-d f32 generic `%name = expr` on 0-d f32 `inputs` (bound as %i0, %i1, ...)."""
    args = ", ".join(f"%i{k}: f32" for k in range(len(inputs)))
    return f"""
      %{name} = linalg.generic {{indexing_maps = [{", ".join([MAP] * (len(inputs) + 1))}], iterator_types = []}}
          ins({", ".join(inputs)} : {", ".join(["tensor<f32>"] * len(inputs))}) outs(%e : tensor<f32>) {{
      ^bb0({args}, %o: f32):
        %r = {expr}
        linalg.yield %r : f32
      }} -> tensor<f32>"""


def _sum(name, source):
    """%name = 0-d sum of the tensor<3xf32> %source: not 0-d work."""
    return f"""
      %z_{name} = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
      %{name} = linalg.generic {{indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
          iterator_types = ["reduction"]}} ins(%{source} : tensor<3xf32>) outs(%z_{name} : tensor<f32>) {{
      ^bb0(%p: f32, %o: f32):
        %r = arith.addf %p, %o : f32
        linalg.yield %r : f32
      }} -> tensor<f32>"""


def _broadcast(name, source):
    """%name = %v * (0-d %source), a tensor<3xf32>."""
    return f"""
      %{name} = linalg.generic {{indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>,
          affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}}
          ins(%v, %{source} : tensor<3xf32>, tensor<f32>) outs(%e3 : tensor<3xf32>) {{
      ^bb0(%p: f32, %q: f32, %o: f32):
        %r = arith.mulf %p, %q : f32
        linalg.yield %r : f32
      }} -> tensor<3xf32>"""


# a = x * 2, b = sin a; s = sum(v * b) reads b; c = s + b, d = c * a. Also
# w = sum(v * v) between members, read by none: it does not stop a merge.
BLOCKED = f"""
    func.func @main(%x: tensor<f32>, %v: tensor<3xf32>) -> (tensor<f32>, tensor<f32>) {{
      %zero = arith.constant 0.0 : f32
      %two = arith.constant dense<2.0> : tensor<f32>
      %e = tensor.empty() : tensor<f32>
      %e3 = tensor.empty() : tensor<3xf32>
      {_scalar("a", ["%x", "%two"], "arith.mulf %i0, %i1 : f32")}
      {_broadcast("vv", "x")}
      {_sum("w", "vv")}
      {_scalar("b", ["%a"], "math.sin %i0 : f32")}
      {_broadcast("vb", "b")}
      {_sum("s", "vb")}
      {_scalar("c", ["%s", "%b"], "arith.addf %i0, %i1 : f32")}
      {_scalar("d", ["%c", "%a", "%w"], "arith.mulf %i0, %i1 : f32")}
      return %d, %b : tensor<f32>, tensor<f32>
    }}"""


def _blocked_values(x, v):
    a = x * 2
    b = np.sin(a)
    return (np.sum(v * b) + b) * a, b


def test_an_op_that_reads_a_member_between_members_stops_the_merge(monkeypatch):
    monkeypatch.setattr(scalar_fusion, "LEFT_TO_IREE", 0)  # (a few generics: merged all the same)
    module = ir.Module.parse(BLOCKED, mlir.context())
    pipeline.run(module, passes="fuse-scalar-work")
    text = str(module)
    scalar = [line for line in text.splitlines() if "linalg.generic" in line and "iterator_types = []" in line]
    # {a, b} before the sum that reads b, {c, d} after it: two merged generics,
    # the first with two results (a for d, b for the sum and the return)
    assert len(scalar) == 2, text
    assert re.search(r"%\w+:2 = linalg\.generic \{indexing_maps = \[(#map\d*, ){2}#map\d*\], iterator_types = \[\]\}", text)
    x, v = np.float32(0.4), np.array([1.0, -2.0, 0.5], np.float32)
    got = run_module(module, [x, v], [ShapedArray((), np.float32)] * 2, irax.devices("cpu")[0])
    for g, w in zip(got, _blocked_values(x, v)):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-6)


def test_scalar_work_around_vector_work_matches_jax():
    """The same through jit: scalar work before and after a sum that reads it."""
    def f(np, x, v):
        a = np.sin(x) * 2
        s = (v * a).sum()
        return np.cos(a) + s * a, a + np.exp(-x)

    x, v = np.float32(0.7), np.linspace(-1, 1, 5, dtype=np.float32)
    got = irax.jit(lambda x, v: f(jnp, x, v))(x, v)
    want = f(jax.numpy, x, v)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)
    grads = irax.jit(irax.grad(lambda x, v: sum(f(jnp, x, v)), argnums=(0, 1)))(x, v)
    want = jax.grad(lambda x, v: sum(f(jax.numpy, x, v)), argnums=(0, 1))(x, v)
    for g, w in zip(grads, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5)


def test_a_merge_is_cut_to_the_bindings_a_dispatch_may_have():
    """40 scalars in, 40 out: one generic would bind 80 values."""
    xs = [np.float32(i / 7) for i in range(40)]
    f = irax.jit(lambda *xs: [x * 2 + 1 for x in xs])
    text = f.lower(*xs).as_text("optimized")
    counts = _bindings(text)
    assert len(counts) > 1 and max(counts) <= scalar_fusion.MAX_BINDINGS, counts
    np.testing.assert_allclose(np.asarray(f(*xs)), np.asarray(xs) * 2 + 1, rtol=1e-6)


def test_scalar_loops_still_run_on_scalars(monkeypatch):
    """fori_loop / while_loop on 0-d carries: fuse-elementwise-loops makes
    each a 0-d generic, which then merges with the scalar work around it."""
    def f(lax, np, x):
        y = lax.fori_loop(0, 50, lambda i, c: c * 0.99 + np.sin(x), x * 3)
        z = lax.while_loop(lambda c: c < 10.0, lambda c: c * 1.5 + 1, np.abs(y) + 0.1)
        return np.tanh(y) + z

    monkeypatch.setattr(scalar_fusion, "LEFT_TO_IREE", 0)  # (a few generics: merged all the same)
    x = np.float32(0.3)
    f_irax = irax.jit(lambda x: f(irax.lax, jnp, x))
    np.testing.assert_allclose(np.asarray(f_irax(x)), f(jax.lax, jax.numpy, x), rtol=1e-5)
    text = f_irax.lower(x).as_text("optimized")
    assert len(GENERIC.findall(text)) == 1 and not re.search(r"scf\.(for|while) .*tensor<", text)
