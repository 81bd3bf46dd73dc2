"""irax.vmap of slices at a batched index against jax.vmap: x.at[j].set/add,
x[j], x[j, 1:3], lax.dynamic_slice and dynamic_update_slice with j (or the
starts) depending on the mapped axis, in and out of bounds, under jit, and
a gradient. The batching pass makes such a slice a generic that reads each
member's own elements (transforms/batching.py, _extract_at_batched_offsets
and _insert_at_batched_offsets)."""
import numpy as np
import pytest
from iree.compiler import ir

import irax
import irax.numpy as jnp
from helpers import check_central_differences, run_module
from irax import lax
from irax.frontend.core import ShapedArray
from irax.ir import mlir
from irax.transforms.batching import add_batched

jax = pytest.importorskip("jax")
jjnp, jlax = jax.numpy, jax.lax

rng = np.random.default_rng(0)
X = rng.normal(size=(4, 5)).astype(np.float32)
V = rng.normal(size=4).astype(np.float32)
PAIRS = rng.normal(size=(5, 2)).astype(np.float32)
# Per member: in bounds, negative (from the end), out of bounds on either side.
J = np.array([0, 3, -1, 4, -6], np.int32)
K = np.array([1, 0, 4, -2, 7], np.int32)

CASES = {
    # the one-hot pattern
    "set one": (lambda np_, lax_: lambda j: np_.zeros(4).at[j].set(1.0), (J,), 0),
    "add": (lambda np_, lax_: lambda j: np_.asarray(V).at[j].add(2.0), (J,), 0),
    "mul, x and v batched too": (lambda np_, lax_: lambda x, j, v: x.at[j].multiply(v), (X, J[:4], V), 0),
    "set a row's middle": (lambda np_, lax_: lambda j, v: np_.asarray(X).at[j, 1:3].set(v), (J, PAIRS), 0),
    "add at a stride": (lambda np_, lax_: lambda j: np_.asarray(X).at[j, ::2].add(1.0), (J,), 0),
    "set at two indices": (lambda np_, lax_: lambda j, k: np_.asarray(X).at[j, k].set(-1.0), (J, K), 0),
    "set a column": (lambda np_, lax_: lambda x, k: np_.asarray(x).at[:, k].set(V), (X, K), (None, 0)),
    "get": (lambda np_, lax_: lambda j: np_.asarray(V)[j], (J,), 0),
    "get a row's middle": (lambda np_, lax_: lambda x, j: np_.asarray(x)[j, 1:3], (X, J[:4]), (None, 0)),
    "dynamic_slice": (lambda np_, lax_: lambda j, k: lax_.dynamic_slice(np_.asarray(X), (j, k), (2, 3)), (J, K), 0),
    "dynamic_update_slice": (lambda np_, lax_: lambda x, j: lax_.dynamic_update_slice(
        x, np_.ones((2, 2), np.float32), (j, 2)), (X, J[:4]), (None, 0)),
}


def _vmapped(name, irax_side):
    case, args, in_axes = CASES[name]
    np_, lax_, vmap = (jnp, lax, irax.vmap) if irax_side else (jjnp, jlax, jax.vmap)
    return vmap(case(np_, lax_), in_axes=in_axes), args


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", CASES)
def test_slices_at_a_batched_index_like_jax(platform, name, jit):
    ours, args = _vmapped(name, True)
    theirs, _ = _vmapped(name, False)
    got = (irax.jit(ours) if jit else ours)(*args)
    want = theirs(*args)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-6)


def test_vmap_of_jit_of_a_set_at_a_traced_index(platform):
    f = lambda np_: lambda j: np_.zeros(4).at[j].set(1.0)  # noqa: E731
    got = irax.vmap(irax.jit(f(jnp)))(J)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(jax.vmap(jax.jit(f(jjnp)))(J)))


def _loss(np_, vmap):
    """x's rows updated at batched indices, read back at others: x reaches
    the result through the untouched elements, the slice read and the update."""
    def f(x, v):
        def member(j, k):
            y = x.at[j].add(v * x[k, 0])
            return (y[k] ** 2).sum() + y[j, 1:3].sum()
        return vmap(member)(J[:4], K[:4]).sum()
    return f


