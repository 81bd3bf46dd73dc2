"""Crashes and wrong values a fuzzing round found, each against JAX (dtypes,
derivatives) and NumPy (values): a contraction of a broadcast IREE's CPU
compiler rejected, cumprod's order of multiplication, and derivatives out of
a function's domain. Shapes: (3, 2), its batch (4, 3, 2), and (5,)."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from helpers import check_central_differences

jax = pytest.importorskip("jax")
jjnp = jax.numpy

B = np.float32([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0]])
C = np.arange(2.0, dtype=np.float32)
ONES = np.ones((3, 2), np.float32)  # x * ones * C folds to a broadcast of C


def same(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert (ours.shape, ours.dtype) == (theirs.shape, theirs.dtype)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


# IREE fuses the elementwise producer of a contraction's operand into the
# contraction; one that broadcasts along a loop the contraction sums left
# it reading an operand that skips that loop, which IREE's CPU compiler
# rejected ("'vector.contract' op invalid accumulator/result vector shape")
# or crashed on. The materialize-contraction-operands pass computes such an
# operand apart (transforms/contraction_operands.py).
GRADIENTS_OF_BROADCASTS = {
    # the fuzzer's program: NumPy's arange a constant, so x * arange * 1 folds to a broadcast of it
    "grad of vmap": lambda t, np_c: t.grad(
        lambda s: t.vmap(lambda x: (x * np_c * s).sum())(ONES).sum())(1.0),
    "grad of vmap with in_axes": lambda t, np_c: t.grad(
        lambda s: t.vmap(lambda x, y: (x * y * s).sum(), in_axes=(0, None))(ONES, np_c).sum())(1.0),
    "jit of grad of vmap": lambda t, np_c: t.jit(t.grad(
        lambda s: t.vmap(lambda x: (x * np_c * s).sum())(ONES).sum()))(1.0),
    "vmap of grad of vmap": lambda t, np_c: t.vmap(t.grad(
        lambda s: t.vmap(lambda x: (x * np_c * s).sum())(ONES).sum()))(np.float32([1.0, 2.0, -1.0])),
}


@pytest.mark.parametrize("name", GRADIENTS_OF_BROADCASTS)
def test_gradients_through_contractions_of_broadcasts_like_jax(name):
    same(GRADIENTS_OF_BROADCASTS[name](irax, C), GRADIENTS_OF_BROADCASTS[name](jax, C))


CONTRACTIONS_OF_BROADCASTS = {
    "vdot": lambda np_, b, c: np_.vdot(b, np_.broadcast_to(c, (3, 2))),
    "tensordot": lambda np_, b, c: np_.tensordot(b, np_.broadcast_to(c, (3, 2)), 2),
    "einsum of a batch": lambda np_, b, c: np_.einsum("ijk,ijk->i", np_.stack([b, b + b, -b, b]),
                                                      np_.broadcast_to(c, (4, 3, 2))),
}


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
@pytest.mark.parametrize("name", CONTRACTIONS_OF_BROADCASTS)
def test_contractions_of_broadcasts_under_jit(name, dtype):
    fn = CONTRACTIONS_OF_BROADCASTS[name]
    b, c = B.astype(dtype), (C + 1).astype(dtype)
    same(irax.jit(lambda b, c: fn(jnp, b, c))(b, c), fn(np, b, c).astype(jjnp.result_type(dtype)))


# NumPy and JAX multiply in order: 1e30, inf, inf * 1e-30 = inf, inf. The
# Hillis-Steele scan irax used formed 1e-30 * 1e-30 first, which underflows
# to 0, and inf * 0 gave NaN.
UNDERFLOWING = np.float32([1e30, np.inf, 1e-30, 1e-30, -np.inf])


def test_cumprod_multiplies_in_numpys_order():
    want = np.cumprod(UNDERFLOWING)
    same(jnp.cumprod(UNDERFLOWING), jjnp.cumprod(UNDERFLOWING))
    for got in (jnp.cumprod(UNDERFLOWING), irax.jit(jnp.cumprod)(UNDERFLOWING),
                irax.vmap(jnp.cumprod)(UNDERFLOWING[None])[0], jnp.cumprod(UNDERFLOWING[None], axis=1)[0],
                irax.lax.cumprod(UNDERFLOWING[::-1], reverse=True)[::-1]):
        np.testing.assert_array_equal(np.asarray(got), want)


def test_cumprod_gradient_by_central_differences():
    """The derivative (JAX's rule) of the product computed by the scan op."""
    x = np.float32([1.5, -0.5, 2.0, 0.75, -1.25])
    w = np.float32([1.0, -2.0, 0.5, 3.0, 1.0])
    f = lambda x: (jnp.cumprod(x) * w).sum()  # noqa: E731
    values = irax.jit(lambda points: {"x": f(points["x"])})
    check_central_differences({"x": irax.grad(f)(x)}, values, {"x": x}, x.shape)


# Outside the domain JAX's derivatives are NaN (acos's -1 / sqrt(1 - x²) at
# |x| > 1); irax's NaN there was a select outside the function's tie, so a
# constant's derivative, 0.
OUT_OF_DOMAIN = np.float32([2.0, -2.0, 1.5, 0.5, np.nan])


def test_arccos_derivatives_outside_the_domain_like_jax():
    for d, dj in [(irax.grad(jnp.arccos), jax.grad(jjnp.arccos)),
                  (irax.grad(irax.grad(jnp.arccos)), jax.grad(jax.grad(jjnp.arccos)))]:
        want = np.asarray(jax.vmap(dj)(OUT_OF_DOMAIN))
        for got in (irax.vmap(d)(OUT_OF_DOMAIN), irax.jit(irax.vmap(d))(OUT_OF_DOMAIN)):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    same(irax.jvp(jnp.arccos, (OUT_OF_DOMAIN,), (np.ones(5, np.float32),))[1],
         jax.jvp(jjnp.arccos, (OUT_OF_DOMAIN,), (np.ones(5, np.float32),))[1])


def test_float64_arccosh_derivative_below_one_like_jax(x64):
    """float64's acosh is its own select (scalar_rules._acosh), tied too."""
    x = OUT_OF_DOMAIN.astype(np.float64) + 1.0  # 3, -1, 2.5, 1.5, NaN
    for got in (irax.vmap(irax.grad(jnp.arccosh))(x), irax.jit(irax.vmap(irax.grad(jnp.arccosh)))(x)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(jax.vmap(jax.grad(jjnp.arccosh))(x)), rtol=1e-12)


def test_complex_cumprod_keeps_infinite_parts_like_numpy():
    """A complex product is still a Hillis-Steele scan (scans._hillis_steele):
    its first elements were multiplied by the identity 1 + 0i, which turns
    inf + NaN i into NaN + NaN i (the second running product here)."""
    z = UNDERFLOWING.astype(np.complex64)
    z[4] = 1 + 2j
    with np.errstate(invalid="ignore"):
        want = np.cumprod(z)
    for got in (jnp.cumprod(z), irax.jit(jnp.cumprod)(z)):  # parts apart: a complex NaN is one of either
        np.testing.assert_array_equal(np.asarray(got).real, want.real)
        np.testing.assert_array_equal(np.asarray(got).imag, want.imag)
