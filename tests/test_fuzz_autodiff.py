"""Reverse-mode bugs a fuzzer found, each against jax.grad: eagerly and
under jit, and forward-mode ones against jax.jvp. Shapes: (3,) and (2, 3)."""
import numpy as np
import pytest

import irax
import irax.lax as ilax
import irax.numpy as jnp
from irax.test_util import check_grads
from helpers import check

jax = pytest.importorskip("jax")

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], np.float32)
Y = np.array([0.3, -0.5, 1.1], np.float32)
ZERO_NEGATIVE = np.array([0.0, -1.0, 2.0], np.float32)


def _set_repeated(np_):
    return lambda y: np_.sum(np_.sin(np_.cos(y).at[np_.array([1, 1, 2])].set(y * 3)))


# name -> (function of (numpy module, lax module), arguments); the gradient is in the first
CASES = {
    # x[0][1:]: the cotangent, a slice inserted into zeros, was inserted into zeros again; IREE 3.13
    # failed to compile that ("expected 2 offset values, got 1")
    "nested_slice": (lambda np_, lax_: lambda x: np_.sum(x[0][1:] ** 2), (X,)),
    "nested_slice_strided": (lambda np_, lax_: lambda x: np_.sum(np_.sin(x[1][::2])), (X,)),
    "nested_slice_in_scan": (lambda np_, lax_: lambda x: lax_.scan(
        lambda c, xi: (c + np_.sum(xi[1:] ** 2), None), np.float32(1.0), x)[0], (X,)),
    # the common case the composed slices must keep: x[i] at a loop's index
    "nested_slice_in_fori": (lambda np_, lax_: lambda x: lax_.fori_loop(
        0, 2, lambda i, c: c + np_.sum(x[i][1:] ** 2), np.float32(0.0)), (X,)),
    # y.at[2].set(y[j]): ct[2] went to y[j] (a scatter of a slice of ct), but IREE zeroed ct[2] in place
    # first (the cotangent of y through the update): [1, 1, 0], JAX [1, 2, 0]
    "set_from_gather": (lambda np_, lax_: lambda y, j: np_.sum(y.at[2].set(y[j]) * np_.arange(1.0, 4.0)),
                        (Y, np.int32(1))),
    # a cond branch read x but returned no function of it, so the while loop after it counted as
    # active: DynamicBoundsError
    "inactive_while_after_cond": (lambda np_, lax_: lambda x: np_.sum(x) + np_.sum(lax_.while_loop(
        lambda s: s[0] < 3, lambda s: (s[0] + 1, np_.tanh(s[1])),
        (0, lax_.cond(True, lambda o: (x / 2, o * 2)[1], lambda o: o, np_.arange(3.0))))[1]), (Y,)),
    # take's index -6 is out of bounds (filled with NaN): the NaN cotangent of the fill reached x[0]
    "take_filled_out_of_bounds": (lambda np_, lax_: lambda y: np_.sum(np_.sin(np_.take(y, np_.array([-6, 1])))),
                                  (Y,)),
    # the gradient of a strided, padded pooling sliced with [::2]: an insert into zeros, inserted with strides
    # into zeros; IREE 3.13 put both inserts in one dispatch and failed to compile it
    "strided_padded_pool_sliced": (lambda np_, lax_: lambda x: np_.sum(np_.sin(lax_.reduce_window(
        x, np.float32(np.inf), lax_.min, (1, 2), (1, 2), [(0, 0), (0, 1)])[::2])), (X,)),
    # floor, round and sign have a zero derivative, and log's at 0 is inf: 0 * inf was NaN where JAX's
    # symbolic zero gives 0; sign's derivative at a NaN (log(-1)) was 1
    "floor_of_log": (lambda np_, lax_: lambda y: np_.sum(np_.floor(np_.log(y))), (ZERO_NEGATIVE,)),
    "round_of_log": (lambda np_, lax_: lambda y: np_.sum(np_.round(np_.log(y))), (ZERO_NEGATIVE,)),
    "sign_of_log": (lambda np_, lax_: lambda y: np_.sum(np_.sign(np_.log(y))), (ZERO_NEGATIVE,)),
    # a set with repeated indices writes the last update at a position: the earlier ones have no effect and
    # get no cotangent (JAX's), but every one got ct[its index]
    "set_repeated_index": (lambda np_, lax_: _set_repeated(np_), (Y,)),
    "set_repeated_index_clipped": (lambda np_, lax_: lambda y: np_.sum(np_.sin(
        np_.cos(y).at[np_.array([7, 2, 0])].set(y * 3, mode="clip"))), (Y,)),
    "set_repeated_rows": (lambda np_, lax_: lambda x: np_.sum(np_.sin(x.at[np_.array([1, 1])].set(x * 3))), (X,)),
    "set_repeated_rows_broadcast": (lambda np_, lax_: lambda x: np_.sum(np_.sin(
        x.at[np_.array([1, 1])].set(x[0] * 3))), (X,)),
    "set_repeated_points": (lambda np_, lax_: lambda x: np_.sum(np_.sin(
        x.at[np_.array([1, 0, 1]), np_.array([2, 0, 2])].set(x[0] * 3))), (X,)),
    "set_repeated_lax_scatter": (lambda np_, lax_: lambda y: np_.sum(np_.sin(lax_.scatter(
        np_.cos(y), np_.array([[1], [1], [2]]), y * 3, lax_.ScatterDimensionNumbers((), (0,), (0,))))), (Y,)),
}


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_grad_matches_jax(name, jit):
    make, args = CASES[name]
    expected = jax.grad(make(jax.numpy, jax.lax))(*args)
    grad = irax.grad(make(jnp, ilax))
    actual = (irax.jit(grad) if jit else grad)(*[jnp.asarray(a) for a in args])
    assert actual.dtype == expected.dtype
    check(actual, expected)


