"""The rest of jax.numpy's namespace (math_extra, statistics, layout, ...):
values and dtypes against jax.numpy on one shared set of small inputs,
eagerly and under jit, a few gradients against jax.grad, and JAX's errors.

Every case runs on inputs of the shapes below, so the cases share the few
shapes there are; under jit, the cases of a table are one program (one
compile for them all).
"""
import re

import ml_dtypes
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.frontend import core

jax = pytest.importorskip("jax")
jjnp = jax.numpy

rng = np.random.default_rng(0)
SPECIAL = np.array([-np.inf, -2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0, np.inf, np.nan, 0.125, -7.25], np.float32)
X = rng.choice(SPECIAL, (3, 8)).astype(np.float32)
Y = rng.choice(SPECIAL, (3, 8)).astype(np.float32)
F = rng.normal(size=(3, 8)).astype(np.float32)  # finite values
G = rng.normal(size=(3, 8)).astype(np.float32)
I = rng.integers(-9, 10, (3, 8)).astype(np.int32)  # noqa: E741
J = rng.integers(-9, 10, (3, 8)).astype(np.int32)
U = rng.integers(0, 256, (3, 8)).astype(np.uint8)
N = np.where(rng.random((3, 8)) < 0.3, np.nan, F).astype(np.float32)  # finite values and NaNs
V = rng.normal(size=8).astype(np.float32)


def _same(actual, expected, rtol=2e-6, atol=0):
    """The same pytree of arrays: dtypes, shapes, values (NaN where NaN)."""
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), (actual, expected)
        for a, e in zip(actual, expected):
            _same(a, e, rtol, atol)
        return
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, (actual, expected)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


def _all_under_jit_match_jax(table, atol, rtol=None):
    """Every case of `table` (name -> (function of a numpy module, its
    arguments)) computed by one jitted program, each against jax.numpy: a
    program is one IREE compile (0.5-2 s), so the cases share one compile
    rather than one each. The failing cases are all named."""
    got = irax.jit(lambda cases: {name: table[name][0](jnp, *args) for name, args in cases.items()})(
        {name: args for name, (_, args) in table.items()})
    failures = []
    for name, (fn, args) in table.items():
        try:
            _same(got[name], fn(jjnp, *args), rtol or CLOSE.get(name, 2e-6), atol)
        except AssertionError as error:
            failures.append(f"{name}: {error}")
    assert not failures, "\n".join(failures)


# name -> (function of a numpy module, its arguments); each is run with irax.numpy
# and jax.numpy, eagerly and under jit.
ELEMENTWISE = {
    "fabs": (lambda np_, x: np_.fabs(x), (I,)),
    "signbit": (lambda np_, x, i, u: (np_.signbit(x), np_.signbit(i), np_.signbit(u)), (X, I, U)),
    "copysign": (lambda np_, x, y: np_.copysign(x, y), (X, Y)),
    "fmod": (lambda np_, x, y, i, j: (np_.fmod(x, y), np_.fmod(i, j)), (X, Y, I, J)),
    "modf": (lambda np_, x: np_.modf(x), (X,)),
    "frexp": (lambda np_, x: np_.frexp(x), (X,)),
    "ldexp": (lambda np_, x, i: np_.ldexp(x, i * 20), (F, I)),
    "hypot": (lambda np_, x, y: np_.hypot(x, y), (X, Y)),
    "logaddexp": (lambda np_, x, y: (np_.logaddexp(x, y), np_.logaddexp2(x, y)), (X, Y)),
    "heaviside": (lambda np_, x, y: np_.heaviside(x, y), (X, Y)),
    "sinc": (lambda np_, x: np_.sinc(x), (F,)),
    "gcd_lcm": (lambda np_, i, j: (np_.gcd(i, j), np_.lcm(i, j)), (I, J)),
    "fmax_fmin": (lambda np_, x, y: (np_.fmax(x, y), np_.fmin(x, y)), (X, Y)),
    "float_power": (lambda np_, x, i: np_.float_power(x, i), (F, I)),
    "divmod": (lambda np_, i, j: np_.divmod(i, j), (I, J)),
    "angles": (lambda np_, x: (np_.deg2rad(x), np_.rad2deg(x), np_.angle(x), np_.angle(x, deg=True)), (X,)),
    "isposneginf": (lambda np_, x, i: (np_.isposinf(x), np_.isneginf(x), np_.isposinf(i)), (X, I)),
    "nan_to_num": (lambda np_, x: (np_.nan_to_num(x), np_.nan_to_num(x, nan=1.0, posinf=2.0)), (X,)),
    "spacing": (lambda np_, x: (np_.spacing(x), np_.spacing(x.astype(np.float16))), (X,)),
    "nextafter": (lambda np_, x, y: np_.nextafter(x, y), (X, Y)),
    "i0": (lambda np_, x: np_.i0(x * 8), (F,)),
    "real_parts": (lambda np_, x: (np_.real(x), np_.imag(x), np_.conj(x), np_.iscomplex(x), np_.isreal(x)), (X,)),
    "bitwise_count": (lambda np_, i, u: (np_.bitwise_count(i), np_.bitwise_count(u)), (I, U)),
    "aliases": (lambda np_, f, i: (np_.acos(f / 3), np_.atan2(f, f), np_.pow(f, 2), np_.bitwise_invert(i),
                                   np_.bitwise_left_shift(i, 2)), (F, I)),
}

CLOSE = {"i0": 2e-5, "logaddexp": 1e-5, "sinc": 1e-5, "float_power": 1e-5, "hypot": 1e-5}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_match_jax(name):
    fn, args = ELEMENTWISE[name]
    expected = fn(jjnp, *args)
    _same(fn(jnp, *args), expected, CLOSE.get(name, 2e-6))


def test_elementwise_under_jit_match_jax():
    _all_under_jit_match_jax(ELEMENTWISE, 0)


