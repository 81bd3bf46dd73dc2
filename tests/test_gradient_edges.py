"""Derivatives at the edges of a function's domain (ties, 0, the tails,
infinities), where differentiating the ops a function is written with gives
NaN, 0 or half the slope, against JAX's rules: eagerly and under jit, and a
second derivative where JAX has one."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
import irax.scipy.special as isp

jax = pytest.importorskip("jax")
import jax.scipy.special as jsp  # noqa: E402

# name -> (function of (numpy module, scipy.special, nn), points)
CASES = {
    # max and |x1 - x2| tie at x1 = x2: the slope went all to one side (0 and 1, JAX 0.5 each)
    "logaddexp": (lambda np_, sp, nn: lambda x: np_.logaddexp(x, 1.0), [1.0, 2.0, -3.0, np.inf, -np.inf]),
    "logaddexp2": (lambda np_, sp, nn: lambda x: np_.logaddexp2(1.0, x), [1.0, 0.5, np.inf]),
    "cbrt": (lambda np_, sp, nn: np_.cbrt, [0.0, -0.0, 8.0, -27.0, np.inf, -np.inf]),  # inf at 0 (was NaN), 0 at inf (1)
    "sigmoid": (lambda np_, sp, nn: nn.sigmoid, [-100.0, -20.0, 0.0, 3.0, 100.0]),  # NaN below -88 (0 * inf)
    "log_sigmoid": (lambda np_, sp, nn: nn.log_sigmoid, [-100.0, 0.0, 100.0]),
    # second derivative at 0 was 0, not -pi^2 / 3; NaN at 1e30 (the unused series' y^2 overflowed)
    "sinc": (lambda np_, sp, nn: np_.sinc, [0.0, 0.5, -1.5, 1e30, -1e30]),
    # JAX's rule, that of exp(|x|) i0e(|x|): the series' derivative was -0 at NaN and NaN at 1e30
    "i0": (lambda np_, sp, nn: np_.i0, [np.nan, 1e30, -1e30, 0.0, 2.0, -20.0]),
    "log_ndtr": (lambda np_, sp, nn: sp.log_ndtr, [-50.0, -10.0, -9.0, 0.0, 5.0, 6.0]),  # half the slope at -10
    # pow was differentiated as the ops of C99's pow, written with |x|: d/dy (-2)**y was log(2) (-2)**y (JAX
    # NaN: log x), d/dx x**0.5 at x < 0 and at 0 0 (JAX NaN and inf), d/dx x**1.0 at 0 0 (JAX 1)
    "power_negative_base_in_y": (lambda np_, sp, nn: lambda y: np_.power(-2.0, y), [3.0, 2.0, 0.5, 0.0]),
    "power_zero_base_in_y": (lambda np_, sp, nn: lambda y: np_.power(0.0, y), [3.0, 0.5, 0.0, -1.0]),
    "power_in_x": (lambda np_, sp, nn: lambda x: np_.power(x, 0.5) + np_.power(x, np.float32(1.0)), [-2.0, 0.0, 4.0]),
    # a known integer exponent multiplies (lax.integer_pow), whose x ** 0 has derivative 0 (was NaN at 0)
    "power_of_known_integers": (lambda np_, sp, nn: lambda x: x ** 0 + np_.power(x, np_.array(3)), [0.0, -2.0, 1.5]),
    # max and min multiply each tangent by its weight (0, 1/2, 1), as JAX's: a NaN cotangent reaches the side
    # not chosen (celu's gradient at NaN was 0: exp(min(x, 0)) selected 0 for x)
    "celu": (lambda np_, sp, nn: nn.celu, [np.nan, -1.0, 1.0, 0.0]),
    # JAX's fmax and fmin pick x2 at a tie (x1 > x2 or x2 NaN picks x1): the slope went half to each
    "fmax_ties": (lambda np_, sp, nn: lambda x: np_.fmax(x, 1.0), [1.0, np.nan, 2.0, 0.5]),
    "fmin_ties": (lambda np_, sp, nn: lambda x: np_.fmin(1.0, x), [1.0, np.nan, 2.0, 0.5]),
    # JAX's integer_pow rule y x ** (y - 1), an integer power again: the product and quotient rules of the
    # multiplies gave NaN at 0, at the infinities and where x ** |y| overflows (1e30 ** 2: inf / inf)
    "negative_integer_powers": (lambda np_, sp, nn: lambda x: x ** -2, [0.0, -0.0, np.inf, -np.inf, 1e30, 1e-30, -2.0]),
    "power_to_negative_integers": (lambda np_, sp, nn: lambda x: np_.power(x, -3), [0.0, -0.0, np.inf, -np.inf, 1e30]),
    # to an integer array (lax.pow of an integer y): d/dx 0 where y = 0 (was NaN at x = 0)
    "power_to_integer_arrays": (lambda np_, sp, nn: lambda x: np_.power(x, np_.arange(3)).sum(), [0.0, -2.0, 1.5]),
    # at exact multiples (a zero remainder) the derivatives were 0 (JAX's rem rule: 1 and -trunc(x / y))
    "remainder_in_x": (lambda np_, sp, nn: lambda x: np_.remainder(x, 1.5), [3.0, -3.0, 0.0, 2.5]),
    "remainder_in_y": (lambda np_, sp, nn: lambda y: np_.remainder(3.0, y), [1.5, -1.5, 1.0, 2.5]),
    "fmod_in_x": (lambda np_, sp, nn: lambda x: np_.fmod(x, 1.5), [3.0, -3.0, 0.0, 2.5]),
    "fmod_in_y": (lambda np_, sp, nn: lambda y: np_.fmod(-3.0, y), [1.5, -1.5, 1.0, 2.5]),
}


@pytest.mark.parametrize("name", CASES)
def test_derivatives_at_the_edges_like_jax(name):
    fn, points = CASES[name]
    ours, theirs = fn(jnp, isp, irax.nn), fn(jax.numpy, jsp, jax.nn)
    x = np.array(points, np.float32)
    orders = [(irax.grad(ours), jax.grad(theirs)), (irax.grad(irax.grad(ours)), jax.grad(jax.grad(theirs)))]
    for order, (d, dj) in enumerate(orders[:1 if name in ("log_ndtr", "cbrt") else 2]):
        want = np.array(jax.vmap(dj)(x))
        for got in (irax.vmap(d)(x), irax.jit(irax.vmap(d))(x)):
            np.testing.assert_allclose(np.asarray(got), want, rtol=2e-6, atol=1e-30, err_msg=f"order {order + 1}")


# Odd functions are x itself near 0 (scalar_rules._near_zero); their second
# and third derivatives there were 0, those of x, rather than f's.
ODD_NEAR_ZERO = ["sin", "tan", "arcsin", "arctan", "sinh", "tanh", "arcsinh", "arctanh"]


@pytest.mark.parametrize("name", ODD_NEAR_ZERO)
def test_higher_derivatives_of_odd_functions_near_zero_like_jax(name):
    x = np.array([1e-5, -1e-5, 0.0, 1e-3], np.float32)
    d, dj = getattr(jnp, name), getattr(jax.numpy, name)
    for order in range(4):
        got, want = np.asarray(irax.vmap(d)(x)), np.array(jax.vmap(dj)(x))
        # JAX's own float32 rules are 3e-3 off at 1e-5 (tanh's (1 + t)(1 - t) differentiates to a cancellation)
        np.testing.assert_allclose(got, want, rtol=2e-6 if order < 2 else 3e-3, atol=1e-30, err_msg=f"order {order}")
        d, dj = irax.grad(d), jax.grad(dj)


def _assert_like_jax(got, want, what):
    """Equal to JAX's up to rounding, NaN where JAX's is, and zeros and
    infinities of JAX's signs."""
    got, want = np.asarray(got), np.asarray(want)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-30, err_msg=what)
    signed = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got[signed]), np.signbit(want[signed]), err_msg=f"{what}: signs")


