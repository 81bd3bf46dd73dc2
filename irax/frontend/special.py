"""`irax.lax`'s special functions (`erf_inv`, `lgamma`, `igamma`, ...), as
`jax.lax`'s: floating-point operands of one dtype (a Python scalar takes the
others' dtype), each one elementwise primitive (primitives/special.py)."""
from __future__ import annotations

from collections.abc import Callable

from irax.frontend import dtypes
from irax.frontend.numpy.util import asarray, convert
from irax.frontend.primitives import elementwise, special
from irax.typing import Array, ArrayLike


def _floating_operands(name, args):
    """The operands as arrays of one float dtype: weakly typed ones (Python
    scalars) take the dtype of the others; all must be floating."""
    arrays = [asarray(a) for a in args]
    strong = [a.dtype for a in arrays if not a.weak_type]
    if strong:
        arrays = [convert(a, strong[0], False) if a.weak_type else a for a in arrays]
    for a in arrays:
        if not dtypes.is_float(a.dtype):
            raise TypeError(f"{name} does not accept dtype {a.dtype.name}. Accepted dtypes are subtypes of floating.")
    return arrays


def _floating(name: str, prim=None) -> Callable[..., Array]:
    p = prim or special.primitives[name]

    def fn(*args: ArrayLike) -> Array:
        return p.bind(*_floating_operands(name, args))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise `{name}`, as `jax.lax.{name}`."
    return fn


erf = _floating("erf", elementwise.unary["erf"])
erfc = _floating("erfc")
erf_inv = _floating("erf_inv")
lgamma = _floating("lgamma")
digamma = _floating("digamma")
bessel_i0e = _floating("bessel_i0e")
bessel_i1e = _floating("bessel_i1e")
igamma = _floating("igamma")
igammac = _floating("igammac")
igamma_grad_a = _floating("igamma_grad_a")
random_gamma_grad = _floating("random_gamma_grad")
betainc = _floating("betainc")
zeta = _floating("zeta")
polygamma = _floating("polygamma")
logistic = _floating("logistic")  # 1 / (1 + exp(-x)), with JAX's derivative out (1 - out)
lbeta = _floating("lbeta")  # log |B(a, b)|: irax's own, scipy.special.betaln's




__all__ = ["bessel_i0e", "bessel_i1e", "betainc", "digamma", "erf", "erf_inv", "erfc", "igamma", "igamma_grad_a",
           "igammac", "lgamma", "logistic", "polygamma", "random_gamma_grad", "zeta"]
