"""`irax.lax`'s special functions (`erf_inv`, `lgamma`, `igamma`, ...), as
`jax.lax`'s: floating-point operands of one dtype (a Python scalar takes the
others' dtype), each one elementwise primitive (primitives/special.py)."""
from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

from irax.frontend import dtypes
from irax.frontend.numpy import ufuncs
from irax.frontend.numpy.util import asarray, convert
from irax.frontend.primitives import elementwise, special
from irax.typing import Array, ArrayLike


def _floating_operands(name, args, arity):
    """The operands as arrays of one float dtype, as jax.lax checks them:
    each floating (a Python int is an int32, refused), the weakly typed
    ones (Python floats) taking the dtype of the others."""
    if len(args) != arity:
        raise TypeError(f"{name}() takes {arity} positional argument{'s' * (arity > 1)} but {len(args)} were given")
    arrays = [asarray(a) for a in args]
    for k, a in enumerate(arrays):
        if not dtypes.is_float(a.dtype):
            where = f" at position {k}" if arity > 1 else ""
            raise TypeError(f"{_JAX_NAMES.get(name, name)} does not accept dtype {a.dtype.name}{where}. Accepted "
                            f"dtypes{where} are subtypes of floating.")
    strong = [a.dtype for a in arrays if not a.weak_type]
    if len(set(strong)) > 1:
        raise TypeError(f"lax.{name} requires arguments to have the same dtypes, got "
                        f"{', '.join(a.dtype.name for a in arrays)}.")
    if strong:
        arrays = [convert(a, strong[0], False) if a.weak_type else a for a in arrays]
    return arrays


_JAX_NAMES = {"betainc": "regularized_incomplete_beta"}  # (the primitive's name in JAX's errors)


def named_operands(name: str, params: Sequence[str], of_operands: Callable[..., Array], doc: str
                   ) -> Callable[..., Array]:
    """`of_operands(*operands)` as a function called `name` of the operands
    `params` (JAX's parameter names): keyword arguments are bound to them."""
    named = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=ArrayLike)
                               for n in params], return_annotation=Array)

    def fn(*args: ArrayLike, **kwargs: ArrayLike) -> Array:
        if kwargs:
            args = named.bind(*args, **kwargs).args
        return of_operands(*args)

    fn.__name__ = fn.__qualname__ = name
    fn.__signature__ = named
    fn.__doc__ = doc
    return fn


def _floating(name: str, params=("x",), prim=None) -> Callable[..., Array]:
    p = prim or special.primitives[name]
    return named_operands(name, params, lambda *args: p.bind(*_floating_operands(name, args, len(params))),
                          f"Elementwise `{name}({', '.join(params)})`, as `jax.lax.{name}`.")


erf = _floating("erf", prim=elementwise.unary["erf"])
erfc = _floating("erfc")
erf_inv = _floating("erf_inv")
lgamma = _floating("lgamma")
digamma = _floating("digamma")
bessel_i0e = _floating("bessel_i0e")
bessel_i1e = _floating("bessel_i1e")
igamma = _floating("igamma", ("a", "x"))
igammac = _floating("igammac", ("a", "x"))
igamma_grad_a = _floating("igamma_grad_a", ("a", "x"))
random_gamma_grad = _floating("random_gamma_grad", ("a", "x"))
betainc = _floating("betainc", ("a", "b", "x"))
zeta = _floating("zeta", ("x", "q"))


def _polygamma(m, x):
    """digamma's primitive where m = 0: float64 computes digamma in float64,
    the polygamma primitive in float32 (primitives/special.py), which made
    polygamma(0, x) of float64 5e-7 off, NaN at 2.2e-308 and inf at 1e308."""
    m, x = _floating_operands("polygamma", (m, x), 2)
    zero = ufuncs.equal(m, 0)
    # each reads x where it is taken, 1 elsewhere: the other's derivative at a pole (inf) times 0 was NaN
    higher = special.primitives["polygamma"].bind(m, ufuncs.where(zero, 1, x))
    return ufuncs.where(zero, digamma(ufuncs.where(zero, x, 1)), higher)


polygamma = named_operands("polygamma", ("m", "x"), _polygamma, "Elementwise `polygamma(m, x)`, as `jax.lax.polygamma`.")


def _logistic(x):
    """1 / (1 + exp(-x)); the primitive (with JAX's derivative out (1 - out))
    for real floats, XLA's formula itself for complex x, which it also takes."""
    x = asarray(x)
    if dtypes.is_complex(x.dtype):
        return ufuncs.reciprocal(ufuncs.add(1, ufuncs.exp(ufuncs.negative(x))))
    if not dtypes.is_float(x.dtype):
        raise TypeError(f"logistic does not accept dtype {x.dtype.name}. Accepted dtypes are subtypes of floating, "
                        "complexfloating.")
    return special.primitives["logistic"].bind(x)


logistic = named_operands("logistic", ("x",), _logistic, "Elementwise `logistic(x)`, as `jax.lax.logistic`.")
lbeta = _floating("lbeta", ("a", "b"))  # log |B(a, b)|: irax's own, scipy.special.betaln's




__all__ = ["bessel_i0e", "bessel_i1e", "betainc", "digamma", "erf", "erf_inv", "erfc", "igamma", "igamma_grad_a",
           "igammac", "lgamma", "logistic", "polygamma", "random_gamma_grad", "zeta"]
