"""irax.scipy's signal, optimize, ndimage, fft, integrate, interpolate and
cluster modules against JAX (values, dtypes, shapes, errors) and SciPy
(values), with finite-difference checks of the differentiable ones. The
inputs are a few small shared arrays: every new shape compiles kernels."""
import importlib
import inspect
import warnings

import numpy as np
import pytest

import irax
import irax.numpy as jnp
import irax.scipy as isp
from helpers import check_central_differences

jax = pytest.importorskip("jax")
import jax.scipy.cluster.vq  # noqa: E402 (jax.scipy does not import its subpackages)
import jax.scipy.fft  # noqa: E402
import jax.scipy.integrate  # noqa: E402
import jax.scipy.interpolate  # noqa: E402
import jax.scipy.ndimage  # noqa: E402
import jax.scipy.optimize  # noqa: E402
import jax.scipy.signal  # noqa: E402

scipy = pytest.importorskip("scipy")
import scipy.cluster.vq  # noqa: E402
import scipy.fft  # noqa: E402
import scipy.integrate  # noqa: E402
import scipy.interpolate  # noqa: E402
import scipy.ndimage  # noqa: E402
import scipy.signal  # noqa: E402

rng = np.random.default_rng(0)
A = rng.normal(size=7).astype(np.float32)        # 1-d signals
B = rng.normal(size=3).astype(np.float32)
M = rng.normal(size=(4, 5)).astype(np.float32)   # 2-d ones
K = rng.normal(size=(2, 3)).astype(np.float32)
S = rng.normal(size=(2, 40)).astype(np.float32)  # two signals for the spectral functions
T = rng.normal(size=(2, 40)).astype(np.float32)
Z = scipy.signal.stft(S, nperseg=8)[2].astype(np.complex64)  # an STFT for istft


def assert_matches(got, want, tol=1e-4, dtype=True):
    """got (an irax result or tuple of them) equals want in shape, values and
    (against JAX) dtype."""
    got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, (g.shape, w.shape)
        if dtype:
            assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True)


def assert_like_jax(got, jax_call, scipy_call=None, tol=1e-4):
    """got has the shapes and dtypes of JAX's result, traced abstractly (nothing
    compiles), and its values: SciPy's where SciPy computes the same, which is
    cheap (JAX's eager ops compile one kernel each per shape: seconds a case),
    else JAX's."""
    got = got if isinstance(got, tuple) else (got,)
    types = jax.tree_util.tree_leaves(jax.eval_shape(jax_call))
    assert [(np.asarray(g).shape, np.asarray(g).dtype) for g in got] == [(t.shape, t.dtype) for t in types]
    want = scipy_call() if scipy_call is not None else jax_call()
    assert_matches(got, want if isinstance(want, tuple) else (want,), tol, dtype=scipy_call is None)


# ---------------------------------------------------------------------------
# signal: each case is a call on a module, irax's, JAX's or SciPy's (whose
# values are JAX's for all of these).

