"""vmap and forward-mode bugs a differential fuzzer found, each against JAX
(values, shapes, dtypes; errors). Shapes: a batch of 3 over (4,) and (2, 4)."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from helpers import check_central_differences, same_as_jax as same

jax = pytest.importorskip("jax")
jjnp = jax.numpy

rng = np.random.default_rng(0)
X = rng.normal(size=(3, 4)).astype(np.float32)
X24 = rng.normal(size=(3, 2, 4)).astype(np.float32)
J = np.array([0, -1, 5], np.int32)  # a member in bounds, one from the end, one out of bounds


def _set_row_loss(np_):
    return lambda x, j, v: np_.sum(np_.sin(x.at[j].set(v * 2)) ** 2)


def _set_element_loss(np_):
    return lambda x, j, v: np_.sum(x.at[j].set(v) ** 2 * np_.arange(4.0))


# vmap(grad) of x.at[j].set(v) at a batched j: the cotangent zeroes the slice
# (zeros the size of the slice, which is 0 where j is out of bounds); the batching
# pass had no rule for the tensor.dim of that batched-size slice (NotImplementedError)
SET_AT_BATCHED_INDEX = {
    "row": (_set_row_loss, (X24, J, X)),
    "element": (_set_element_loss, (X, J, X[:, 0])),
}


@pytest.mark.parametrize("name", SET_AT_BATCHED_INDEX)
def test_vmap_of_grad_of_set_at_a_batched_index(name):
    loss, args = SET_AT_BATCHED_INDEX[name]
    ours = irax.vmap(irax.grad(loss(jnp), argnums=(0, 2)))(*args)
    same(ours, jax.vmap(jax.grad(loss(jjnp), argnums=(0, 2)))(*args))
    x, j, v = (jnp.asarray(a[0]) for a in args)
    f = loss(jnp)
    check_central_differences({"x": ours[0][0]}, irax.jit(lambda p: {"x": f(p["x"], j, v)}), {"x": x}, x.shape)
    check_central_differences({"v": ours[1][0]}, irax.jit(lambda p: {"v": f(x, j, p["v"])}), {"v": v}, v.shape)


SPECIAL = np.array([np.inf, -np.inf, np.nan, 1.0], np.float32)
T = np.array([0.5, -1.0, 2.0, 0.25], np.float32)


@pytest.mark.parametrize("case", [lambda np_: lambda x: np_.maximum(x, x[::-1]),
                                  lambda np_: lambda x: np_.maximum(x, 3.0),
                                  lambda np_: lambda x: np_.minimum(x, x),
                                  lambda np_: lambda x: np_.clip(x, -1.0, 1.0)],
                         ids=["maximum", "maximum_const", "minimum_self", "clip"])
def test_max_min_tangent_where_an_operand_is_nan(case):
    """max/min where an operand is NaN (so the result is): a zero tangent, as
    JAX's (its rule scales each tangent by [operand == result]); irax took it
    for a tie and gave the mean of both tangents."""
    same(irax.jvp(case(jnp), (SPECIAL,), (T,)), jax.jvp(case(jjnp), (SPECIAL,), (T,)))
    loss = lambda np_: lambda x: np_.sum(case(np_)(x))  # noqa: E731
    same(irax.grad(loss(jnp))(SPECIAL), jax.grad(loss(jjnp))(SPECIAL))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reduction_moved_to_a_later_axis(name):
    """vmap(argmax over the last axis, out_axes=-1), as jit(argmax(x, -1).T): a
    transpose of the reduction's index result; IREE moved it into the loop and
    kept one of its two results (CompileError: 'linalg.yield' op expected 2 ...)."""
    f = lambda np_: lambda x: getattr(np_, name)(x, axis=-1)  # noqa: E731
    same(irax.vmap(f(jnp), out_axes=-1)(X24), jax.vmap(f(jjnp), out_axes=-1)(X24))
    same(irax.jit(lambda x: f(jnp)(x).T)(X24), jax.jit(lambda x: f(jjnp)(x).T)(X24))


SHAPED_BY_A_NUMBER = {
    "reshape": lambda np_: lambda x, n: x.reshape(n, -1),
    "zeros": lambda np_: lambda x, n: np_.zeros((n, 2)) + x[0],
    "tile": lambda np_: lambda x, n: np_.tile(x, n),
    "slice": lambda np_: lambda x, n: x[:n],
}


@pytest.mark.parametrize("name", SHAPED_BY_A_NUMBER)
def test_unmapped_python_number_as_a_shape_or_slice(name):
    """vmap(f, in_axes=(0, None))(x, 2): JAX passes the unmapped 2 on as a
    number; irax traced it, and a shape or slice made of it raised TypeError
    (Shapes must be 1D sequences of concrete values) or IndexError."""
    f = SHAPED_BY_A_NUMBER[name]
    for n in (2, 1):
        same(irax.vmap(f(jnp), in_axes=(0, None))(X, n), jax.vmap(f(jjnp), in_axes=(0, None))(X, n))
    with pytest.raises(TypeError):  # a real error is still raised
        irax.vmap(lambda x, n: x.reshape(n, 3), in_axes=(0, None))(X, 2)


EMPTY = np.zeros((0, 4), np.float32)


def _conv(lax_):
    return lambda x, w: lax_.conv_general_dilated(x[None, None], w[None, None], (1,), "SAME")


@pytest.mark.parametrize("in_axes", [(0, 0), (0, None), (None, 0)])
def test_vmap_of_a_convolution_over_an_empty_batch(in_axes):
    """A batch of 0: the batching rule split the merged batch axis by the
    batch size (ZeroDivisionError)."""
    x = EMPTY if in_axes[0] == 0 else X[0]
    w = EMPTY[:, :3] if in_axes[1] == 0 else X[0, :3]
    same(irax.vmap(_conv(irax.lax), in_axes=in_axes)(x, w), jax.vmap(_conv(jax.lax), in_axes=in_axes)(x, w))


def test_windowed_max_derivatives_of_an_array_with_no_elements():
    """jvp and grad of reduce_window max on a (0, 2, 4) array (as jvp(vmap) over
    an empty batch makes it): MLIR refused the slices of its window at offset 0
    of the empty dim ("offset 0 is out-of-bounds")."""
    x = np.zeros((0, 2, 4), np.float32)

    def f(lax_, window=(1, 1, 2)):
        return lambda r: lax_.reduce_window(r, -np.inf, lax_.max, window, (1,) * len(window), "VALID")

    same(irax.jvp(f(irax.lax), (x,), (x,)), jax.jvp(f(jax.lax), (x,), (x,)))
    same(irax.grad(lambda r: f(irax.lax)(r).sum())(x), jax.grad(lambda r: f(jax.lax)(r).sum())(x))
    same(irax.jvp(irax.vmap(f(irax.lax, (1, 2))), (x,), (x,)), jax.jvp(jax.vmap(f(jax.lax, (1, 2))), (x,), (x,)))


@pytest.mark.parametrize("method", ["item", "tolist"])
def test_item_of_a_traced_value_is_a_concretization_error(method):
    """x.item() under vmap: JAX's ConcretizationTypeError (irax's Tracer had no
    item: AttributeError)."""
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.vmap(lambda x: getattr(x.sum(), method)())(X)
    with pytest.raises(irax.errors.ConcretizationTypeError):
        irax.vmap(lambda x: getattr(x.sum(), method)())(X)
