"""irax.numpy.fft: values against numpy.fft, dtypes, errors and gradients
against jax.numpy.fft. Each case runs as one jitted program (one compile)."""
import functools

import numpy as np
import pytest

import irax
import irax.numpy as jnp

from helpers import x64_mode

jax = pytest.importorskip("jax")
jjnp = jax.numpy

rng = np.random.default_rng(0)
# Few shapes: a (4, 24) complex signal (24 = 3 · 4 · 2, three stages; 4 a power of two), its real
# part, and rfft's (4, 13) half spectrum of it; n= reaches 1, 8, 16, the primes 7, 13 and 67,
# 46 = 23 · 2 and 134 = 67 · 2.
Z = (rng.standard_normal((4, 24)) + 1j * rng.standard_normal((4, 24))).astype(np.complex64)
R = Z.real.copy()
H = np.fft.rfft(R).astype(np.complex64)

CASES = [
    ("fft", Z, {}),
    ("fft", Z, {"n": 16}),  # cut, two radix-4 stages
    ("fft", Z, {"n": 7, "axis": 0}),  # zero-padded to a prime
    ("fft", Z, {"n": 67}),  # a prime > 64: Bluestein's convolution of length 256
    ("fft", Z, {"n": 134}),  # a Bluestein stage of 67 along the first axis of (67, 2), then one of 2
    ("ifft", Z, {"norm": "ortho"}),
    ("ifft", Z, {"n": 8, "norm": "forward"}),
    ("rfft", R, {}),
    ("rfft", R, {"n": 13, "norm": "ortho"}),
    ("rfft", R, {"n": 1}),  # no stage turns the real input complex
    ("rfft", R, {"n": 46}),  # a real input to a prime stage over 16: a matrix product
    ("irfft", H, {}),
    ("irfft", H, {"n": 13}),  # odd n
    ("hfft", H, {"n": 7}),
    ("ihfft", R, {}),
    ("fft2", Z, {"s": (3, 8)}),
    ("ifft2", Z, {"axes": (1, 0)}),
    ("fftn", Z, {"axes": (0,), "norm": "forward"}),
    ("rfftn", R, {"s": (5, 8)}),
    ("irfftn", H, {"s": (4, 7), "axes": (1, 0)}),
    ("hfft", Z, {}),  # n = 46 = 23 · 2: a prime stage over 16, a matrix product
    ("rfft2", R, {}),
    ("irfft2", H, {}),
]


@pytest.mark.filterwarnings("ignore:`axes` should not be `None`:DeprecationWarning")  # NumPy's, for s without axes
@pytest.mark.parametrize("name,x,kwargs", CASES, ids=[f"{n}-{k}" for n, _, k in CASES])
def test_values_match_numpy_and_dtypes_jax(name, x, kwargs):
    got = irax.jit(functools.partial(getattr(jnp.fft, name), **kwargs))(x)
    want = getattr(np.fft, name)(x, **kwargs)
    assert got.dtype == getattr(jjnp.fft, name)(x, **kwargs).dtype
    assert got.shape == want.shape
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=2e-6 * np.abs(want).max())


def test_a_longer_transform_matches_numpy():
    """2^10 points take five radix-4 stages, a (4, 1024) batch of rows at once."""
    x = rng.standard_normal((4, 1024)).astype(np.float32)
    got = irax.jit(jnp.fft.rfft)(x)
    want = np.fft.rfft(x)
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.float16, np.float32, np.complex64])
@pytest.mark.parametrize("name", ["fft", "rfft", "irfft", "hfft", "ihfft"])
def test_input_dtypes_promote_as_in_jax(name, dtype):
    x = np.ones(4, dtype)
    try:
        want = getattr(jjnp.fft, name)(x)
    except ValueError as e:  # rfft of float16 or complex
        with pytest.raises(ValueError, match=str(e)):
            getattr(jnp.fft, name)(x)
        return
    got = irax.eval_shape(getattr(jnp.fft, name), x)
    assert (got.dtype, got.shape) == (want.dtype, want.shape)


def test_complex128_in_x64_mode():
    with x64_mode(True):
        x = rng.standard_normal(12) + 1j * rng.standard_normal(12)
        got = irax.jit(jnp.fft.fft)(x)
        assert got.dtype == np.complex128
        np.testing.assert_allclose(np.asarray(got), np.fft.fft(x), rtol=0, atol=1e-13)


