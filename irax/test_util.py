"""`irax.test_util`, as `jax.test_util`: check a function's derivatives against
finite differences, as JAX's tutorials do (`check_grads(loss, (W, b), order=2)`).

Each check is JAX's: one random direction (NumPy's RandomState(0), so the
same direction as JAX's for the same arguments), central differences of step
`eps`, and JAX's tolerances per dtype, scaled by the number of elements.
"""
import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import ml_dtypes
import numpy as np

from irax.config import config
from irax.frontend import autodiff
from irax.frontend.dtypes import canonicalize_dtype, float0
from irax.tree_util import tree_map, tree_reduce

__all__ = ["check_grads", "check_jvp", "check_vjp"]

EPS = 1e-4

# JAX's tolerances (jax._src.public_test_util): of values, and of gradients
_TOLERANCE = {np.dtype(np.float16): 1e-3, np.dtype(ml_dtypes.bfloat16): 1e-2, np.dtype(np.float32): 1e-6,
              np.dtype(np.float64): 1e-15, np.dtype(np.complex64): 1e-6, np.dtype(np.complex128): 1e-15}
_GRADIENT_TOLERANCE = {np.dtype(np.float16): 1e-2, np.dtype(ml_dtypes.bfloat16): 1e-1, np.dtype(np.float32): 2e-3,
                       np.dtype(np.float64): 1e-5, np.dtype(np.complex64): 1e-3, np.dtype(np.complex128): 1e-5}
_PYTHON_SCALAR_DTYPES = {bool: np.dtype(np.bool_), int: np.dtype(np.int64), float: np.dtype(np.float64),
                         complex: np.dtype(np.complex128)}


def _dtype(x) -> np.dtype:
    if hasattr(x, "dtype"):
        return np.dtype(x.dtype)
    return _PYTHON_SCALAR_DTYPES.get(type(x)) or np.asarray(x).dtype


def _is_python_scalar(x) -> bool:
    return not isinstance(x, np.generic) and isinstance(x, (bool, int, float, complex))


def _tolerance(dtype, tol) -> float:
    """`tol` itself, or its entry for `dtype` (floats only; 0 for the others, exact)."""
    if not isinstance(tol, dict):
        return tol
    dtype = canonicalize_dtype(dtype) if dtype != float0 else dtype
    return tol.get(dtype, _TOLERANCE.get(dtype, 0))


def _merge_tolerance(tol, default):
    if tol is None:
        return default
    if not isinstance(tol, dict):
        return tol
    return {**default, **{np.dtype(k): v for k, v in tol.items()}}


def _assert_close(a, b, atol, rtol, err_msg):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    if a.dtype == b.dtype == float0:
        return np.testing.assert_array_equal(a, b, err_msg=err_msg)
    atol = max(_tolerance(a.dtype, atol), _tolerance(b.dtype, atol))
    rtol = max(_tolerance(a.dtype, rtol), _tolerance(b.dtype, rtol))
    upcast = lambda x: x.astype(np.float32) if x.dtype == ml_dtypes.bfloat16 else x  # noqa: E731
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(upcast(a), upcast(b), atol=atol * a.size, rtol=rtol * b.size, err_msg=err_msg)


def _check_close(xs, ys, atol, rtol, err_msg):
    tree_map(functools.partial(_assert_close, atol=atol, rtol=rtol, err_msg=err_msg), xs, ys)


def _check_dtypes_match(xs, ys):
    def same(x, y):
        if config.x64_enabled:
            assert _dtype(x) == _dtype(y), (_dtype(x), _dtype(y))
        else:
            assert canonicalize_dtype(_dtype(x)) == canonicalize_dtype(_dtype(y)), (_dtype(x), _dtype(y))
    tree_map(same, xs, ys)


def _inner_product(xs, ys):
    contract = lambda x, y: np.real(np.dot(np.conj(x).reshape(-1), np.asarray(y).reshape(-1)))  # noqa: E731
    return tree_reduce(np.add, tree_map(contract, xs, ys))


def _keeping_types(f):
    """`f` on NumPy values, in the first one's dtype; a Python scalar if all are."""
    def wrapped(*args):
        result = np.array(f(*args), dtype=_dtype(args[0]))
        return result.item() if all(_is_python_scalar(a) for a in args) else result
    return wrapped


def _safe_subtract(x, y):
    """x - y with inf - inf == 0."""
    with np.errstate(invalid="ignore"):
        return np.where(np.equal(x, y), np.array(0, _dtype(x)), np.subtract(x, y, dtype=_dtype(x)))


_add = functools.partial(tree_map, _keeping_types(operator.add))
_sub = functools.partial(tree_map, _keeping_types(operator.sub))
_conj = functools.partial(tree_map, _keeping_types(np.conj))


def _scalar_mul(xs, a):
    def mul(x):
        dtype = _dtype(x)
        result = np.multiply(x, np.array(a, dtype=dtype), dtype=dtype)
        return result.item() if _is_python_scalar(x) else result
    return tree_map(mul, xs)