def test_derivatives_of_positive_integer_powers_like_jax():
    """x ** n's derivatives by the product rule of its multiplies: JAX's, the
    zeros' signs too, but for the second at -0 (JAX's -0, here +0) and the
    third at ±inf (JAX's rule gives x ** 3's 6 = 3 * 2 * x ** 0, the product
    rule inf * 0 = NaN): see integer_power."""
    x = np.array([0.0, -0.0, np.inf, -np.inf, -2.0], np.float32)
    for n in (2, 3, 5):
        d, dj = (lambda x: x ** n), (lambda x: x ** n)
        for order in range(1, 4):
            d, dj = irax.grad(d), jax.grad(dj)
            where = {1: np.arange(5), 2: np.array([0, 2, 3, 4]), 3: np.array([0, 1, 4])}[order]
            _assert_like_jax(irax.vmap(d)(x)[where], jax.vmap(dj)(x)[where], f"x ** {n}, order {order}")


def test_integer_power_tangents_like_jax():
    """jvp and jit of lax.integer_pow and jnp.power to a negative integer."""
    x = np.array([0.0, -0.0, np.inf, -np.inf, 1e30], np.float32)
    t = np.float32([1.0, 2.0, -1.0, 3.0, 1.0])
    for ours, theirs in [(lambda x: irax.lax.integer_pow(x, -2), lambda x: jax.lax.integer_pow(x, -2)),
                         (lambda x: jnp.power(x, -1), lambda x: jax.numpy.power(x, -1))]:
        want = jax.jvp(theirs, (x,), (t,))
        for got in (irax.jvp(ours, (x,), (t,)), irax.jit(lambda x, t: irax.jvp(ours, (x,), (t,)))(x, t)):
            _assert_like_jax(got[0], want[0], "value")
            _assert_like_jax(got[1], want[1], "tangent")


