"""`irax.scipy.signal`, as `jax.scipy.signal`: convolutions and spectral analysis.

    convolve / correlate (N-d), convolve2d / correlate2d   lax.conv_general_dilated, direct
    fftconvolve (axes=)                                    products of real or complex FFTs
    detrend                                                least squares, per breakpoint segment
    stft / istft, csd, welch                               windowed FFTs of overlapping segments

Everything is built from irax.numpy and irax.lax, so it runs eagerly, under
jit, vmap and grad. Shapes, modes, segment lengths and axes are static.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Literal

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend.numpy.util import canonicalize_axis, check_arraylike, promote_args_inexact
from irax.frontend.vmap import vmap
from irax.scipy.fft import _complex_dtype
from irax.typing import Array, ArrayLike

ModeString = Literal["full", "same", "valid"]
WindowLike = str | tuple | ArrayLike  # a window name (get_window's), (name, parameters), or the window

# ---------------------------------------------------------------------------
# Convolutions


def _overlap_padding(mode: str, shape: Sequence[int], shape_o: Sequence[int]) -> list[tuple[int, int]]:
    """The convolution's zero padding of the larger input, per dimension: `shape`
    the smaller input's, `shape_o` the second argument's before any swap (SciPy
    centres 'same' on it, which differs from jnp.convolve's centring)."""
    if mode == "valid":
        return [(0, 0) for _ in shape]
    if mode == "same":
        return [(s - 1 - (so - 1) // 2, s - so + (so - 1) // 2) for s, so in zip(shape, shape_o)]
    return [(s - 1, s - 1) for s in shape]


def _convolve_nd(in1: ArrayLike, in2: ArrayLike, mode: str) -> Array:
    """Direct N-d convolution: one conv_general_dilated of the larger input with
    the smaller one flipped (a convolution is symmetric, so either order)."""
    if mode not in ("full", "same", "valid"):
        raise ValueError("mode must be one of ['full', 'same', 'valid']")
    in1, in2 = jnp.asarray(in1), jnp.asarray(in2)
    if in1.ndim != in2.ndim:
        raise ValueError("in1 and in2 must have the same number of dimensions")
    if in1.size == 0 or in2.size == 0:
        raise ValueError(f"zero-size arrays not supported in convolutions, got shapes {in1.shape} and {in2.shape}.")
    in1, in2 = promote_args_inexact("convolve", in1, in2)
    no_swap = all(s1 >= s2 for s1, s2 in zip(in1.shape, in2.shape))
    swap = all(s1 <= s2 for s1, s2 in zip(in1.shape, in2.shape))
    if not (no_swap or swap):
        raise ValueError("One input must be smaller than the other in every dimension.")
    shape_o = in2.shape
    if swap:
        in1, in2 = in2, in1
    padding = _overlap_padding(mode, in2.shape, shape_o)
    out = lax.conv_general_dilated(in1[None, None], jnp.flip(in2)[None, None], (1,) * in1.ndim, padding)
    return out[0, 0]


def convolve(in1: ArrayLike, in2: ArrayLike, mode: ModeString = "full", method: str = "auto",
             precision: Any = None) -> Array:
    """The N-d convolution of in1 and in2 (same ndim): 'full' (every overlap),
    'same' (centred, in1's shape) or 'valid' (complete overlaps only).
    method 'auto'/'direct' convolve directly, 'fft' through fftconvolve."""
    if method == "fft":
        return fftconvolve(in1, in2, mode=mode)
    if method in ("direct", "auto"):
        return _convolve_nd(in1, in2, mode)
    raise ValueError(f"Got {method=}; expected 'auto', 'fft', or 'direct'.")


def correlate(in1: ArrayLike, in2: ArrayLike, mode: ModeString = "full", method: str = "auto",
              precision: Any = None) -> Array:
    """The N-d cross-correlation: the convolution with in2 flipped and conjugated."""
    check_arraylike("correlate", in1, in2)
    return convolve(in1, jnp.flip(jnp.conj(jnp.asarray(in2))), mode, method=method)


def _check_2d(name: str, in1, in2, boundary: str, fillvalue) -> None:
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"{name}() only supports boundary='fill', fillvalue=0")
    if np.ndim(in1) != 2 or np.ndim(in2) != 2:
        raise ValueError(f"{name}() only supports 2-dimensional inputs.")


def convolve2d(in1: ArrayLike, in2: ArrayLike, mode: ModeString = "full", boundary: str = "fill",
               fillvalue: float = 0, precision: Any = None) -> Array:
    """The 2-d convolution (as JAX: only boundary='fill' with fillvalue 0)."""
    _check_2d("convolve2d", in1, in2, boundary, fillvalue)
    return _convolve_nd(in1, in2, mode)


def correlate2d(in1: ArrayLike, in2: ArrayLike, mode: ModeString = "full", boundary: str = "fill",
                fillvalue: float = 0, precision: Any = None) -> Array:
    """The 2-d cross-correlation (only boundary='fill', fillvalue 0), with
    SciPy's choices where in2 is the larger: 'valid' correlates in2 with in1,
    'full' gives the conjugated result of that order."""
    _check_2d("correlate2d", in1, in2, boundary, fillvalue)
    in1, in2 = jnp.asarray(in1), jnp.asarray(in2)
    swap = all(s1 <= s2 for s1, s2 in zip(in1.shape, in2.shape))
    same_shape = in1.shape == in2.shape
    if (mode == "valid" and swap and not same_shape) or (mode == "full" and swap):
        out = _convolve_nd(jnp.flip(in2), jnp.conj(in1), mode)
        return jnp.conj(out) if mode == "full" else out
    return jnp.flip(_convolve_nd(jnp.flip(in1), jnp.conj(in2), mode))


def fftconvolve(in1: ArrayLike, in2: ArrayLike, mode: ModeString = "full",
                axes: Sequence[int] | None = None) -> Array:
    """The convolution computed as the inverse FFT of the product of the inputs'
    FFTs (real FFTs for real inputs). With `axes`, only those axes convolve;
    the others must match and are mapped over."""
    check_arraylike("fftconvolve", in1, in2)
    in1, in2 = promote_args_inexact("fftconvolve", in1, in2)
    if in1.ndim != in2.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if mode not in ("same", "full", "valid"):
        raise ValueError("mode must be one of ['same', 'full', 'valid']")
    fn = partial(_fftconvolve_unbatched, mode=mode)
    if axes is None:
        return fn(in1, in2)
    axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    axes = tuple(canonicalize_axis("fftconvolve", ax, in1.ndim) for ax in axes)
    mapped_axes = sorted(set(range(in1.ndim)) - set(axes))
    if any(in1.shape[i] != in2.shape[i] for i in mapped_axes):
        raise ValueError(f"mapped axes must have same shape; got {in1.shape=} {in2.shape=} {axes=}")
    for ax in mapped_axes:  # innermost first, so each axis number stays the caller's
        fn = vmap(fn, in_axes=ax, out_axes=ax)
    return fn(in1, in2)


def _fftconvolve_unbatched(in1: Array, in2: Array, mode: str) -> Array:
    full_shape = tuple(s1 + s2 - 1 for s1, s2 in zip(in1.shape, in2.shape))
    if mode == "valid":
        no_swap = all(s1 >= s2 for s1, s2 in zip(in1.shape, in2.shape))
        swap = all(s1 <= s2 for s1, s2 in zip(in1.shape, in2.shape))
        if not (no_swap or swap):
            raise ValueError("For 'valid' mode, One input must be at least as large as the other in every dimension.")
        if swap:
            in1, in2 = in2, in1
    if all(s1 == 1 or s2 == 1 for s1, s2 in zip(in1.shape, in2.shape)):
        conv = in1 * in2  # an outer product: no sum to compute
    else:
        forward, inverse = ((jnp.fft.fftn, jnp.fft.ifftn) if jnp.iscomplexobj(in1)
                            else (jnp.fft.rfftn, jnp.fft.irfftn))
        conv = inverse(forward(in1, full_shape) * forward(in2, full_shape), full_shape)
    out_shape = {"full": full_shape, "same": in1.shape,
                 "valid": tuple(s1 - s2 + 1 for s1, s2 in zip(in1.shape, in2.shape))}[mode]
    start = tuple((f - o) // 2 for f, o in zip(full_shape, out_shape))
    return lax.slice(conv, start, tuple(s + o for s, o in zip(start, out_shape)))


# ---------------------------------------------------------------------------
# Detrending


def detrend(data: ArrayLike, axis: int = -1, type: str = "linear", bp: int | Sequence[int] | np.ndarray = 0,
            overwrite_data: None = None) -> Array:
    """data less its mean ('constant') or less its least-squares line ('linear'),
    fitted separately between the breakpoints `bp` (static indices)."""
    if overwrite_data is not None:
        raise NotImplementedError("overwrite_data argument not implemented.")
    if type not in ("constant", "linear"):
        raise ValueError("Trend type must be 'linear' or 'constant'.")
    (x,) = promote_args_inexact("detrend", jnp.asarray(data))
    if type == "constant":
        return x - x.mean(axis, keepdims=True)
    n = x.shape[axis]
    bounds = np.sort(np.unique(np.r_[0, bp, n]))
    if bounds[0] < 0 or bounds[-1] > n:
        raise ValueError("Breakpoints must be non-negative and less than length of data along given axis.")
    x = jnp.moveaxis(x, axis, 0)
    shape = x.shape
    x = x.reshape(n, -1)
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        npts = int(hi - lo)
        # the design matrix [1, t] with t = 1/npts .. 1, as SciPy scales it
        design = jnp.asarray(np.stack([np.ones(npts), np.arange(1, npts + 1) / npts], axis=1), x.dtype)
        segment = x[lo:hi]
        coef = jnp.linalg.lstsq(design, segment)[0]
        pieces.append(segment - jnp.matmul(design, coef))
    x = jnp.concatenate(pieces, axis=0) if len(pieces) > 1 else pieces[0]
    return jnp.moveaxis(x.reshape(shape), 0, axis)


# ---------------------------------------------------------------------------
# Windowed FFTs


def _hann(n: int, dtype) -> Array:
    """The periodic Hann window (get_window('hann', n)), computed without SciPy."""
    if n == 1:
        return jnp.ones((1,), dtype)
    return (jnp.sin(jnp.linspace(0, np.pi, n, endpoint=False)) ** 2).astype(dtype)


def _named_window(window, n: int, dtype) -> Array:
    if isinstance(window, str) and window == "hann":
        return _hann(n, dtype)
    try:  # as JAX: other windows come from SciPy's get_window
        from scipy.signal import get_window  # optional: JAX needs SciPy here too
    except ImportError as err:
        raise ImportError(f"scipy must be available to use {window=}") from err
    return jnp.asarray(get_window(window, n), dtype)


def _triage_segments(window, nperseg: int | None, input_length: int, dtype) -> tuple[Array, int]:
    """(window array, segment length): a named window is nperseg long (the
    input's length at most, with a warning); an array window sets nperseg."""
    if isinstance(window, (str, tuple)):
        n = input_length if nperseg is None else int(nperseg)
        if n > input_length:
            warnings.warn(f"nperseg={n} is greater than {input_length=}, using nperseg={input_length}")
            n = input_length
        return _named_window(window, n, dtype), n
    win = jnp.asarray(window, dtype)
    n = win.size if nperseg is None else int(nperseg)
    if win.ndim != 1:
        raise ValueError("window must be 1-D")
    if input_length < win.size:
        raise ValueError("window is longer than input signal")
    if n != win.size:
        raise ValueError("value specified for nperseg is different from length of window")
    return win, n


def _pad_along_last(mode: str, **kwargs) -> Callable[[Array, int], Array]:
    def pad(x, n):
        return jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(n, n)], mode, **kwargs)
    return pad


def _odd_ext(x: Array, n: int) -> Array:
    """x extended by n points at both ends of its last axis, reflected through
    the end values (2 x[0] - x[n:0:-1], ...)."""
    if n < 1:
        return x
    if n > x.shape[-1] - 1:
        raise ValueError(f"The extension length n ({n}) is too big. "
                         f"It must not exceed x.shape[axis]-1, which is {x.shape[-1] - 1}.")
    left = 2 * x[..., :1] - jnp.flip(x[..., 1:n + 1], -1)
    right = 2 * x[..., -1:] - jnp.flip(x[..., -(n + 1):-1], -1)
    return jnp.concatenate([left, x, right], axis=-1)


# stft's `boundary` -> how the signal is extended by nperseg // 2 at both ends
_BOUNDARY_EXTENSIONS: dict[Any, Callable[[Array, int], Array]] = {
    "even": _pad_along_last("reflect"),
    "odd": _odd_ext,
    "constant": _pad_along_last("edge"),
    "zeros": _pad_along_last("constant", constant_values=0.0),
    None: lambda x, n: x,
}


def _segments(x: Array, nperseg: int, noverlap: int) -> Array:
    """x's last axis cut into overlapping segments: (..., nseg, nperseg)."""
    step = nperseg - noverlap
    starts = np.arange(0, x.shape[-1] - nperseg + 1, step)
    return x[..., starts[:, None] + np.arange(nperseg)[None, :]]


def _fft_helper(x: Array, win: Array, detrend_func: Callable[[Array], Array], nperseg: int, noverlap: int,
                nfft: int, sides: str) -> Array:
    """The FFT of each detrended, windowed segment of x: (..., nseg, nfreq)."""
    if x.dtype.kind == "i":
        x = x.astype(win.dtype)
    result = detrend_func(_segments(x, nperseg, noverlap))
    if jnp.iscomplexobj(win) and not jnp.iscomplexobj(result):
        result = result.astype(_complex_dtype(result.dtype))
    result = win * result
    if sides == "twosided":
        return jnp.fft.fft(result, n=nfft)
    return jnp.fft.rfft(jnp.real(result), n=nfft)


def _detrend_function(detrend_type, axis: int) -> Callable[[Array], Array]:
    if isinstance(detrend_type, str):
        return partial(detrend, type=detrend_type, axis=-1)
    if callable(detrend_type):
        # as JAX: the segments' axis numbered as the data's time axis (`axis`,
        # not negative here) goes last for the call, and back after it
        return lambda d: jnp.moveaxis(detrend_type(jnp.moveaxis(d, axis, -1)), -1, axis)
    if not detrend_type:
        return lambda d: d
    raise ValueError(f"Unsupported detrend type: {detrend_type}")


def _static_int(value, what: str) -> int:
    """An argument that sets a shape: a Python int, not a traced value."""
    try:
        return int(value)
    except Exception as err:
        raise TypeError(f"{what} must be a concrete (static) integer, got {value!r}") from err


def _spectral_helper(x: ArrayLike, y: ArrayLike | None, fs: ArrayLike = 1.0, window: WindowLike = "hann",
                     nperseg: int | None = None, noverlap: int | None = None, nfft: int | None = None,
                     detrend_type: bool | str | Callable[[Array], Array] = "constant", return_onesided: bool = True,
                     scaling: str = "density", axis: int = -1, mode: str = "psd", boundary: str | None = None,
                     padded: bool = False) -> tuple[Array, Array, Array]:
    """(frequencies, segment times, per-segment spectra) as SciPy's
    _spectral_helper; y None is the auto-spectrum of x."""
    if mode not in ("psd", "stft"):
        raise ValueError(f"Unknown value for mode {mode}, must be one of: ('psd', 'stft')")
    if boundary not in _BOUNDARY_EXTENSIONS:
        raise ValueError(f"Unknown boundary option '{boundary}', must be one of: {list(_BOUNDARY_EXTENSIONS)}")
    axis = _static_int(axis, "axis of windowed-FFT")
    if y is None:
        check_arraylike("spectral_helper", x)
        (x,) = promote_args_inexact("spectral_helper", x)
        axis = canonicalize_axis("spectral_helper", axis, x.ndim)
        outershape = x.shape[:axis] + x.shape[axis + 1:]
    else:
        if mode != "psd":
            raise ValueError("two-argument mode is available only when mode=='psd'")
        check_arraylike("spectral_helper", x, y)
        x, y = promote_args_inexact("spectral_helper", x, y)
        if x.ndim != y.ndim:
            raise ValueError(f"two-arguments must have the same rank ({x.ndim} vs {y.ndim}).")
        axis = canonicalize_axis("spectral_helper", axis, x.ndim)
        try:
            outershape = np.broadcast_shapes(x.shape[:axis] + x.shape[axis + 1:], y.shape[:axis] + y.shape[axis + 1:])
        except ValueError as err:
            raise ValueError("x and y cannot be broadcast together.") from err
    result_dtype = _complex_dtype(x.dtype)
    freq_dtype = jnp.finfo(result_dtype).dtype

    nperseg_int = None if nperseg is None else _static_int(nperseg, "nperseg of windowed-FFT")
    if nperseg_int is not None and nperseg_int < 1:
        raise ValueError("nperseg must be a positive integer")
    win, nperseg_int = _triage_segments(window, nperseg_int, x.shape[axis], x.dtype)
    noverlap_int = nperseg_int // 2 if noverlap is None else _static_int(noverlap, "noverlap of windowed-FFT")
    nfft_int = nperseg_int if nfft is None else _static_int(nfft, "nfft of windowed-FFT")

    if x.size == 0 or (y is not None and y.size == 0):
        length = x.shape[axis] if y is None else min(x.shape[axis], y.shape[axis])
        shape = x.shape if y is None else outershape[:axis] + (length,) + outershape[axis:]
        return jnp.zeros(shape, freq_dtype), jnp.zeros(shape, freq_dtype), jnp.zeros(shape, result_dtype)

    x = jnp.moveaxis(x, axis, -1)
    if y is not None:
        y = jnp.moveaxis(y, axis, -1)
        # the shorter signal is zero-padded to the longer's length
        length = max(x.shape[-1], y.shape[-1])
        x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, length - x.shape[-1])])
        y = jnp.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, length - y.shape[-1])])

    if nfft_int < nperseg_int:
        raise ValueError("nfft must be greater than or equal to nperseg.")
    if noverlap_int >= nperseg_int:
        raise ValueError("noverlap must be less than nperseg.")
    nstep = nperseg_int - noverlap_int

    signals = [x] if y is None else [x, y]
    extend = _BOUNDARY_EXTENSIONS[boundary]
    signals = [extend(s, nperseg_int // 2) for s in signals]
    if padded:  # zeros at the end, to a whole number of segments
        nadd = (-(signals[0].shape[-1] - nperseg_int) % nstep) % nperseg_int
        signals = [jnp.pad(s, [(0, 0)] * (s.ndim - 1) + [(0, nadd)]) for s in signals]

    detrend_func = _detrend_function(detrend_type, axis)
    if scaling == "density":
        scale = 1.0 / (fs * (win * win).sum())
    elif scaling == "spectrum":
        scale = 1.0 / win.sum() ** 2
    else:
        raise ValueError(f"Unknown scaling: {scaling}")
    if mode == "stft":
        scale = jnp.sqrt(scale)

    sides = "onesided" if return_onesided else "twosided"
    if return_onesided and any(jnp.iscomplexobj(s) for s in signals):
        sides = "twosided"
        warnings.warn("Input data is complex, switching to return_onesided=False")
    freqs = (jnp.fft.fftfreq if sides == "twosided" else jnp.fft.rfftfreq)(nfft_int, 1 / fs, dtype=freq_dtype)

    spectra = [_fft_helper(s, win, detrend_func, nperseg_int, noverlap_int, nfft_int, sides) for s in signals]
    if y is not None:
        result = jnp.conj(spectra[0]) * spectra[1]
    elif mode == "psd":
        result = jnp.conj(spectra[0]) * spectra[0]
    else:
        result = spectra[0]
    result = result * scale.astype(result_dtype)
    if sides == "onesided" and mode == "psd":
        # every frequency but 0 (and Nyquist, for even nfft) stands for its negative too
        end = None if nfft_int % 2 else -1
        result = result.at[..., 1:end].multiply(2)

    time = jnp.arange(nperseg_int / 2, signals[0].shape[-1] - nperseg_int / 2 + 1, nstep, dtype=freq_dtype) / fs
    if boundary is not None:
        time = time - (nperseg_int / 2) / fs
    result = result.astype(result_dtype)
    if y is None and mode != "stft":
        result = jnp.real(result)  # an auto-spectrum is real
    return freqs, time, jnp.moveaxis(result, -1, axis)


def stft(x: ArrayLike, fs: ArrayLike = 1.0, window: WindowLike = "hann", nperseg: int = 256,
         noverlap: int | None = None, nfft: int | None = None, detrend: bool = False, return_onesided: bool = True,
         boundary: str | None = "zeros", padded: bool = True, axis: int = -1) -> tuple[Array, Array, Array]:
    """The short-time Fourier transform: (f, t, Zxx), Zxx[..., f, t] the
    'spectrum'-scaled FFT of the windowed segment at time t."""
    return _spectral_helper(x, None, fs, window, nperseg, noverlap, nfft, detrend, return_onesided,
                            scaling="spectrum", axis=axis, mode="stft", boundary=boundary, padded=padded)


def _median_bias(n: int) -> float:
    """How much the median of n periodograms underestimates their mean
    (Allen et al., FINDCHIRP, appendix B)."""
    ii_2 = np.arange(2.0, n, 2)
    return 1 + np.sum(1.0 / (ii_2 + 1) - 1.0 / ii_2)


def csd(x: ArrayLike, y: ArrayLike | None, fs: ArrayLike = 1.0, window: WindowLike = "hann", nperseg: int | None = None,
        noverlap: int | None = None, nfft: int | None = None, detrend: str = "constant",
        return_onesided: bool = True, scaling: str = "density", axis: int = -1,
        average: str = "mean") -> tuple[Array, Array]:
    """Welch's estimate of the cross spectral density of x and y: (f, Pxy), the
    mean (or bias-corrected median) of the segments' cross periodograms. y
    None is x's power spectral density (real)."""
    freqs, _, pxy = _spectral_helper(x, y, fs, window, nperseg, noverlap, nfft, detrend, return_onesided, scaling,
                                     axis, mode="psd")
    if y is not None and not jnp.iscomplexobj(pxy):
        pxy = pxy.astype(_complex_dtype(pxy.dtype))
    if pxy.ndim >= 2 and pxy.size > 0:
        if pxy.shape[-1] > 1:
            if average == "median":
                bias = _median_bias(pxy.shape[-1])
                if jnp.iscomplexobj(pxy):
                    pxy = lax.complex(jnp.median(jnp.real(pxy), axis=-1), jnp.median(jnp.imag(pxy), axis=-1))
                else:
                    pxy = jnp.median(pxy, axis=-1)
                pxy = pxy / jnp.asarray(bias, pxy.dtype)
            elif average == "mean":
                pxy = pxy.mean(axis=-1)
            else:
                raise ValueError(f'average must be "median" or "mean", got {average}')
        else:
            pxy = pxy.reshape(pxy.shape[:-1])
    return freqs, pxy


def welch(x: ArrayLike, fs: ArrayLike = 1.0, window: WindowLike = "hann", nperseg: int | None = None,
          noverlap: int | None = None, nfft: int | None = None, detrend: str = "constant", return_onesided: bool = True,
          scaling: str = "density", axis: int = -1, average: str = "mean") -> tuple[Array, Array]:
    """Welch's estimate of x's power spectral density: (f, Pxx)."""
    freqs, pxx = csd(x, None, fs=fs, window=window, nperseg=nperseg, noverlap=noverlap, nfft=nfft, detrend=detrend,
                     return_onesided=return_onesided, scaling=scaling, axis=axis, average=average)
    return freqs, jnp.real(pxx)


def _overlap_and_add(frames: Array, step: int) -> Array:
    """Frames (..., nframes, length) summed into one signal, frame i starting
    at i * step: each frame is cut into blocks of `step`, and block b of frame
    i lands on output block i + b, so the output is a sum of ceil(length /
    step) shifted copies of the frames' blocks."""
    *batch, nframes, length = frames.shape
    nblocks = -(-length // step)
    out_size = step * (nframes - 1) + length
    frames = jnp.pad(frames, [(0, 0)] * len(batch) + [(0, 0), (0, nblocks * step - length)])
    blocks = frames.reshape(*batch, nframes, nblocks, step)
    pad_rest = [(0, 0)] * len(batch)
    total = sum(jnp.pad(blocks[..., b, :], pad_rest + [(b, nblocks - 1 - b), (0, 0)]) for b in range(nblocks))
    return total.reshape(*batch, (nframes + nblocks - 1) * step)[..., :out_size]


def istft(Zxx: ArrayLike, fs: ArrayLike = 1.0, window: WindowLike = "hann", nperseg: int | None = None,
          noverlap: int | None = None, nfft: int | None = None, input_onesided: bool = True,
          boundary: bool = True, time_axis: int = -1, freq_axis: int = -2) -> tuple[Array, Array]:
    """The inverse of stft: (t, x), the segments' inverse FFTs windowed again,
    overlapped and added, divided by the overlapped squared windows."""
    check_arraylike("istft", Zxx)
    Zxx = jnp.asarray(Zxx)
    if Zxx.ndim < 2:
        raise ValueError("Input stft must be at least 2d!")
    freq_axis = canonicalize_axis("istft", freq_axis, Zxx.ndim)
    time_axis = canonicalize_axis("istft", time_axis, Zxx.ndim)
    if freq_axis == time_axis:
        raise ValueError("Must specify differing time and frequency axes!")
    Zxx = Zxx.astype(_complex_dtype(Zxx.dtype))

    n_default = 2 * (Zxx.shape[freq_axis] - 1) if input_onesided else Zxx.shape[freq_axis]
    nperseg_int = _static_int(nperseg or n_default, "nperseg: segment length of STFT")
    if nperseg_int < 1:
        raise ValueError("nperseg must be a positive integer")
    if nfft is None:
        nfft_int = n_default + (1 if input_onesided and nperseg_int == n_default + 1 else 0)  # odd nperseg
    else:
        nfft_int = _static_int(nfft, "nfft of STFT")
    if nfft_int < nperseg_int:
        raise ValueError(f"FFT length ({nfft_int}) must be longer than nperseg ({nperseg_int}).")
    noverlap_int = _static_int(noverlap or nperseg_int // 2, "noverlap of STFT")
    if noverlap_int >= nperseg_int:
        raise ValueError("noverlap must be less than nperseg.")
    nstep = nperseg_int - noverlap_int

    if time_axis != Zxx.ndim - 1 or freq_axis != Zxx.ndim - 2:
        outer = tuple(i for i in range(Zxx.ndim) if i not in (time_axis, freq_axis))
        Zxx = jnp.transpose(Zxx, outer + (freq_axis, time_axis))

    inverse = jnp.fft.irfft if input_onesided else jnp.fft.ifft
    xsubs = inverse(Zxx, axis=-2, n=nfft)[..., :nperseg_int, :]  # (..., segment, frame)
    if isinstance(window, (str, tuple)):
        win = _named_window(window, nperseg_int, xsubs.dtype)
    else:
        win = jnp.asarray(window)
        if win.ndim != 1:
            raise ValueError("window must be 1-D")
        if win.shape[0] != nperseg_int:
            raise ValueError(f"window must have length of {nperseg_int}")
    xsubs = xsubs * win.sum()  # undoes stft's 'spectrum' scaling
    win = win[:, None]
    x = _overlap_and_add(jnp.swapaxes(xsubs * win, -2, -1), nstep)
    win_squared = jnp.broadcast_to(win * win, (nperseg_int, xsubs.shape[-1]))
    norm = _overlap_and_add(jnp.swapaxes(win_squared, -2, -1), nstep)
    if boundary:  # drop stft's extension
        half = nperseg_int // 2
        x, norm = x[..., half:-half], norm[..., half:-half]
    x = x / jnp.where(norm > 1e-10, norm, 1.0)

    if x.ndim > 1 and time_axis != Zxx.ndim - 1:
        x = jnp.moveaxis(x, -1, time_axis - 1 if freq_axis < time_axis else time_axis)
    time = jnp.arange(x.shape[0], dtype=jnp.finfo(x.dtype).dtype) / fs
    return time, x


__all__ = ["convolve", "convolve2d", "correlate", "correlate2d", "csd", "detrend", "fftconvolve", "istft", "stft",
           "welch"]
