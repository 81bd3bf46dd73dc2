"""IEEE special values and extreme inputs through irax.nn, irax.scipy.special
and jnp's math functions: bugs a differential fuzzer found. It ran each
function of jax.nn, jax.scipy.special and jnp's elementwise math (and sort,
argsort, unique, ... of the same values) on 0, -0, ±the smallest subnormal,
±the smallest normal, ±1, 0.5, -2.5, ±3, ±30, ±the largest float, ±inf and
NaN (every pair of them for a binary function, and for softmax-like
reductions over pairs) in float32, float16, bfloat16 and float64 (x64),
eagerly, under jit, vjp and jit(vmap(grad)), against JAX: NaN, infinities
and signs of zero as JAX's, dtypes and weak types as JAX's, values within a
few ulps of JAX's or of the float64 truth (JAX's own float64, or SciPy's
where JAX's differs). Shapes: (9,)."""
import numpy as np
import pytest
import scipy.special as sspecial

import irax
import irax.numpy as jnp
from helpers import x64_mode

jax = pytest.importorskip("jax")

pytestmark = pytest.mark.parametrize("platform", ["cpu", "vulkan"], indirect=True)

MAX = float(np.finfo(np.float32).max)
TINY = float(np.finfo(np.float32).tiny)  # the smallest normal: the CPU flushes subnormals


def same_ieee(ours, theirs, rtol):
    """Elementwise alike: NaN where the other is, equal infinities and
    zeros (sign included), other values within rtol; and one dtype."""
    assert np.asarray(ours).dtype == np.asarray(theirs).dtype
    a, b = np.asarray(ours).astype(np.float64), np.asarray(theirs).astype(np.float64)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_array_equal(np.signbit(a[a == 0]), np.signbit(b[a == 0]))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


# log1mexp had no custom derivative: the composition's was NaN at 0 (where
# -expm1(-x) is 0) and below 0 (log of a negative number), where JAX's rule,
# 1 / expm1(x), gives inf, -inf and -1.
def test_log1mexp_gradient_is_jax_rule_at_zero_and_below():
    x = np.array([0.0, -0.0, TINY, -TINY, -MAX, -np.inf, 0.5, np.inf, np.nan], np.float32)
    grad = jax.vmap(jax.grad(jax.nn.log1mexp))(x)
    same_ieee(irax.vmap(irax.grad(irax.nn.log1mexp))(x), grad, 1e-6)
    same_ieee(irax.nn.log1mexp(x), jax.nn.log1mexp(x), 1e-6)


# ndtr, ndtri and log_ndtr multiplied by NumPy float64 constants (0.5 *
# np.sqrt(2.0), ...), which are strongly typed: in x64 mode a float32 x gave
# a float64 result. JAX's: float32.
def test_normal_distribution_functions_keep_float32_in_x64_mode():
    x = np.array([-30.0, -3.0, -1.0, -0.0, 0.25, 0.5, 1.0, 6.0, np.nan], np.float32)
    p = np.array([0.0, 1e-30, 0.01, 0.1, 0.5, 0.9, 0.999, 1.0, np.nan], np.float32)
    with x64_mode(True):
        for name, arg in (("ndtr", x), ("log_ndtr", x), ("ndtri", p)):
            ours, theirs = getattr(irax.scipy.special, name)(arg), getattr(jax.scipy.special, name)(arg)
            assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type) == (np.float32, False)
            same_ieee(ours, theirs, 2e-6)


# jnp.i0's asymptotic form divided exp(|x|) by sqrt(2 pi |x|), which
# overflows near the largest float: inf / inf = NaN (JAX: inf). And its 4
# terms from 15 up were 2.5e-6 off at 16 (28 ulps; JAX's 1): 12 terms from 20.
# (Past 20 the error is exp's: lavapipe's exp(80) is 3.5e-6 off.)
def test_i0_is_inf_near_the_largest_float_and_accurate_past_15(platform):
    x = np.array([MAX, -MAX, 15.5, 16.0, -17.5, 19.0, 20.5, 25.0, 80.0], np.float32)
    ours, truth = np.asarray(jnp.i0(x)), sspecial.i0(x.astype(np.float64))
    assert np.isposinf(ours[:2]).all()
    np.testing.assert_allclose(ours[2:6], truth[2:6], rtol=3e-7)
    np.testing.assert_allclose(ours[6:], truth[6:], rtol=4e-6 if platform == "vulkan" else 3e-7)


# E_n(x)'s series for x <= 1 divided by exp(lgamma(n)) and took digamma(n),
# 4.8e-7 and 2.9e-7 off at n = 1 (lgamma(1) is not 0): exp1(1) was 2.8e-6
# (40 ulps) off; JAX's 1e-7. (n - 1)! and psi(n) are exact for small n now.
def test_exp1_and_expn_are_accurate_below_one():
    x = np.array([1.0, 0.99, 0.75, 0.5, 0.25, 0.1, 1e-3, 1.5, 3.0], np.float32)
    wide = x.astype(np.float64)
    np.testing.assert_allclose(irax.scipy.special.exp1(x), sspecial.exp1(wide), rtol=3e-7)
    for n in (2, 3, 5):
        np.testing.assert_allclose(irax.scipy.special.expn(n, x), sspecial.expn(n, wide), rtol=4e-7)


# I1 is odd: JAX's i1 and i1e of -0 are -0; irax negated the value below 0
# only, so -0 gave +0.
def test_i1_and_i1e_keep_the_sign_of_zero():
    x = np.array([-0.0, 0.0, -1.0, 1.0, -10.0, 10.0, -np.inf, np.inf, np.nan], np.float32)
    for name in ("i1", "i1e"):
        same_ieee(getattr(irax.scipy.special, name)(x), getattr(jax.scipy.special, name)(x), 2e-6)