def test_cumprod_derivatives_through_infinities_like_jax():
    """cumprod is differentiated as JAX's (the JVP of associative_scan of
    multiplies), not as its Hillis-Steele scan, whose derivative was NaN
    after an infinity (inf * 0 terms): jvp and grad, eager and jitted, of
    jnp.cumprod and lax.cumprod in reverse."""
    x = np.float32([[2.0, np.inf, 3.0, -np.inf, 0.5], [1.5, 0.0, np.inf, -2.0, 4.0]])
    t = np.float32([[1.0, -2.0, 0.5, 3.0, 1.0], [2.0, 1.0, -1.0, 0.5, 1.0]])
    w = np.float32([[1.0, 2.0, -1.0, 0.5, 3.0], [1.0, -1.0, 2.0, 1.0, 0.5]])
    for ours, theirs in [(lambda x: jnp.cumprod(x, axis=1), lambda x: jax.numpy.cumprod(x, axis=1)),
                         (lambda x: irax.lax.cumprod(x, 1, reverse=True),
                          lambda x: jax.lax.cumprod(x, 1, reverse=True))]:
        want = jax.jvp(theirs, (x,), (t,))[1]
        _assert_like_jax(irax.jvp(ours, (x,), (t,))[1], want, "jvp")
        grad, grad_j = irax.grad(lambda x: (ours(x) * w).sum()), jax.grad(lambda x: (theirs(x) * w).sum())
        for got in (grad(x), irax.jit(grad)(x)):
            _assert_like_jax(got, grad_j(x), "grad")