SIGNAL_CASES = {
    **{f"convolve-{m}": lambda s, m=m: s.convolve(A, B, m) for m in ("full", "same", "valid")},
    "convolve-swapped-same": lambda s: s.convolve(B, A, "same"),
    "convolve-fft": lambda s: s.convolve(A, B, method="fft"),
    **{f"correlate-{m}": lambda s, m=m: s.correlate(A, B, m) for m in ("full", "same", "valid")},
    "correlate-complex": lambda s: s.correlate(A * (1 + 1j), B * (1 - 2j)),
    **{f"convolve2d-{m}": lambda s, m=m: s.convolve2d(M, K, m) for m in ("full", "same", "valid")},
    **{f"correlate2d-{m}": lambda s, m=m: s.correlate2d(M, K, m) for m in ("full", "same", "valid")},
    **{f"correlate2d-swapped-{m}": lambda s, m=m: s.correlate2d(K, M, m) for m in ("full", "valid")},
    "correlate2d-complex-swapped": lambda s: s.correlate2d(K * 1j, M * (1 + 1j)),
    "convolve-nd": lambda s: s.convolve(M[None], K[None], "same"),
    **{f"fftconvolve-{m}": lambda s, m=m: s.fftconvolve(M, K, m) for m in ("full", "same", "valid")},
    "fftconvolve-axes": lambda s: s.fftconvolve(M, M[:, :3], "same", axes=1),
    "fftconvolve-complex": lambda s: s.fftconvolve(A * 1j, B),
    "detrend-linear": lambda s: s.detrend(M, axis=0),
    "detrend-breakpoints": lambda s: s.detrend(A, bp=[3]),
    "detrend-constant": lambda s: s.detrend(M, type="constant"),
    "detrend-int": lambda s: s.detrend(np.arange(6) ** 2),
    "stft": lambda s: s.stft(S, nperseg=8),
    "stft-odd-boundary": lambda s: s.stft(S, nperseg=8, noverlap=5, nfft=10, boundary="odd", axis=-1),
    "stft-even-unpadded": lambda s: s.stft(S[0], nperseg=8, boundary="even", padded=False),
    "welch": lambda s: s.welch(S, nperseg=8),
    "welch-median-spectrum": lambda s: s.welch(S, nperseg=8, average="median", scaling="spectrum"),
    "welch-linear-twosided": lambda s: s.welch(S.T, nperseg=8, detrend="linear", return_onesided=False, axis=0),
    "welch-hamming": lambda s: s.welch(S, nperseg=8, window="hamming", nfft=12),
    "csd": lambda s: s.csd(S, T, nperseg=8),
    "csd-median": lambda s: s.csd(S, T, fs=2.0, nperseg=8, average="median"),
    "csd-shorter-y": lambda s: s.csd(S, T[:, :30], nperseg=8),
    "istft": lambda s: s.istft(Z, nperseg=8),
    "istft-axes": lambda s: s.istft(np.swapaxes(Z, -1, -2), nperseg=8, time_axis=-2, freq_axis=-1),
}


@pytest.mark.parametrize("case", sorted(SIGNAL_CASES))
def test_signal_matches_jax_and_scipy(case):
    call = SIGNAL_CASES[case]
    assert_like_jax(call(isp.signal), lambda: call(jax.scipy.signal), lambda: call(scipy.signal))


SIGNAL_ERRORS = {
    "bad-mode": (lambda s: s.convolve(A, B, "bogus"), ValueError),
    "ndim-mismatch": (lambda s: s.convolve(A, M), ValueError),
    "neither-smaller": (lambda s: s.convolve(M, M.T), ValueError),
    "bad-method": (lambda s: s.convolve(A, B, method="bogus"), ValueError),
    "2d-boundary": (lambda s: s.convolve2d(M, K, boundary="wrap"), NotImplementedError),
    "2d-fillvalue": (lambda s: s.correlate2d(M, K, fillvalue=1), NotImplementedError),
    "2d-of-1d": (lambda s: s.convolve2d(A, B), ValueError),
    "fft-valid-neither-smaller": (lambda s: s.fftconvolve(M, M.T, "valid"), ValueError),
    "fft-mapped-axes-differ": (lambda s: s.fftconvolve(M, K, axes=1), ValueError),
    "detrend-type": (lambda s: s.detrend(A, type="bogus"), ValueError),
    "detrend-breakpoint": (lambda s: s.detrend(A, bp=[9]), ValueError),
    "noverlap": (lambda s: s.welch(S, nperseg=8, noverlap=8), ValueError),
    "average": (lambda s: s.welch(S, nperseg=8, average="bogus"), ValueError),
    "istft-same-axes": (lambda s: s.istft(Z, nperseg=8, time_axis=0, freq_axis=0), ValueError),
}


@pytest.mark.parametrize("case", sorted(SIGNAL_ERRORS))
def test_signal_errors_as_jax(case):
    call, error = SIGNAL_ERRORS[case]
    with pytest.raises(error) as want:
        call(jax.scipy.signal)
    with pytest.raises(error) as got:
        call(isp.signal)
    assert str(got.value) == str(want.value)