def test_constants_and_dtype_utilities_match_jax():
    for name in ("pi", "e", "inf", "euler_gamma", "newaxis"):
        assert getattr(jnp, name) == getattr(jjnp, name)
    assert np.isnan(jnp.nan)
    x = jnp.zeros((2, 3))
    assert (jnp.ndim(x), jnp.shape(x), jnp.size(x), jnp.size(x, 1)) == (2, (2, 3), 6, 3)
    assert (jnp.ndim([1, 2]), jnp.shape(3.0), jnp.size([[1, 2]])) == (1, (), 2)
    assert [jnp.isscalar(v) for v in (1.0, jnp.zeros(()), x, "a")] == [jjnp.isscalar(v) for v in
                                                                      (1.0, jjnp.zeros(()), jjnp.zeros(3), "a")]
    assert repr(jnp.finfo(jnp.bfloat16)) == repr(jjnp.finfo(jjnp.bfloat16))
    assert jnp.iinfo(jnp.int8).max == 127 and jnp.can_cast(np.int8, np.int32)
    for dtype in (np.bool_, np.int8, np.uint32, np.float16, jnp.bfloat16, np.float32):
        for kind in ("bool", "signed integer", "unsigned integer", "integral", "real floating", "numeric",
                     ("bool", "real floating"), np.int8):
            assert jnp.isdtype(dtype, kind) == jjnp.isdtype(dtype, kind), (dtype, kind)
    assert jnp.broadcast_shapes((2, 1), (3,)) == jjnp.broadcast_shapes((2, 1), (3,)) == (2, 3)
    with pytest.raises(ValueError, match="Incompatible shapes for broadcasting"):
        jnp.broadcast_shapes((2,), (3,))
    assert jnp.iscomplexobj(x) is False and jnp.isrealobj(x) is True


def test_elementwise_gradients_match_jax():
    for name in ("hypot", "logaddexp", "copysign", "fmax"):
        expected = jax.grad(lambda x, y: getattr(jjnp, name)(x, y).sum(), (0, 1))(F, G)
        _same(irax.grad(lambda x, y: getattr(jnp, name)(x, y).sum(), (0, 1))(F, G), expected, 1e-5, 1e-6)
    _same(irax.grad(lambda x: jnp.sinc(x).sum())(F), jax.grad(lambda x: jjnp.sinc(x).sum())(F), 1e-4, 1e-6)


STATISTICS = {
    "nansum_nanprod": (lambda np_, n: (np_.nansum(n), np_.nansum(n, axis=0), np_.nanprod(n, axis=1, keepdims=True)), (N,)),
    "nanmax_nanmin": (lambda np_, x: (np_.nanmax(x, axis=1), np_.nanmin(x), np_.nanargmax(x, axis=1),
                                      np_.nanargmin(x)), (X,)),
    "nanmean_nanvar": (lambda np_, n: (np_.nanmean(n, axis=1), np_.nanvar(n, axis=0), np_.nanstd(n, ddof=1),
                                       np_.nanvar(n, axis=1, keepdims=True)), (N,)),
    "nancumsum": (lambda np_, n: (np_.nancumsum(n, axis=1), np_.nancumprod(n)), (N,)),
    "nan_half_and_inf": (lambda np_, x: (np_.nanvar(x), np_.nanvar(x.astype(np.float16), axis=1), np_.nanstd(x, axis=0),
                                         np_.nansum(x.astype(np.float16), axis=1)), (X,)),
    "nan_on_ints": (lambda np_, i: (np_.nansum(i), np_.nanmax(i, axis=0), np_.nanmean(i), np_.nanargmin(i, axis=1)), (I,)),
    "average": (lambda np_, f, g, v: (np_.average(f), np_.average(f, axis=1, weights=v, returned=True),
                                      np_.average(f, axis=0, weights=g + 3)), (F, G, V)),
    "ptp_count_nonzero": (lambda np_, i, u: (np_.ptp(i, axis=0), np_.ptp(u), np_.count_nonzero(i, axis=1),
                                             np_.count_nonzero(i)), (I, U)),
    "cumulative": (lambda np_, f, i: (np_.cumulative_sum(f, axis=1), np_.cumulative_prod(f, axis=0, include_initial=True),
                                      np_.cumulative_sum(i[0], include_initial=True)), (F, I)),
    "diff": (lambda np_, f, i: (np_.diff(f), np_.diff(i, n=2, axis=0), np_.diff(f, prepend=1.0, append=f[:, :2]),
                                np_.ediff1d(i, to_begin=7, to_end=i[0, :2])), (F, I)),
    "gradient": (lambda np_, f, v: (np_.gradient(f), np_.gradient(f, 2.0, axis=1), np_.gradient(f[0], np_.cumsum(np_.abs(v) + 0.5))),
                 (F, V)),
    "trapezoid": (lambda np_, f, v: (np_.trapezoid(f), np_.trapezoid(f, dx=0.5, axis=0),
                                     np_.trapezoid(f, np_.cumsum(np_.abs(v)))), (F, V)),
    # (with preferred_element_type, integers stay integers, as JAX)
    "convolve": (lambda np_, v, f, i: tuple(fn(a, b, mode) for fn in (np_.convolve, np_.correlate) for mode in ("full", "same", "valid")
                                            for a, b in ((v, f[0, :3]), (f[1, :3], v)))
                 + tuple(fn(i[0, :5].astype(np.int8), i[1, :3], mode, preferred_element_type=np.int32)
                         for fn in (np_.convolve, np_.correlate) for mode in ("full", "same")), (V, F, I)),
    # (dtypes as JAX's: fp promoted apart from x and xp, `left` as where's operand: float16 x with int32 fp or a
    # float32 `right` is float32)
    "interp": (lambda np_, f, v, i: (np_.interp(f * 3, np_.sort(v), v), np_.interp(f, np_.sort(v), v, left=-9.0, right=9.0),
                                     np_.interp(f * 5, np_.sort(v), v, period=2.0),
                                     np_.interp(f * 3, np_.sort(v), v, left="extrapolate", right="extrapolate"),
                                     np_.interp(f.astype(np.float16), np_.sort(v).astype(np.float16), i[0]),
                                     np_.interp(f.astype(np.float16), np_.sort(v).astype(np.float16), v.astype(np.float16),
                                                right=np.float32(9.0))), (F, V, I)),
    "cov": (lambda np_, f, g, v: (np_.cov(f), np_.cov(f, rowvar=False, bias=True), np_.cov(f[0], g[0]),
                                  np_.cov(f, fweights=np_.arange(8) % 3, aweights=np_.abs(v)), np_.corrcoef(f),
                                  np_.corrcoef(f[0], g[0])), (F, G, V)),
    # (integer weights count in floats: JAX promotes a and weights together)
    "histogram": (lambda np_, f, v, i: (np_.histogram(f), np_.histogram(f, bins=4, range=(-1, 1), weights=f * 0 + 2),
                                        np_.histogram(f, bins=np_.sort(v), density=True),
                                        np_.histogram_bin_edges(f, bins=3),
                                        np_.histogram(np.float32([0.1, 0.9, 1.0, 0.0])),
                                        np_.histogram(f, bins=3, weights=i),
                                        np_.histogram(i, bins=3, weights=f.astype(np.float16))), (F, V, I)),
    "histogramdd": (lambda np_, f, g: (np_.histogram2d(f[0], g[0], bins=3), np_.histogram2d(f[1], g[1], bins=[2, 4],
                                                                                         weights=g[0], density=True),
                                       np_.histogramdd(f.T, bins=(2, 3, 2), range=[(-1, 1), None, (0, 2)]),
                                       np_.histogram2d(f[0], g[0], bins=[np_.array([-1.0, 0.0, 1.0]), np_.array([-2.0, 2.0])]),
                                       np_.histogramdd(f[:2].T, bins=[np_.array([-1.0, 1.0]), 2]),
                                       np_.histogramdd(f[:2].T, bins=2, weights=f[2].astype(np.int32)),
                                       np_.histogramdd(f[:2].T.astype(np.float16), bins=2, density=True)), (F, G)),
    "bincount": (lambda np_, i, f: (np_.bincount(i[0] + 9, length=12), np_.bincount(i[1], weights=f[1], length=5),
                                    np_.bincount(i[2], minlength=20, length=20)), (I, F)),
}
CLOSE.update({"nanmean_nanvar": 1e-5, "average": 1e-5, "gradient": 1e-5, "trapezoid": 1e-5, "convolve": 1e-5,
              "interp": 1e-5, "cov": 1e-5, "histogram": 1e-5})