def test_grad_of_vmap_of_slices_at_batched_indices(platform):
    v = rng.normal(size=5).astype(np.float32)
    ours = irax.grad(_loss(jnp, irax.vmap), argnums=(0, 1))(X, v)
    theirs = jax.grad(_loss(jjnp, jax.vmap), argnums=(0, 1))(X, v)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


def test_grad_of_vmap_at_batched_indices_matches_central_differences():
    x = rng.normal(size=(4, 5)).astype(np.float32)
    v = rng.normal(size=5).astype(np.float32)
    loss = irax.jit(_loss(jnp, irax.vmap))
    gx, gv = irax.grad(_loss(jnp, irax.vmap), argnums=(0, 1))(x, v)
    check_central_differences({"x": np.asarray(gx)}, lambda p: {"x": loss(p["x"], v)}, {"x": x}, x.shape)
    check_central_differences({"v": np.asarray(gv)}, lambda p: {"v": loss(x, p["v"])}, {"v": v}, v.shape)


def test_vmap_of_grad_of_slices_at_a_batched_index(platform):
    def f(np_):
        def g(x, j):
            y = x.at[j].add(x[j] * 2.0)
            return (y[j, 1:4] ** 2).sum() + (y ** 3).sum()
        return g
    ours = irax.vmap(irax.grad(f(jnp)), in_axes=(None, 0))(X, J)
    theirs = jax.vmap(jax.grad(f(jjnp)), in_axes=(None, 0))(X, J)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------
# The pass alone, on a module: strides and rank-reducing slices, which no
# numpy function emits at a traced offset today, and a slice of batched size.

STRIDED = """
func.func @f(%x: tensor<6x3xf32>, %i: tensor<i32>, %u: tensor<2xf32>) -> (tensor<2xf32>, tensor<6x3xf32>) {
  %j = tensor.extract %i[] : tensor<i32>
  %k = arith.index_cast %j : i32 to index
  %s = tensor.extract_slice %x[%k, 1] [2, 1] [2, 1] : tensor<6x3xf32> to tensor<2xf32>
  %t = tensor.insert_slice %u into %x[%k, 2] [2, 1] [2, 1] : tensor<2xf32> into tensor<6x3xf32>
  return %s, %t : tensor<2xf32>, tensor<6x3xf32>
}
"""


def test_the_pass_batches_strided_rank_reducing_slices_at_batched_offsets():
    with mlir.context():
        module = ir.Module.parse(STRIDED)
        batched, out_batched = add_batched(module, [None, 0, 0], 4, of="f", name="main")
        assert out_batched == [True, True]
        assert module.operation.verify()
    x = rng.normal(size=(6, 3)).astype(np.float32)
    k = np.array([0, 3, 1, 2], np.int32)
    u = rng.normal(size=(4, 2)).astype(np.float32)
    read, written = run_module(module, [x, k, u], [ShapedArray((4, 2), np.float32),
                                                   ShapedArray((4, 6, 3), np.float32)])
    want = np.repeat(x[None], 4, axis=0)
    for b, kb in enumerate(k):
        np.testing.assert_array_equal(np.asarray(read)[b], x[kb:kb + 4:2, 1])
        want[b, kb:kb + 4:2, 2] = u[b]
    np.testing.assert_array_equal(np.asarray(written), want)


SIZED = """
func.func @f(%x: tensor<4xf32>, %i: tensor<i32>) -> tensor<?xf32> {
  %j = tensor.extract %i[] : tensor<i32>
  %n = arith.index_cast %j : i32 to index
  %s = tensor.extract_slice %x[0] [%n] [1] : tensor<4xf32> to tensor<?xf32>
  return %s : tensor<?xf32>
}
"""


def test_the_pass_rejects_a_slice_of_batched_size_it_cannot_insert():
    """Each member's slice has a size of its own: only an insert_slice at
    that size may read the (padded) batch of them."""
    with mlir.context():
        module = ir.Module.parse(SIZED)
        with pytest.raises(NotImplementedError, match="a slice whose size is batched"):
            add_batched(module, [None, 0], 2, of="f")