# polygamma(0, x) is digamma(x), which float64 computes in float64; the
# polygamma primitive narrows float64 to float32 (primitives/special.py): it
# was 5e-7 off at 1, NaN at 2.2e-308 (float32's 0, a pole) and inf at 1e308.
def test_polygamma_of_order_zero_is_float64_digamma_in_x64_mode():
    x = np.array([1.0, 0.5, -2.5, 3.0, 2.2250738585072014e-308, 1e300, -0.0, np.inf, np.nan])
    with x64_mode(True):
        theirs = jax.scipy.special.digamma(x)
        same_ieee(irax.scipy.special.polygamma(0, x), theirs, 1e-14)
        same_ieee(irax.lax.polygamma(np.zeros_like(x), x), theirs, 1e-14)
        grad = irax.vmap(irax.grad(lambda v: irax.scipy.special.polygamma(0, v)))(x)
        same_ieee(grad, jax.vmap(jax.grad(jax.scipy.special.digamma))(x), 1e-14)


# lax.clamp was max then min, whose derivatives split a tie: 1/2 to x and
# 1/2 to the bound at x = min or x = max. JAX's rule: x's strictly between
# the bounds, the bound's where it is taken, 0 for both at a tie.
def test_clamp_gradient_is_zero_at_a_tie_with_a_bound():
    x = np.array([0.0, -1.0, 0.5, -2.0, 3.0, np.nan, -0.0, np.inf, -np.inf], np.float32)
    bounds = np.float32(-1.0), np.float32(0.0)

    def grads(lax, grad, vmap):
        return vmap(grad(lambda a, lo, hi: lax.clamp(lo, a, hi), argnums=(0, 1, 2)), in_axes=(0, None, None))(x, *bounds)
    for ours, theirs in zip(grads(irax.lax, irax.grad, irax.vmap), grads(jax.lax, jax.grad, jax.vmap)):
        same_ieee(ours, theirs, 0)


# Owen's T is odd in a: T(h, -0) is -0 in JAX; irax multiplied by sign(a),
# which is +0 at -0 (NumPy's sign), so the sign was lost.
def test_owens_t_is_odd_in_a_down_to_the_sign_of_zero():
    h = np.array([0.0, 0.0, 1.0, 1.0, -1.0, 2.0, 0.5, np.inf, np.nan], np.float32)
    a = np.array([-0.0, 0.0, -0.0, -2.5, 3.0, -0.5, -np.inf, -1.0, 1.0], np.float32)
    same_ieee(irax.scipy.special.owens_t(h, a), jax.scipy.special.owens_t(h, a), 1e-6)


def test_prod_gradient_is_the_product_of_the_others_at_inf_nan_and_zeros():
    """d prod / dx_i is the product of the others, as JAX's rule multiplies
    them out. irax divided the product by x_i: prod([2, inf])'s gradient
    was [inf, nan] (JAX [inf, 2]), and with two zeros every entry was 0,
    where a NaN among the others makes it NaN (JAX [nan, nan, 0] for [0, 0,
    nan]). Reverse mode, and forward mode as the sum of the gradient's
    terms (JAX's own jvp of [2, inf, 1] is NaN where its gradient's terms
    add up to inf)."""
    inf, nan = np.inf, np.nan
    x = np.array([[2, inf, 1], [0, 0, nan], [0, inf, 3], [-inf, 2, 0.5], [-inf, -inf, 2], [1e30, 1e-30, 5]],
                 np.float32)
    ours = irax.grad(lambda x: jnp.prod(x, axis=1).sum())(x)
    theirs = jax.grad(lambda x: jax.numpy.prod(x, axis=1).sum())(x)
    np.testing.assert_array_equal(ours, theirs)
    ours = irax.jvp(lambda x: jnp.prod(x, axis=1), (x,), (np.ones_like(x),))[1]
    with np.errstate(invalid="ignore"):  # (inf - inf in a row: NaN, as irax's)
        expected = np.asarray(theirs).sum(axis=1)
    np.testing.assert_allclose(ours, expected, rtol=1e-6)


def test_zeta_is_differentiable_in_both_arguments_as_jax(platform):
    """scipy.special.zeta's derivative in x raised NotImplementedError;
    JAX's is the derivative of an Euler-Maclaurin expansion (in x and q),
    and irax's now too: JAX's values, and central differences in float64."""
    x = np.array([3.0, 2.5, 1.5, 6.0], np.float32)
    q = np.array([1.0, 0.7, 3.0, 2.0], np.float32)
    ours = irax.vmap(irax.grad(irax.scipy.special.zeta, argnums=(0, 1)))(x, q)
    theirs = jax.vmap(jax.grad(jax.scipy.special.zeta, argnums=(0, 1)))(x, q)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=2e-5)
    with x64_mode(True):
        x64, q64 = x.astype(np.float64), q.astype(np.float64)
        dx, dq = irax.vmap(irax.grad(irax.scipy.special.zeta, argnums=(0, 1)))(x64, q64)
        step = 1e-6
        for grad, (hi, lo) in ((dx, ((x64 + step, q64), (x64 - step, q64))),
                               (dq, ((x64, q64 + step), (x64, q64 - step)))):
            numeric = (sspecial.zeta(*hi) - sspecial.zeta(*lo)) / (2 * step)
            np.testing.assert_allclose(grad, numeric, rtol=1e-7)