@pytest.mark.parametrize("name", sorted(STATISTICS))
def test_statistics_match_jax(name):
    fn, args = STATISTICS[name]
    expected = fn(jjnp, *args)
    _same(fn(jnp, *args), expected, CLOSE.get(name, 2e-6), 1e-6)


def test_statistics_under_jit_match_jax():
    _all_under_jit_match_jax(STATISTICS, 1e-6)


def test_complex_correlate_cov_and_corrcoef_conjugate_as_jax():
    """correlate conjugates v (its second operand), cov the transposed rows
    (so its diagonal is real), corrcoef clips each part; cov's weights are
    checked as JAX's, and their sign dropped."""
    a, v = np.complex64([1 + 1j, 2, 3j]), np.complex64([1j, 1])
    m = np.complex64([[1 + 1j, 2, 3j], [1, 0, 1j]])
    cases = lambda np_: ([np_.correlate(a, v, mode) for mode in ("full", "same", "valid")],  # noqa: E731
                         np_.correlate(v, a, "full"), np_.convolve(a, v), np_.cov(m), np_.corrcoef(m),
                         np_.cov(F, fweights=np.int32([1, -2, 1, 3, 0, 1, 1, 2]), aweights=np.abs(V) - 0.5))
    _same(cases(jnp), cases(jjnp), 1e-5, 1e-6)
    _same(irax.jit(lambda: cases(jnp))(), cases(jjnp), 1e-5, 1e-6)
    for call, error in ((lambda np_: np_.cov(F, fweights=np.float32(V)), TypeError),
                        (lambda np_: np_.cov(F, fweights=np.int32([1, 2])), RuntimeError),
                        (lambda np_: np_.cov(F, aweights=np.ones((1, 8))), RuntimeError)):
        with pytest.raises(error) as want:
            call(jjnp)
        with pytest.raises(error, match=re.escape(str(want.value))):
            call(jnp)


def test_bincount_needs_a_length_under_jit():
    _same(jnp.bincount(I[0] + 9), jjnp.bincount(I[0] + 9))
    _same(jnp.bincount(np.int32([1, 1, 3]), minlength=6), jjnp.bincount(np.int32([1, 1, 3]), minlength=6))
    _same(jnp.bincount(np.uint8([0, 2])), jjnp.bincount(np.uint8([0, 2])))  # unsigned: no -1 to start the max from
    with pytest.raises(core.ConcretizationTypeError, match="length"):
        irax.jit(jnp.bincount)(I[0])
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(jjnp.bincount)(I[0])


def _sum_but_the_largest(x):
    return x.sum() - x.max()