def _rand_like(rng, x):
    shape, dtype = np.shape(x), _dtype(x)
    result = np.asarray(rng.randn(*shape), dtype=dtype)
    if np.issubdtype(dtype, np.complexfloating):
        result = result + dtype.type(1j) * np.asarray(rng.randn(*shape), dtype=dtype)
    return result.item() if _is_python_scalar(x) else result


def _numerical_jvp(f, primals, tangents, eps=EPS):
    delta = _scalar_mul(tangents, eps)
    f_pos, f_neg = f(*_add(primals, delta)), f(*_sub(primals, delta))
    return _scalar_mul(tree_map(_safe_subtract, f_pos, f_neg), 0.5 / eps)


def check_jvp(f: Callable, f_jvp: Callable, args: Sequence[Any], atol: Any = None, rtol: Any = None,
              eps: float = EPS, err_msg: str = "") -> None:
    """Check `f_jvp` (typically `functools.partial(irax.jvp, f)`) at `args`
    against finite differences of `f`, in one random direction; AssertionError if they differ."""
    atol, rtol = _merge_tolerance(atol, _GRADIENT_TOLERANCE), _merge_tolerance(rtol, _GRADIENT_TOLERANCE)
    tangent = tree_map(functools.partial(_rand_like, np.random.RandomState(0)), args)
    v_out, t_out = f_jvp(args, tangent)
    _check_dtypes_match(v_out, t_out)
    v_expected = f(*args)
    _check_dtypes_match(v_out, v_expected)
    _check_close(v_out, v_expected, atol, rtol, f"{err_msg} primal" if err_msg else "primal")
    _check_close(t_out, _numerical_jvp(f, args, tangent, eps=eps), atol, rtol,
                 f"{err_msg} tangent" if err_msg else "tangent")


def check_vjp(f: Callable, f_vjp: Callable, args: Sequence[Any], atol: Any = None, rtol: Any = None,
              eps: float = EPS, err_msg: str = "") -> None:
    """Check `f_vjp` (typically `functools.partial(irax.vjp, f)`) at `args`
    against finite differences of `f`, projected on one random direction and
    cotangent; AssertionError if they differ."""
    atol, rtol = _merge_tolerance(atol, _GRADIENT_TOLERANCE), _merge_tolerance(rtol, _GRADIENT_TOLERANCE)
    rand_like = functools.partial(_rand_like, np.random.RandomState(0))
    v_out, vjp_fun = f_vjp(*args)
    _check_close(v_out, f(*args), atol, rtol, f"{err_msg} primal" if err_msg else "primal")
    tangent = tree_map(rand_like, args)
    tangent_out = _numerical_jvp(f, args, tangent, eps=eps)
    cotangent = tree_map(rand_like, v_out)
    cotangent_out = _conj(vjp_fun(_conj(cotangent)))
    _check_close(_inner_product(tangent, cotangent_out), _inner_product(tangent_out, cotangent), atol, rtol,
                 f"{err_msg} cotangent projection" if err_msg else "cotangent projection")


def check_grads(f: Callable, args: Sequence[Any], order: int, modes: Sequence[str] = ("fwd", "rev"),
                atol: Any = None, rtol: Any = None, eps: float | None = None) -> None:
    """Check `f`'s derivatives at `args` up to `order` (forward and/or reverse
    mode, as `modes` says; "lin" checks irax.linearize) against finite
    differences, as jax.test_util.check_grads; AssertionError if they differ."""
    args, eps = tuple(args), eps or EPS
    jvp_check = functools.partial(check_jvp, atol=atol, rtol=rtol, eps=eps)
    vjp_check = functools.partial(check_vjp, atol=atol, rtol=rtol, eps=eps)

    def check(f, args, order, err_msg=""):
        if "fwd" in modes:
            message = f"JVP of {err_msg}" if err_msg else "JVP"
            jvp_check(f, functools.partial(autodiff.jvp, f), args, err_msg=message)
            if order > 1:
                check(functools.partial(autodiff.jvp, f), (args, args), order - 1, message)
        if "rev" in modes:
            message = f"VJP of {err_msg}" if err_msg else "VJP"
            vjp_check(f, functools.partial(autodiff.vjp, f), args, err_msg=message)
            if order > 1:
                def f_vjp(*args):
                    out, vjp_fun = autodiff.vjp(f, *args)
                    return vjp_fun(out)
                check(f_vjp, args, order - 1, message)
        if "lin" in modes:
            message = f"LIN of {err_msg}" if err_msg else "LIN"
            jvp_check(f, functools.partial(_jvp_from_linearize, f), args, err_msg=message)
            if order > 1:
                check(functools.partial(_jvp_from_linearize, f), (args, args), order - 1, message)

    check(f, args, order)


def _jvp_from_linearize(f, primals, tangents):
    out, f_lin = autodiff.linearize(f, *primals)
    return out, f_lin(*tangents)