def test_active_while_still_raises():
    """Activity follows what the loop carries: a while loop x reaches keeps JAX's error."""
    def f(x):
        return jnp.sum(ilax.while_loop(lambda s: s[0] < 3, lambda s: (s[0] + 1, jnp.tanh(s[1])), (0, x))[1])
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work for lax.while_loop"):
        irax.grad(f)(jnp.asarray(Y))


@pytest.mark.parametrize("order", ["vmap_of_grad", "grad_of_vmap"])
def test_grad_of_a_set_with_repeated_indices_under_vmap(order):
    """The batched scatter of the update ids picks each member's winners."""
    def make(autodiff):
        f = _set_repeated(autodiff.numpy)
        if order == "vmap_of_grad":
            return autodiff.vmap(autodiff.grad(f))
        return autodiff.grad(lambda x: autodiff.numpy.sum(autodiff.vmap(f)(x)))
    check(make(irax)(jnp.asarray(X)), make(jax)(X))


def test_grad_of_a_set_with_repeated_indices_against_finite_differences():
    check_grads(_set_repeated(jnp), (jnp.asarray(Y),), order=1)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_jvp_of_a_padded_minimum_matches_jax(jit):
    """pad was a concat of a fill and y, and its jvp one of the same fill and
    the tangent: IREE 3.13 wrote both concats into one buffer, so under jit
    the tangent came out as the value."""
    def make(np_, autodiff):
        return lambda y: autodiff.jvp(lambda y: np_.min(np_.pad(y, [(1, 0)])), (y,), (np_.cos(y),))
    y = np.array([-0.32, -2.2264, 0.224, -0.317], np.float32)
    expected = jax.jit(make(jax.numpy, jax))(y)
    actual = (irax.jit if jit else lambda f: f)(make(jnp, irax))(jnp.asarray(y))
    check(actual[0], expected[0])
    check(actual[1], expected[1])


INF, NAN = np.float32(np.inf), np.float32(np.nan)
# name -> (function of the numpy module, point, tangent)
JVP_CASES = {
    # max's tangent was t * [g == max] / count: a NaN or inf tangent of an element not chosen made it NaN
    "max_with_a_nan_tangent_elsewhere": (lambda np_: np_.max, np.array([1, 3, 2], np.float32),
                                         np.array([NAN, 1, INF], np.float32)),
    "max_of_tied_infinities": (lambda np_: np_.max, np.array([INF, -INF, INF]), np.array([INF, NAN, INF])),
    "sign_of_nan": (lambda np_: np_.sign, np.array([NAN, 1, -1], np.float32), np.ones(3, np.float32)),
    # floor's tangent is zero, and log's derivative at floor(0.5) = 0 infinite: JAX gives 0, not 0 * inf
    "log_of_floor": (lambda np_: lambda y: np_.log(np_.floor(y)), np.array([0.5, 1.5, 2.5], np.float32),
                     np.ones(3, np.float32)),
    # the reverse-mode bug of CASES' set_repeated_*: forward mode was right, and stays so
    "set_repeated_index": (lambda np_: lambda y: np_.cos(y).at[np_.array([1, 1, 2])].set(y * 3), Y,
                           np.array([1.0, -2.0, 0.5], np.float32)),
}


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", sorted(JVP_CASES))
def test_jvp_matches_jax(name, jit):
    make, y, t = JVP_CASES[name]
    y, t = y.astype(np.float32), t.astype(np.float32)
    expected = jax.jvp(make(jax.numpy), (y,), (t,))
    jvp = lambda y, t: irax.jvp(make(jnp), (y,), (t,))
    actual = (irax.jit(jvp) if jit else jvp)(jnp.asarray(y), jnp.asarray(t))
    check(actual[0], expected[0])
    check(actual[1], expected[1])