LAYOUT = {
    "roll": (lambda np_, f: (np_.roll(f, 3), np_.roll(f, -2, axis=1), np_.roll(f, (1, 5), axis=(0, 1)),
                             np_.rollaxis(f[None], 2, 1),
                             # several shifts of one axis (and of the flattened array) add up, as NumPy's
                             np_.roll(f, [2, 3], axis=1), np_.roll(f, [1, -4])), (F,)),
    "rot90_flips": (lambda np_, f: (np_.rot90(f), np_.rot90(f, 2), np_.rot90(f, -1, axes=(1, 0)), np_.fliplr(f),
                                    np_.flipud(f)), (F,)),
    "diagonals": (lambda np_, f, v: (np_.diagonal(f), np_.diagonal(f, 2), np_.diagonal(f, -1), np_.diag(f, 1),
                                     np_.diag(v[:3], -1), np_.diagflat(f[:, :2]), np_.trace(f, 1),
                                     np_.trace(f[None], axis1=1, axis2=2)), (F, V)),
    "fill_diagonal": (lambda np_, f, v: (np_.fill_diagonal(f, 5.0, inplace=False),
                                         np_.fill_diagonal(f.T, v[:2], inplace=False)), (F, V)),
    "index_helpers": (lambda np_, f: (np_.tril_indices(4, 1), np_.triu_indices(3, 0, 5), np_.tril_indices_from(f),
                                      np_.triu_indices_from(f, -1), np_.diag_indices(3), np_.diag_indices_from(f[:, :3])), (F,)),
    "splits": (lambda np_, f: (np_.array_split(f, 3, axis=1), np_.array_split(f, [1, 5], axis=1), np_.hsplit(f, 4),
                               np_.vsplit(f, 3), np_.dsplit(f[..., None].repeat(2, -1), 2), np_.hsplit(f[0], [2])), (F,)),
    "joins": (lambda np_, f, i, v: (np_.column_stack([v, f[0], i[0]]), np_.column_stack([f.T, v]), np_.dstack([f, f]),
                                    np_.dstack([v, v]), np_.block([[f, f], [f, f]]), np_.block([v, f[0]]),
                                    np_.append(f, i), np_.append(f, f[:1], axis=0)), (F, I, V)),
    "insert_delete": (lambda np_, f, v: (np_.insert(f, 2, 9.0, axis=1), np_.insert(f, np.array([0, 2, 2, 8]), v[:4], axis=1),
                                         np_.insert(f, 1, v, axis=0), np_.insert(f, slice(0, 3), 7.0),
                                         np_.delete(f, 1, axis=0), np_.delete(f, np.array([0, -1, 3]), axis=1),
                                         np_.delete(f, slice(None, None, 2))), (F, V)),
    "resize": (lambda np_, f: (np_.resize(f, (5, 7)), np_.resize(f[0], 3)), (F,)),
    "choose_select": (lambda np_, i, f, g: (np_.choose(np_.abs(i) % 3, [f, g, f * 2]),
                                            np_.choose(i, [f, g], mode="wrap"), np_.choose(i, [f, g, 1.0], mode="clip"),
                                            np_.select([f > 0.5, f < -0.5], [f, g], -1.0)), (I, F, G)),
    "piecewise": (lambda np_, f: (np_.piecewise(f, [f < 0, f > 1], [lambda x: -x, 2.0, lambda x: x * 3]),
                                  np_.piecewise(f, [f < 0], [0.5, lambda x: x ** 2])), (F,)),
    "apply": (lambda np_, f: (np_.apply_along_axis(_sum_but_the_largest, 1, f), np_.apply_along_axis(lambda x: x * 2, 0, f),
                              np_.apply_over_axes(np_.sum, f[None], [0, 2])), (F,)),
    "updates": (lambda np_, f, i, v: (np_.put_along_axis(f, np_.argsort(f, axis=1)[:, :2], -1.0, axis=1, inplace=False),
                                      np_.place(f, f > 0, v[:3], inplace=False),
                                      np_.put(f, np_.array([0, 5, 23]), v[:3], inplace=False),
                                      np_.put(f, np_.array([-1, 30]), 7.0, mode="clip", inplace=False),
                                      # (no mode: negatives from the end, the rest clipped, as JAX's unravel_index)
                                      np_.put(f, np_.array([-2, 30, -40, 2]), v[:4], inplace=False)), (F, I, V)),
    "products": (lambda np_, f, g, i: (np_.kron(f[:2, :3], g[:2, :2]), np_.kron(f[0], i[0, :3]),
                                       np_.cross(f[:, :3], g[:, :3]), np_.cross(f[:2, :3], g[:2, :3], axis=0),
                                       np_.cross(f[:, :2], g[:, :3]), np_.cross(f[:, :2], g[:, :2]),
                                       np_.vecdot(f, g), np_.vecdot(f, g, axis=0), np_.matvec(f, g[0]),
                                       np_.vecmat(f[0, :3], g)), (F, G, I)),
}
CLOSE.update({"products": 1e-5})


@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_layout_match_jax(name):
    fn, args = LAYOUT[name]
    expected = fn(jjnp, *args)
    _same(fn(jnp, *args), expected, CLOSE.get(name, 2e-6), 1e-6)


def test_layout_under_jit_match_jax():
    _all_under_jit_match_jax(LAYOUT, 1e-6)


def test_block_checks_its_lists_as_jax():
    for arrays in ([[1, 2], 3], [[1, 2], []], ([1, 2], [3]), [(1, 2), (3, 4)]):
        with pytest.raises(ValueError) as want:
            jjnp.block(arrays)
        with pytest.raises(ValueError, match=re.escape(str(want.value).split(", got")[0])):  # (JAX shows tracers)
            jnp.block(arrays)