def test_cumprod_of_integers_into_floats_differentiates_like_jax():
    """cumprod of an int array in float32, times x: its custom rule took the
    int array, whose tangent is float0 (JAX's; the rule converts first)."""
    ours = irax.grad(lambda x: (jnp.cumprod(jnp.arange(1, 4), dtype=jnp.float32) * x).sum())
    theirs = jax.grad(lambda x: (jax.numpy.cumprod(jax.numpy.arange(1, 4), dtype=jnp.float32) * x).sum())
    _assert_like_jax(ours(np.ones(3, np.float32)), theirs(np.ones(3, np.float32)), "grad")


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_xlogy_derivatives_at_zero_like_jax(name):
    """JAX's custom rule log(y) dx + x dy / y (x dy / (1 + y)): at x = 0
    -inf, inf or NaN where y is at the log's pole or infinite (the value's
    own derivative, 0 there, was irax's); jvp in each argument, and grad."""
    x = np.float32([0.0, 0.0, 0.0, 1.0, 0.0, -0.0])
    y = np.float32([0.0, 2.0, -1.0, 0.0, np.inf, np.nan]) - (name == "xlog1py")
    ours, theirs = getattr(isp, name), getattr(jsp, name)
    ones = np.ones_like(x)
    for argnum in (0, 1):
        along = [(ones, np.zeros_like(y)), (np.zeros_like(x), ones)][argnum]
        want = jax.jvp(theirs, (x, y), along)
        got = irax.jvp(ours, (x, y), along)
        _assert_like_jax(got[0], want[0], "value")
        _assert_like_jax(got[1], want[1], f"jvp in argument {argnum}")
        _assert_like_jax(irax.vmap(irax.grad(ours, argnum))(x, y), jax.vmap(jax.grad(theirs, argnum))(x, y),
                         f"grad in argument {argnum}")


@pytest.mark.parametrize("padding", ["VALID", "SAME"])
def test_window_extremes_with_nan_differentiate_like_jax(padding):
    """lax.reduce_window's max and min with NaN in windows: JAX's select
    scans each window, keeping the element selected while it is >= (<=) the
    next, so a NaN is selected and then the element after it (irax sent
    the derivative to the first element equal to the result or NaN).
    A NaN at a window's end is followed by the padding: the cotangent goes
    there (lost), the tangent stays the NaN's."""
    x = np.float32([[1.0, np.nan, 3.0, 3.0, 5.0, np.nan], [np.nan, np.nan, 2.0, -1.0, np.nan, 4.0]])
    t = np.arange(1, 13, dtype=np.float32).reshape(x.shape)
    for monoid, init in [("max", -np.inf), ("min", np.inf)]:
        for window in [(1, 3), (2, 2)]:
            def pool(lax, x):
                return lax.reduce_window(x, init, getattr(lax, monoid), window, (1, 1), padding)

            ours, theirs = (lambda x: pool(irax.lax, x)), (lambda x: pool(jax.lax, x))
            what = f"{monoid} {window}"
            if window[0] == 1:  # (XLA orders a 2-D window's select-and-gather as it sees fit: per dim, or not)
                np.testing.assert_array_equal(irax.jvp(ours, (x,), (t,))[1], jax.jvp(theirs, (x,), (t,))[1], what)
            w = np.arange(1, ours(x).size + 1, dtype=np.float32).reshape(ours(x).shape)
            grad = irax.grad(lambda x: (ours(x) * w).sum())
            np.testing.assert_array_equal(irax.jit(grad)(x), jax.grad(lambda x: (theirs(x) * w).sum())(x), what)


def test_nextafter_has_no_derivative_as_in_jax():
    """JAX has no differentiation rule for nextafter (irax's gave 0)."""
    for fn in (lambda x: jnp.nextafter(x, 2.0), lambda x: irax.lax.nextafter(1.0, x), jnp.spacing):
        with pytest.raises(NotImplementedError, match="Differentiation rule for 'nextafter' not implemented"):
            irax.grad(fn)(1.0)
        with pytest.raises(NotImplementedError, match="Differentiation rule for 'nextafter' not implemented"):
            irax.jvp(fn, (1.0,), (1.0,))
    np.testing.assert_array_equal(irax.vmap(jnp.nextafter)(np.ones(2, np.float32), np.zeros(2, np.float32)),
                                  np.nextafter(np.ones(2, np.float32), np.float32(0)))