def test_signal_complex_input_warns_and_goes_twosided():
    with pytest.warns(UserWarning, match="switching to return_onesided=False"):
        got = isp.signal.welch(S * 1j, nperseg=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_matches(got, jax.scipy.signal.welch(S * 1j, nperseg=8))


def test_welch_with_a_detrend_function_as_jax():
    # JAX hands the function the segments with their axis numbered as the
    # time axis moved last (SciPy: each segment): the oracle here is JAX alone
    def call(s):
        return s.welch(S, nperseg=8, detrend=lambda d: d - d.mean(axis=-1, keepdims=True))
    assert_like_jax(call(isp.signal), lambda: call(jax.scipy.signal))


def test_convolve_under_jit_and_vmap():
    batch = np.stack([A, 2 * A])
    got = irax.jit(irax.vmap(lambda x: isp.signal.convolve(x, B, "same")))(batch)
    assert_matches(got, jax.vmap(lambda x: jax.scipy.signal.convolve(x, B, "same"))(batch))


def test_istft_inverts_stft():
    _, x = isp.signal.istft(isp.signal.stft(S, nperseg=8)[2], nperseg=8)
    np.testing.assert_allclose(np.asarray(x), S, atol=1e-5)


# ---------------------------------------------------------------------------
# ndimage.map_coordinates

IMAGE = rng.normal(size=(4, 5)).astype(np.float32)
# points inside, beyond every edge, and on half-way points (rounding)
COORDS = [np.array([-1.7, 0.5, 1.2, 2.5, 3.0, 4.6, 6.3], np.float32),
          np.array([-2.2, 0.0, 4.5, 1.3, 5.8, 2.5, -0.4], np.float32)]
MODES = ["constant", "nearest", "wrap", "mirror", "reflect"]
# (order, mode) where SciPy's ndimage differs from JAX's at points beyond the
# edges: its 'constant' and 'wrap' interpolate through the edge differently.
SCIPY_DIFFERS = {(1, "constant"), (0, "wrap"), (1, "wrap")}


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("mode", MODES)
def test_map_coordinates_matches_jax(order, mode):
    got = isp.ndimage.map_coordinates(IMAGE, COORDS, order, mode=mode, cval=1.5)
    scipy_call = (None if (order, mode) in SCIPY_DIFFERS else
                  lambda: scipy.ndimage.map_coordinates(IMAGE, np.stack(COORDS), order=order, mode=mode, cval=1.5))
    assert_like_jax(got, lambda: jax.scipy.ndimage.map_coordinates(IMAGE, COORDS, order, mode=mode, cval=1.5),
                    scipy_call, tol=1e-6)


def test_map_coordinates_integer_input_rounds():
    image = (10 * IMAGE).astype(np.int32)
    assert_matches(isp.ndimage.map_coordinates(image, COORDS, 1),
                   jax.scipy.ndimage.map_coordinates(image, COORDS, 1), tol=0)


@pytest.mark.parametrize("args,kwargs,error", [
    ((COORDS, 2), {}, NotImplementedError),
    ((COORDS, 1), dict(mode="grid-wrap"), NotImplementedError),
    ((COORDS[:1], 1), {}, ValueError),
])
def test_map_coordinates_errors_as_jax(args, kwargs, error):
    with pytest.raises(error) as want:
        jax.scipy.ndimage.map_coordinates(IMAGE, *args, **kwargs)
    with pytest.raises(error) as got:
        isp.ndimage.map_coordinates(IMAGE, *args, **kwargs)
    assert str(got.value) == str(want.value)


# ---------------------------------------------------------------------------
# fft: dct / idct / dctn / idctn

DCT_CASES = {
    "dct": lambda f, norm: f.dct(M, norm=norm),
    "dct-n-pad": lambda f, norm: f.dct(M, n=7, axis=0, norm=norm),
    "dct-n-cut": lambda f, norm: f.dct(M, n=3, norm=norm),
    "idct": lambda f, norm: f.idct(M, norm=norm),
    "idct-n-axis0": lambda f, norm: f.idct(M, n=7, axis=0, norm=norm),
    "dctn": lambda f, norm: f.dctn(M, norm=norm),
    "dctn-s": lambda f, norm: f.dctn(M, s=(3, 7), norm=norm),
    "dctn-3d-axes": lambda f, norm: f.dctn(M[None].repeat(2, 0), axes=(0, 2), norm=norm),
    "idctn": lambda f, norm: f.idctn(M, norm=norm),
    "idctn-s-axes": lambda f, norm: f.idctn(M, s=(6,), axes=(0,), norm=norm),
}


@pytest.mark.parametrize("norm", [None, "ortho"])
@pytest.mark.parametrize("case", sorted(DCT_CASES))
def test_dct_matches_jax_and_scipy(case, norm):
    call = DCT_CASES[case]
    assert_like_jax(call(isp.fft, norm), lambda: call(jax.scipy.fft, norm), lambda: call(scipy.fft, norm))


def test_dct_of_integers_and_complex_numbers():
    for x in (np.arange(5), M * (1 + 2j)):
        assert_like_jax(isp.fft.dct(x), lambda: jax.scipy.fft.dct(x), lambda: scipy.fft.dct(x))
        assert_like_jax(isp.fft.idctn(x, norm="backward"), lambda: jax.scipy.fft.idctn(x, norm="backward"),
                        lambda: scipy.fft.idctn(x, norm="backward"))


@pytest.mark.parametrize("fn", ["dct", "idct", "dctn", "idctn"])
def test_dct_errors_as_jax(fn):
    for kwargs, error in [(dict(type=1), NotImplementedError), (dict(norm="forward"), ValueError)]:
        with pytest.raises(error) as want:
            getattr(jax.scipy.fft, fn)(M, **kwargs)
        with pytest.raises(error, match=str(want.value)):
            getattr(isp.fft, fn)(M, **kwargs)


# ---------------------------------------------------------------------------
# integrate, interpolate, cluster

X_SAMPLES = np.cumsum(rng.uniform(0.1, 1, size=5)).astype(np.float32)


@pytest.mark.parametrize("kwargs", [dict(), dict(x=X_SAMPLES), dict(dx=0.5, axis=0)])
def test_trapezoid_matches_jax_and_scipy(kwargs):
    assert_like_jax(isp.integrate.trapezoid(M, **kwargs), lambda: jax.scipy.integrate.trapezoid(M, **kwargs),
                    lambda: scipy.integrate.trapezoid(M, **kwargs))


GRID = (np.array([0., 1., 2.5, 4.], np.float32), np.array([0., 1., 2., 3., 5.], np.float32))
POINTS = np.array([[0.3, 0.2], [2.5, 4.9], [4.0, 0.0], [-0.5, 1.0], [1.7, 5.5], [3.2, 2.6]], np.float32)


@pytest.mark.parametrize("method", ["linear", "nearest"])
@pytest.mark.parametrize("fill_value", [np.nan, None, -1.0])
def test_regular_grid_interpolator_matches_jax_and_scipy(method, fill_value):
    got = isp.interpolate.RegularGridInterpolator(GRID, M, method, fill_value=fill_value)(POINTS)
    assert_like_jax(got, lambda: jax.scipy.interpolate.RegularGridInterpolator(GRID, jax.numpy.asarray(M), method,
                                                                               fill_value=fill_value)(POINTS),
                    lambda: scipy.interpolate.RegularGridInterpolator(GRID, M, method, bounds_error=False,
                                                                      fill_value=fill_value)(POINTS))


def test_regular_grid_interpolator_value_axes_tuples_and_jit():
    values = np.stack([M, -M], axis=-1)  # a trailing value axis
    interpolator = isp.interpolate.RegularGridInterpolator(GRID, values)
    want = jax.scipy.interpolate.RegularGridInterpolator(GRID, jax.numpy.asarray(values))
    assert_matches(interpolator((POINTS[:, 0], POINTS[:, 1])), want((POINTS[:, 0], POINTS[:, 1])))
    # an interpolator is a pytree: it passes into jit as its arrays
    assert_matches(irax.jit(lambda f, p: f(p))(interpolator, POINTS), want(POINTS))
    with pytest.raises(ValueError, match="method 'cubic' is not defined"):
        isp.interpolate.RegularGridInterpolator(GRID, M, "cubic")
    with pytest.raises(NotImplementedError, match="`bounds_error` takes no effect under JIT"):
        isp.interpolate.RegularGridInterpolator(GRID, M, bounds_error=True)
    with pytest.raises(ValueError, match="have dimension 3, but this RegularGridInterpolator has dimension 2"):
        interpolator(np.ones((2, 3), np.float32))


OBS = rng.normal(size=(6, 3)).astype(np.float32)
CODES = rng.normal(size=(4, 3)).astype(np.float32)


@pytest.mark.parametrize("obs,codes", [(OBS, CODES), (OBS[:, 0], CODES[:, 0])], ids=["2d", "1d"])
def test_vq_matches_jax_and_scipy(obs, codes):
    assert_like_jax(isp.cluster.vq.vq(obs, codes), lambda: jax.scipy.cluster.vq.vq(obs, codes),
                    lambda: scipy.cluster.vq.vq(obs, codes))
    with pytest.raises(ValueError, match="Observation and code_book should have the same rank"):
        isp.cluster.vq.vq(obs, codes[None])


# ---------------------------------------------------------------------------
# Gradients: central differences of the jitted function, element by element


WEIGHTS = rng.normal(size=64).astype(np.float32)


def _weighted_sum(f):
    """A scalar loss of f that weighs each output element differently."""
    def loss(v):
        out = f(v)
        return jnp.sum(out * jnp.asarray(WEIGHTS[:out.size].reshape(out.shape)))
    return loss

GRADIENT_CASES = {
    "convolve-in1": (lambda v: isp.signal.convolve(v, B, "same"), A),
    "convolve-in2": (lambda v: isp.signal.convolve(A, v, "full"), B),
    "correlate2d": (lambda v: isp.signal.correlate2d(M, v, "valid"), K),
    "fftconvolve": (lambda v: isp.signal.fftconvolve(v, B), A),
    "map_coordinates-input": (lambda v: isp.ndimage.map_coordinates(v, COORDS, 1, mode="reflect"), IMAGE),
    # coordinates off the integers (a kink of the piecewise-linear interpolant there)
    "map_coordinates-coordinates": (lambda v: isp.ndimage.map_coordinates(IMAGE, [v, COORDS[1] + 0.05], 1),
                                    COORDS[0] + 0.05),
    "dct": (lambda v: isp.fft.dct(v, norm="ortho"), M),
    "idct": (lambda v: isp.fft.idct(v, axis=0), M),
    "dctn": (lambda v: isp.fft.dctn(v), M),
    "trapezoid-y": (lambda v: isp.integrate.trapezoid(v, X_SAMPLES), M),
    "trapezoid-x": (lambda v: isp.integrate.trapezoid(M, v), X_SAMPLES),
}


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_gradient_matches_central_differences(case):
    f, x = GRADIENT_CASES[case]
    loss = _weighted_sum(f)
    grad, value = irax.grad(loss)(x), irax.jit(loss)
    check_central_differences({"x": np.asarray(grad)}, lambda p: {"x": value(p["x"])}, {"x": x}, x.shape,
                              eps=1e-2, tol=2e-2)


# ---------------------------------------------------------------------------
# optimize.minimize: BFGS as JAX's, step for step


def rosenbrock(np_like):
    return lambda x: np_like.sum(100. * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


LBFGS = "l-bfgs-experimental-do-not-rely-on-this"
QUADRATIC_A = np.array([[3., 1., 0.], [1., 2., .5], [0., .5, 1.]], np.float32)
QUADRATIC_B = np.array([1., -2., .5], np.float32)


def quadratic(x, a, b):
    return 0.5 * x @ a @ x - b @ x


# name -> (function of a numpy-like module, x0, args, dtype). In float64 the
# iterations are JAX's step for step; in float32 the last steps, where f
# changes in its last bits, depend on how each compiler rounds f, so there the
# start is one whose iterations stay clear of that.
MINIMIZE_CASES = {
    "rosenbrock": (rosenbrock, [1.3, 0.7, 0.8], (), np.float64),
    # from (-1.2, 1) JAX's line search gives up after 10 steps (status 3): so does this one
    "rosenbrock-line-search-fails": (rosenbrock, [-1.2, 1.0], (), np.float64),
    "quadratic": (lambda np_like: quadratic, [-1.2, 1.0, 0.5], (QUADRATIC_A, QUADRATIC_B), np.float64),
    "quadratic-float32": (lambda np_like: quadratic, [-1.2, 1.0, 0.5], (QUADRATIC_A, QUADRATIC_B), np.float32),
}


@pytest.mark.parametrize("case", sorted(MINIMIZE_CASES))
def test_minimize_bfgs_under_jit_matches_jax(case, request):
    make, x0, args, dtype = MINIMIZE_CASES[case]
    if dtype == np.float64:
        request.getfixturevalue("x64")
    x0, args = np.asarray(x0, dtype), tuple(a.astype(dtype) for a in args)
    got = irax.jit(lambda x: isp.optimize.minimize(make(jnp), x, args, method="BFGS"))(x0)
    want = jax.jit(lambda x: jax.scipy.optimize.minimize(make(jax.numpy), x, args, method="BFGS"))(x0)
    assert type(got).__name__ == "OptimizeResults" and got._fields == want._fields
    for field in ("success", "status", "nit", "nfev", "njev"):
        assert np.asarray(getattr(got, field)) == np.asarray(getattr(want, field)), field
        assert np.asarray(getattr(got, field)).dtype == np.asarray(getattr(want, field)).dtype, field
    for field in ("x", "fun", "jac", "hess_inv"):
        assert_matches(getattr(got, field), getattr(want, field), tol=1e-9 if dtype == np.float64 else 1e-3)


def test_minimize_options_and_errors():
    got = isp.optimize.minimize(quadratic, np.zeros(3, np.float32), (QUADRATIC_A, QUADRATIC_B), method="bfgs",
                                options=dict(maxiter=2))
    assert int(got.nit) == 2 and int(got.status) == 1 and not bool(got.success)
    with pytest.raises(TypeError, match="args argument to jax.scipy.optimize.minimize must be a tuple"):
        isp.optimize.minimize(quadratic, np.zeros(3, np.float32), [QUADRATIC_A], method="BFGS")
    with pytest.raises(ValueError, match="Method Nelder-Mead not recognized"):
        isp.optimize.minimize(quadratic, np.zeros(3, np.float32), method="Nelder-Mead")
    with pytest.raises(TypeError, match="unexpected keyword argument 'line_search_maxiter'"):  # BFGS's, not L-BFGS's
        isp.optimize.minimize(quadratic, np.zeros(3, np.float32), (QUADRATIC_A, QUADRATIC_B), method=LBFGS,
                              options=dict(line_search_maxiter=3))


# ---------------------------------------------------------------------------
# optimize.minimize: JAX's experimental L-BFGS, step for step

# name -> (function of a numpy-like module, x0, args, options, dtype, jitted),
# one stopping reason each (status): f decreased by under ftol (4), the line
# search failed (5), maxiter (1), converged (0); the 5-d one runs past its
# history of maxcor=3 steps. float32 and complex64 as for BFGS above.
LBFGS_CASES = {
    "rosenbrock-ftol": (rosenbrock, [1.3, 0.7, 0.8], (), {}, np.float64, True),
    "rosenbrock-line-search-fails": (rosenbrock, [-1.2, 1.0], (), {}, np.float64, False),
    "rosenbrock-5d-maxcor-3": (rosenbrock, [1.3, 0.7, 0.8, 1.9, 1.2], (), dict(maxcor=3), np.float64, True),
    "rosenbrock-maxiter-float32": (rosenbrock, [1.3, 0.7, 0.8], (), dict(maxiter=5), np.float32, False),
    "quadratic-float32": (lambda np_like: quadratic, [-1.2, 1.0, 0.5], (QUADRATIC_A, QUADRATIC_B), {}, np.float32,
                          True),
    # complex x (JAX's L-BFGS takes it, as Sorber et al. 2012)
    "complex64": (lambda np_like: lambda x, c: np_like.sum(np_like.abs(x - c) ** 2), [0, 0],
                  (np.array([1 + 2j, -0.5 + 0.3j]),), {}, np.complex64, False),
}


@pytest.mark.parametrize("case", sorted(LBFGS_CASES))
def test_minimize_lbfgs_matches_jax(case, request):
    make, x0, args, options, dtype, jitted = LBFGS_CASES[case]
    if dtype == np.float64:
        request.getfixturevalue("x64")
    x0, args = np.asarray(x0, dtype), tuple(a.astype(dtype) for a in args)

    def solve(x):
        return isp.optimize.minimize(make(jnp), x, args, method=LBFGS, options=options)

    got = irax.jit(solve)(x0) if jitted else solve(x0)
    want = jax.jit(lambda x: jax.scipy.optimize.minimize(make(jax.numpy), x, args, method=LBFGS,
                                                         options=options))(x0)
    assert type(got).__name__ == "OptimizeResults" and got._fields == want._fields
    assert got.hess_inv is None and want.hess_inv is None
    for field in ("success", "status", "nit", "nfev", "njev"):
        assert np.asarray(getattr(got, field)) == np.asarray(getattr(want, field)), field
        assert np.asarray(getattr(got, field)).dtype == np.asarray(getattr(want, field)).dtype, field
    for field in ("x", "fun", "jac"):
        assert_matches(getattr(got, field), getattr(want, field), tol=1e-9 if dtype == np.float64 else 1e-3)


def test_minimize_lbfgs_under_vmap_matches_jax():
    """One start per row, each stopping at its own iteration."""
    a = np.array([[3., 1.], [1., 2.]], np.float32)
    x0 = np.array([[2.0, 1.0], [-1.0, 0.5], [0.3, 0.3]], np.float32)

    def solve(lib, optimize):
        return lib.jit(lib.vmap(lambda x: optimize.minimize(lambda x: 0.5 * x @ a @ x - x.sum(), x, method=LBFGS)))(x0)

    got, want = solve(irax, isp.optimize), solve(jax, jax.scipy.optimize)
    for field in ("status", "success", "nfev", "njev", "nit"):
        np.testing.assert_array_equal(np.asarray(getattr(got, field)), np.asarray(getattr(want, field)), field)
    for field in ("x", "fun", "jac"):
        np.testing.assert_allclose(np.asarray(getattr(got, field)), np.asarray(getattr(want, field)),
                                   rtol=1e-3, atol=1e-4, err_msg=field)  # (float32 iterations)


@pytest.mark.parametrize("name", ["signal", "fft", "ndimage", "integrate", "interpolate", "cluster.vq", "optimize"])
def test_scipy_namespaces_export_jax_names(name):
    ours, theirs = importlib.import_module(f"irax.scipy.{name}"), importlib.import_module(f"jax.scipy.{name}")
    public = {n for n in dir(theirs) if not n.startswith("_") and not inspect.ismodule(getattr(theirs, n))}
    assert public <= set(ours.__all__), public - set(ours.__all__)
    for n in ours.__all__:  # each documented, and typed throughout (tests/test_public_api.py's rules)
        fn = getattr(ours, n)
        assert inspect.getdoc(fn), n
        if inspect.isfunction(fn):
            sig = inspect.signature(fn)
            assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values()), n
            assert sig.return_annotation is not inspect.Signature.empty, n