def test_linalg_cross_vecdot_and_diagonal_match_jax():
    """linalg.cross takes 3-vectors only, linalg.vecdot and linalg.diagonal keep
    the operands' dtype (uint8 stays uint8, bool bool), and vecdot needs equal
    sizes along axis."""
    u = np.arange(6, dtype=np.uint8).reshape(2, 3)
    products = lambda m: (m.linalg.cross(m.asarray(u), np.int8([1, -2, 3])),  # noqa: E731
                          m.linalg.vecdot(u, u[::-1], axis=0), m.linalg.vecdot(u, u),
                          m.linalg.diagonal(u, offset=1), m.linalg.diagonal(u > 2), m.linalg.diagonal(u > 2, offset=-1))
    for got, want in zip(products(jnp), products(jjnp)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    for call in (lambda m: m.linalg.cross(m.ones((2, 2)), m.ones((2, 3))),
                 lambda m: m.linalg.vecdot(m.ones((3, 2)), m.ones((3, 1))),
                 lambda m: m.vecdot(m.ones((2, 3)), m.ones((3, 2)), axis=0),
                 # matvec and vecmat multiplied vectors (a dot product) and mismatched sizes (matmul's error)
                 lambda m: m.matvec(m.ones(3), m.ones(3)), lambda m: m.vecmat(m.ones(3), m.ones(3)),
                 lambda m: m.matvec(m.ones((2, 3)), m.ones(4))):
        with pytest.raises(ValueError) as want:
            call(jjnp)
        with pytest.raises(ValueError, match=re.escape(str(want.value))):
            call(jnp)


def test_in_place_updates_raise_as_in_jax():
    f = jnp.asarray(F)
    for name, call in (("put", lambda np_, x: np_.put(x, np_.array([0]), 1.0)),
                       ("place", lambda np_, x: np_.place(x, x > 0, 1.0)),
                       ("put_along_axis", lambda np_, x: np_.put_along_axis(x, np_.array([[0]]), 1.0, axis=0))):
        with pytest.raises(ValueError, match=f"jax.numpy.{name} cannot modify arrays in-place"):
            call(jnp, f)
        with pytest.raises(ValueError, match=f"jax.numpy.{name} cannot modify arrays in-place"):
            call(jjnp, F)
    with pytest.raises(NotImplementedError, match="immutable"):
        jnp.fill_diagonal(f, 1.0)
    _same(jnp.trim_zeros(np.float32([0, 0, 1, 0, 2, 0])), jjnp.trim_zeros(np.float32([0, 0, 1, 0, 2, 0])))
    _same(jnp.trim_zeros(np.int32([0, 3, 0]), "f"), jjnp.trim_zeros(np.int32([0, 3, 0]), "f"))
    with pytest.raises(core.ConcretizationTypeError):
        irax.jit(jnp.trim_zeros)(F[0])
    grid = np.int32([[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0]])
    for args in ((grid,), (grid, "fb", 0), (grid, "f", 1), (grid, "b", (0, -1)), (np.zeros((2, 2)),)):
        _same(jnp.trim_zeros(*args), jjnp.trim_zeros(*args))  # N-D: every axis, or those of `axis`
    for a1, a2 in ((np.float32([0, 0, 1, 2]), np.float32([0, 3])), (np.float32([0, 0]), np.float32([1, 3]))):
        _same(jnp.polymul(a1, a2, trim_leading_zeros=True), jjnp.polymul(a1, a2, trim_leading_zeros=True))
    _same(jnp.mask_indices(3, jnp.triu, 1), jjnp.mask_indices(3, jjnp.triu, 1))
    _same(irax.jit(lambda: jnp.mask_indices(3, jnp.tril, size=6))(), jjnp.mask_indices(3, jjnp.tril, size=6))


SETOPS = {
    "nonzero_sized": (lambda np_, i: (np_.nonzero(i, size=30), np_.nonzero(i[0], size=4, fill_value=-1),
                                      np_.flatnonzero(i, size=5), np_.argwhere(i, size=30, fill_value=9),
                                      np_.nonzero(i, size=30, fill_value=(7, 8))), (I,)),
    "compress_sized": (lambda np_, f, i: (np_.compress(i[0] > 0, f, axis=1, size=8),
                                          np_.extract(f > 0, i, size=10, fill_value=-5)), (F, I)),
    "isin": (lambda np_, i, j: (np_.isin(i, j[0]), np_.isin(i, j[0], invert=True)), (I, J)),
    "sets_sized": (lambda np_, i, j: (np_.union1d(i, j[0], size=24), np_.intersect1d(i, j, size=10),
                                      np_.setdiff1d(i, j[0], size=12), np_.setxor1d(i[0], j[0], size=9),
                                      np_.setdiff1d(i, j[0], size=12, fill_value=-1)), (I, J)),
    "sets_indices": (lambda np_, i, j: (np_.intersect1d(i, j, return_indices=True, size=10),
                                        np_.intersect1d(i[0, :4], j[0, :3], assume_unique=True, return_indices=True, size=4),
                                        np_.intersect1d(i[0], i[0] + 100, size=3),  # none in common: 0s
                                        np_.setdiff1d(i[0], j[0], assume_unique=True, size=9)), (I, J)),
    "unique_sized": (lambda np_, i: (tuple(np_.unique_all(i, size=20)), tuple(np_.unique_counts(i, size=20)),
                                     tuple(np_.unique_inverse(i, size=20)), np_.unique_values(i, size=20)), (I,)),
}


@pytest.mark.parametrize("name", sorted(SETOPS))
def test_selections_match_jax(name):
    fn, args = SETOPS[name]
    expected = fn(jjnp, *args)
    _same(fn(jnp, *args), expected)


def test_selections_under_jit_match_jax():
    _all_under_jit_match_jax(SETOPS, 0)


def test_intersect1d_indices_setdiff1d_assume_unique_and_isin_methods_as_jax():
    a, b = np.int32([3, 1, 2, 3, 1, 5, 0, 2]), np.int32([[2, 4], [5, 7]])
    for args in ((a, b), (a[::2], a[1::2]), (np.float32([2, np.nan, 1, 2]), np.float32([np.nan, 2, 0]))):
        _same(jnp.intersect1d(*args, return_indices=True), jjnp.intersect1d(*args, return_indices=True))
    # assume_unique keeps ar1's order (NumPy's too): no sort
    _same(jnp.setdiff1d(a, b, assume_unique=True), jjnp.setdiff1d(a, b, assume_unique=True))
    _same([jnp.isin(a, b, method=m) for m in ("compare_all", "binary_search", "sort", "auto")],
          [jjnp.isin(a, b, method=m) for m in ("compare_all", "binary_search", "sort", "auto")])
    with pytest.raises(ValueError, match="method='foo' is not implemented"):
        jnp.isin(a, b, method="foo")


@pytest.mark.parametrize("name", ["nonzero", "flatnonzero", "argwhere", "union1d", "intersect1d", "setdiff1d",
                                  "setxor1d", "unique_values", "unique_all", "extract"])
def test_selections_need_size_under_jit(name):
    call = {"nonzero": lambda np_, i: np_.nonzero(i), "flatnonzero": lambda np_, i: np_.flatnonzero(i),
            "argwhere": lambda np_, i: np_.argwhere(i), "extract": lambda np_, i: np_.extract(i > 0, i)}.get(
        name, lambda np_, i: getattr(np_, name)(*((i, i[0]) if name.endswith("1d") else (i,))))
    _same(call(jnp, I), call(jjnp, I))  # eagerly the size comes from the values
    with pytest.raises(core.ConcretizationTypeError):
        irax.jit(lambda i: call(jnp, i))(I)
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(lambda i: call(jjnp, i))(I)


def test_index_tricks_match_jax():
    cases = {
        "indices": lambda np_: (np_.indices((2, 3)), np_.indices((2, 3), sparse=True), np_.indices((3,), dtype=np.float32)),
        "ix_": lambda np_: np_.ix_(np.int32([0, 2]), np.int32([1, 2, 3])),
        "mgrid": lambda np_: (np_.mgrid[0:2, 0:3], np_.mgrid[0:1:5j], np_.mgrid[0:4:2, -1:1:3j]),
        "ogrid": lambda np_: tuple(np_.ogrid[0:2, 1:4]),
        "r_": lambda np_: (np_.r_[1:4, 0, np.int32([7, 8])], np_.r_["0,2", [1, 2], [3, 4]], np_.r_[0:1:5j],
                           np_.r_["-1,2,0", np.int32([1, 2]), np.int32([3, 4])], np_.r_["r", 1, 2], np_.c_["c", 1, 2],
                           np_.r_["r", np.ones((2, 2), np.float32), np.ones((1, 2), np.float32)]),
        "c_": lambda np_: (np_.c_[np.int32([1, 2]), np.int32([3, 4])], np_.c_[np.ones((2, 2), np.float32), np.int32([5, 6])]),
        "ravel": lambda np_: (np_.ravel_multi_index((np.int32([1, 2]), np.int32([0, 3])), (3, 4)),
                              np_.ravel_multi_index((np.int32([1, 5]), np.int32([-1, 3])), (3, 4), mode="wrap"),
                              np_.ravel_multi_index((np.int32([1, 5]), np.int32([-1, 3])), (3, 4), mode="clip"),
                              np_.ravel_multi_index((np.int32([1, 2]), np.int32([0, 3])), (3, 4), order="F"),
                              np_.unravel_index(np.int32([0, 5, 11, -1, 20]), (3, 4))),
        "spaces": lambda np_: (np_.logspace(0, 2, 5), np_.logspace(1, 3, 4, base=2.0, endpoint=False),
                               np_.geomspace(1, 1000, 4), np_.geomspace(-2, -32, 5)),
        "from": lambda np_: (np_.fromfunction(lambda i, j: i * 3 + j, (2, 3), dtype=np.float32),
                             # (its docstring: vmapped, the function sees scalar indices; irax passed the grids)
                             np_.fromfunction(lambda i: (i + 1) * np_.arange(3), (2,)),
                             np_.frombuffer(b"\x01\x02\x03\x04", dtype=np.uint8),
                             np_.fromstring("1 2 3.5", dtype=np.float32, sep=" ")),
    }
    for name, case in cases.items():
        _same(case(jnp), case(jjnp), 1e-5)
    assert jnp.s_[1:2, ::3] == jjnp.s_[1:2, ::3] and jnp.index_exp[1:2] == jjnp.index_exp[1:2]
    with pytest.raises(ValueError, match="invalid entry"):
        jnp.ravel_multi_index((np.int32([5]), np.int32([0])), (3, 4))
    with pytest.raises(ValueError, match="string directive must be placed at the beginning"):
        jnp.r_[1, "0", 2]
    with pytest.raises(ValueError, match="`range` must be either None or a sequence of scalars"):
        jnp.histogram(F, 2, range=(0.0, 1.0, 2.0))
    with pytest.raises(ValueError, match="the only valid string value of `left` is 'extrapolate'"):
        jnp.interp(F, np.float32([0, 1]), np.float32([1, 2]), left="foo")
    with pytest.raises(ValueError, match="complex x values not supported"):
        jnp.interp(np.complex64([1j]), np.float32([0, 1]), np.float32([1, 2]))
    with pytest.raises(NotImplementedError, match="jnp.fromiter"):
        jnp.fromiter(range(5), dtype=np.int32)


MORE = {
    # polydiv's eager loop compiles a kernel per quotient term, for the operands' sizes:
    # those of test_polydiv_trims_the_remainder_as_jax (5 and 2) share its kernels.
    "polynomials": (lambda np_, f, v, i: (np_.polyval(v[:4], f), np_.polyval(i[0, :3], i), np_.polyadd(v[:3], f[0]),
                                          np_.polysub(i[0], i[1, :3]), np_.polymul(v[:3], i[0, :4]), np_.polyder(v, 2),
                                          np_.polyder(i[0]), np_.polyint(v[:4]), np_.polyint(v[:3], 2, k=np_.array([1.0, 2.0])),
                                          np_.polydiv(v[:5], v[:2] + 3), np_.poly(v[:4]), np_.vander(v[:4]),
                                          np_.vander(i[0, :3], 5, increasing=True), np_.vander(i[0, :3].astype(np.int8), 3)),
                    (F, V, I)),
    "windows_unwrap": (lambda np_, f, i: (np_.bartlett(7), np_.blackman(7), np_.hamming(7), np_.hanning(7),
                                          np_.kaiser(7, 3.5), np_.hanning(1), np_.unwrap(f * 4),
                                          np_.unwrap(f * 4, axis=0, period=3.0), np_.unwrap(f * 3, discont=4.0),
                                          np_.unwrap(i * 3, period=4), np_.unwrap(i, period=8, discont=3)), (F, I)),
    "bits": (lambda np_, i, u: (np_.packbits(i > 0), np_.packbits(i, axis=1), np_.packbits(i, axis=0, bitorder="little"),
                                np_.unpackbits(u), np_.unpackbits(u, axis=0, count=5), np_.unpackbits(u, axis=1, bitorder="little")),
             (I, U)),
    "array_api": (lambda np_, f, i: (np_.concat([f, i], axis=1), np_.permute_dims(f[None], (2, 0, 1)),
                                     np_.unstack(f, axis=1), np_.array_equiv(f, f[:1]), np_.array_equiv(f[0], f)), (F, I)),
    # JAX's docstring examples: polyadd/polysub of 2-D stacks along axis 0, piecewise with an array of scalar
    # conditions (each applies to all of x), vsplit of a 1-D array (irax raised NumPy's errors for each)
    "docstrings": (lambda np_, i, v: (np_.polyadd(i[:1, :3], i[1:, :3]), np_.polysub(i[:, :3], i[:1, :3]),
                                      np_.polyadd(i[:2, :3], i[0, :1]), np_.polysub(i[0, :1], i[:2, :3]),
                                      np_.piecewise(i[0], np_.array([False, True, False]), [lambda x: x, lambda x: x * 10, 0]),
                                      *np_.vsplit(v, 2)), (I, V)),
}
CLOSE.update({"polynomials": 2e-5, "windows_unwrap": 1e-5})


def test_delete_of_traced_unique_positions_as_jax():
    """jnp.delete's docstring: under jit, positions known only as a traced
    array need assume_unique_indices (else a ConcretizationTypeError)."""
    for np_, jit in ((jnp, irax.jit), (jjnp, jax.jit)):
        delete = jit(lambda x, i: np_.delete(x, i, axis=1, assume_unique_indices=True))
        _same(delete(I, np.int32([0, -1, 3])), np.delete(I, [0, -1, 3], axis=1), 0, 0)
        with pytest.raises(core.ConcretizationTypeError if np_ is jnp else jax.errors.ConcretizationTypeError):
            jit(lambda x, i: np_.delete(x, i))(V, np.int32([0, 1]))


def test_save_and_load_as_jax():
    """jnp.load's docstring: a bfloat16 array saved by jnp.save (NumPy's 'V2') loads as bfloat16."""
    import io
    loaded = []
    for np_ in (jnp, jjnp):
        f = io.BytesIO()
        np_.save(f, np_.array([2, 4, 6, 8], dtype="bfloat16"))
        f.seek(0)
        loaded.append(np_.load(f))
    ours, theirs = loaded
    assert isinstance(ours, irax.Array) and (ours.dtype, ours.tolist()) == (theirs.dtype, theirs.tolist())
    f = io.BytesIO()
    jnp.savez(f, a=jnp.arange(3))
    f.seek(0)
    assert jnp.load(f)["a"].tolist() == [0, 1, 2]


def test_polyadd_refuses_what_jax_s_does():
    """JAX adds the shorter along axis 0 into the longer's last entries: a
    (3,) and a (2, 3) do not broadcast that way (jnp.polyadd's docstring)."""
    for np_ in (jnp, jjnp):
        with pytest.raises(ValueError):
            np_.polyadd(I[0, :3], I[:2, :3])


def test_polydiv_trims_the_remainder_as_jax():
    """jnp.polydiv's docstring: trim_leading_zeros drops the remainder's leading
    near-zeros (|r| < sqrt(eps)), not NaNs (a leading zero in v makes them);
    bfloat16's eps too (NumPy's finfo does not know it); concrete values only, as JAX's."""
    for u, v in ((V[:5], V[:2]), (np.float32([1, 2, 1]), np.float32([1, 1])), (V[:5], np.float32([0, 1])),
                 (V[:5].astype(ml_dtypes.bfloat16), V[:2].astype(ml_dtypes.bfloat16))):
        _same(jnp.polydiv(u, v, trim_leading_zeros=True), jjnp.polydiv(u, v, trim_leading_zeros=True), 2e-5, 1e-5)
    with pytest.raises(core.ConcretizationTypeError):
        irax.jit(lambda u: jnp.polydiv(u, V[:2], trim_leading_zeros=True))(V)


def test_size_of_axes_as_jax():
    """jnp.size's docstring: a tuple of axes gives the product of their lengths."""
    for axis in (None, 1, -1, (1,), (0, 1), (-1, 0)):
        assert jnp.size(F, axis=axis) == jjnp.size(F, axis=axis)


@pytest.mark.parametrize("name", sorted(MORE))
def test_more_match_jax(name):
    fn, args = MORE[name]
    expected = fn(jjnp, *args)
    _same(fn(jnp, *args), expected, CLOSE.get(name, 2e-6), 1e-5)


def test_more_under_jit_match_jax():
    _all_under_jit_match_jax(MORE, 1e-5)


UFUNC_METHODS = {
    "reduce": lambda np_, f, i: (np_.add.reduce(f), np_.add.reduce(f, axis=None, where=f > 0), np_.multiply.reduce(f, 1),
                                 np_.maximum.reduce(f, initial=0.5, keepdims=True), np_.subtract.reduce(f, 1),
                                 np_.bitwise_or.reduce(i), np_.logical_xor.reduce(i > 0, axis=None),
                                 np_.logaddexp.reduce(f)),
    "accumulate": lambda np_, f, i: (np_.add.accumulate(f), np_.multiply.accumulate(f, 1), np_.subtract.accumulate(f, 1),
                                     np_.maximum.accumulate(i, 1), np_.bitwise_xor.accumulate(i)),
    "at_outer": lambda np_, f, i: (np_.add.at(f[0], np.int32([0, 0, 5]), 2.0, inplace=False),
                                   np_.maximum.at(f[0], np.int32([1, 1, 2]), f[1, :3], inplace=False),
                                   np_.subtract.at(i, (np.int32([0, 0]), np.int32([1, 1])), 3, inplace=False),
                                   np_.negative.at(i[0], np.int32([2, 2, 3]), inplace=False),
                                   np_.add.outer(f[0, :3], i[0]), np_.maximum.outer(i[0, :2], f[:, :2])),
    "reduceat": lambda np_, f, i: (np_.add.reduceat(f, np.int32([0, 4, 1, 7]), axis=1),
                                   np_.subtract.reduceat(i[0], np.int32([0, 5, 5])), np_.maximum.reduceat(f, np.int32([2, 0]))),
}


@pytest.mark.parametrize("name", sorted(UFUNC_METHODS))
def test_ufunc_methods_match_jax(name):
    """jnp.add and the other binary functions JAX makes ufuncs have NumPy's
    methods: a faster reduction where there is one (add.reduce is sum), else
    a loop of the function."""
    expected = UFUNC_METHODS[name](jjnp, F, I)
    _same(UFUNC_METHODS[name](jnp, F, I), expected, 1e-5, 1e-6)


def test_ufunc_methods_under_jit_match_jax():
    _all_under_jit_match_jax({name: (fn, (F, I)) for name, fn in UFUNC_METHODS.items()}, 1e-6, rtol=1e-5)


def test_frompyfunc_and_ufunc_match_jax():
    def methods(np_):
        f = np_.frompyfunc(lambda x, y: np_.where(x > y, x - y, x + y), 2, 1)
        g = np_.frompyfunc(lambda x, y: x * y, 2, 1, identity=1)
        return (f(F, 0.5), f.reduce(F), f.reduce(F, axis=1), f.accumulate(F), f.outer(V[:2], V[2:5]),
                f.reduceat(V, np.int32([0, 3])), g.reduce(np.zeros(0, np.float32)), g.reduce(V, where=V > 0),
                (f.nin, f.nout, f.nargs, g.identity))
    _same(methods(jnp), methods(jjnp), 1e-5, 1e-6)
    assert isinstance(jnp.add, jnp.ufunc) and not isinstance(jnp.sin, jnp.ufunc) and jnp.add != jnp.multiply
    assert irax.jit(lambda op, x: op.reduce(x), static_argnums=0)(jnp.multiply, V) == pytest.approx(np.prod(V), 1e-5)
    for call in (lambda np_: np_.subtract.reduce(np.zeros((0, 2))), lambda np_: np_.maximum.reduce(F, where=F > 0),
                 lambda np_: np_.negative.reduce(I), lambda np_: np_.add.reduce(F, where=F)):
        with pytest.raises(ValueError) as want:
            call(jjnp)
        with pytest.raises(ValueError, match=re.escape(str(want.value)[:40])):
            call(jnp)
    with pytest.raises(NotImplementedError, match="inplace=False"):
        jnp.add.at(F, 0, 1.0)


def test_printing_options_are_numpy_s():
    assert jnp.get_printoptions() == np.get_printoptions()
    with jnp.printoptions(precision=2):
        assert jnp.array_str(jnp.asarray(np.float32([1.23456]))) == "[1.23]"
    assert "1.2345" in jnp.array_repr(jnp.asarray(np.float32([1.23456])))
    assert not jnp.array_equiv(F, F[:2])  # shapes that do not broadcast are not equivalent, as in NumPy


GRADIENTS = {
    "nan_reductions": lambda np_, n: np_.nansum(n ** 2) + np_.nanmean(n) + np_.nanstd(n) + np_.nanmax(n, axis=1).sum(),
    "statistics": lambda np_, f: (np_.average(f, axis=1, weights=f[0, :8] ** 2).sum() + np_.ptp(f)
                                  + np_.trapezoid(f).sum() + np_.cov(f).sum() + np_.gradient(f ** 2, axis=1).sum()),
    "interp_convolve": lambda np_, f: (np_.interp(f, np_.linspace(-2, 2, 8), f[0] ** 2).sum()
                                       + np_.convolve(f[0], f[1, :3], "same").sum()),
    "layout": lambda np_, f: ((np_.roll(f, 2, axis=1) * f).sum() + np_.trace(f ** 2) + np_.diag(f[0]).sum()
                              + (np_.insert(f, 1, f[0], axis=0) ** 2).sum() + np_.polyval(f[0, :3], f).sum()
                              + (np_.cross(f[:, :3], f[:, 3:6]) ** 2).sum()),
    "elementwise": lambda np_, f: (np_.logaddexp2(f, 1.0) + np_.hypot(f, 2.0) + np_.sinc(f) + np_.heaviside(f, 0.5) * f
                                   + np_.ldexp(f, 3)).sum(),
}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradients_match_jax(name):
    fn = GRADIENTS[name]
    x = N if name == "nan_reductions" else F
    expected = jax.grad(lambda a: fn(jjnp, a))(x)
    _same(irax.grad(lambda a: fn(jnp, a))(x), expected, 2e-4, 1e-5)


def test_vmap_matches_a_loop():
    fn = lambda f: (jnp.nanmean(f), jnp.roll(f, 2), jnp.diff(f), jnp.interp(f, jnp.sort(f), f), jnp.bincount(  # noqa: E731
        jnp.abs(f * 3).astype(jnp.int32), length=8))
    batched = irax.vmap(fn)(N)
    for k in range(N.shape[0]):
        _same([b[k] for b in batched], fn(N[k]), 1e-6)


def test_where_of_one_argument_is_nonzero_as_jax():
    """(It raised a ValueError: 'single argument (nonzero) is not supported'.)"""
    jax = pytest.importorskip("jax")
    c = np.array([[0, 1], [1, 0]])
    for ours, theirs in [(jnp.where(c), jax.numpy.where(c)),
                         (jnp.where(c, size=3, fill_value=-1), jax.numpy.where(c, size=3, fill_value=-1)),
                         (irax.jit(lambda v: jnp.where(v, size=2))(c), jax.jit(lambda v: jax.numpy.where(v, size=2))(c))]:
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError, match="three-term where"):
        jnp.where(c, 1, 2, size=3)