BAD = [
    ("fft", {"n": 0}),
    ("fft", {"axis": (0, 1)}),
    ("fft", {"norm": "unitary"}),
    ("fftn", {"axes": (0, 0)}),
    ("fftn", {"s": (2, 2), "axes": (0,)}),
    ("fftn", {"s": (-1, 2)}),
    ("fft2", {"axes": (0, 1, 2)}),
    ("rfft", {"x": Z}),
    ("rfft", {"x": R.astype(np.float16)}),
    ("fftfreq", {"n": [4]}),
    ("rfftfreq", {"n": 4, "d": [1.0]}),
]


@pytest.mark.parametrize("name,kwargs", BAD, ids=[f"{n}-{k}" for n, k in BAD])
def test_bad_arguments_fail_as_in_jax(name, kwargs):
    kwargs = dict(kwargs)
    args = () if "freq" in name else (kwargs.pop("x", R),)
    with pytest.raises(Exception) as want:
        getattr(jjnp.fft, name)(*args, **kwargs)
    with pytest.raises(want.type) as got:
        getattr(jnp.fft, name)(*args, **kwargs)
    assert str(got.value) == str(want.value)


def test_freqs_and_shifts_match_jax():
    for got, want in [(jnp.fft.fftfreq(5, 0.1), jjnp.fft.fftfreq(5, 0.1)),
                      (jnp.fft.fftfreq(4, dtype=np.int32), jjnp.fft.fftfreq(4, dtype=np.int32)),
                      (jnp.fft.rfftfreq(7, 2.0), jjnp.fft.rfftfreq(7, 2.0)),
                      (jnp.fft.fftshift(R), jjnp.fft.fftshift(R)),
                      (jnp.fft.ifftshift(R, axes=1), jjnp.fft.ifftshift(R, axes=1)),
                      (jnp.fft.fftshift(R, axes=(0,)), jjnp.fft.fftshift(R, axes=(0,)))]:
        assert got.dtype == want.dtype
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)


def test_freqs_take_a_device_as_jax():
    """device= (the Array API's): the result is there, committed to it."""
    device = irax.devices("cpu")[0]
    for fn in (jnp.fft.fftfreq, jnp.fft.rfftfreq):
        out = fn(6, 0.5, device=device)
        assert out.device == device and out.committed
        np.testing.assert_allclose(np.asarray(out), np.asarray(getattr(jjnp.fft, fn.__name__)(6, 0.5)), rtol=1e-6)


LOSSES = {
    # The power spectrum, and a round trip through a complex spectrum (real part weighted).
    "power": lambda np_, x: np_.sum(np_.abs(np_.fft.fft(x)) ** 2),
    "round trip": lambda np_, x: np_.sum(np_.real(np_.fft.ifft(np_.fft.fft(x) * (1 + 0.5j))) * np_.arange(24.0)),
    "rfft/irfft": lambda np_, x: np_.sum(np_.fft.irfft(np_.fft.rfft(x, norm="ortho") ** 2, n=24) * x),
}


@pytest.mark.parametrize("loss", LOSSES)
def test_grad_matches_jax(loss):
    x = R[0]
    got = irax.jit(irax.grad(functools.partial(LOSSES[loss], jnp)))(x)
    want = jax.grad(functools.partial(LOSSES[loss], jjnp))(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=0, atol=2e-5 * np.abs(want).max())


def test_real_transforms_of_even_length_go_through_half_length_ones():
    """rfft of an even n packs x[2j] + i x[2j+1] into n/2 complex points, and irfft unpacks: n = 2
    (one point), and an irfft input whose X[0] and X[n/2] have imaginary parts, which NumPy ignores
    (the unpacking must drop them: they would leak into the odd points), under vmap."""
    x = R[:, :2]
    np.testing.assert_allclose(np.asarray(irax.jit(jnp.fft.rfft)(x)), np.fft.rfft(x), rtol=0, atol=1e-6)
    h = H[:, :5] + 1j  # every term, the ends too, gets an imaginary part
    got = irax.jit(irax.vmap(jnp.fft.irfft))(h)
    want = np.fft.irfft(h)
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=2e-6 * np.abs(want).max())
    # One term: n = 0 points (JAX's answer; NumPy raises)
    got, want = jnp.fft.irfft(H[:, :1]), jjnp.fft.irfft(H[:, :1])
    assert (got.shape, got.dtype) == (want.shape, want.dtype)


def test_vmap_of_fft_is_fft_of_rows():
    got = irax.jit(irax.vmap(functools.partial(jnp.fft.fft, n=8)))(Z)
    np.testing.assert_allclose(np.asarray(got), np.fft.fft(Z, n=8), rtol=0, atol=2e-6 * np.abs(Z).max() * 8)
