"""Special functions as elementwise primitives (`lax.erf_inv`, `lax.lgamma`,
...): one `linalg.generic` each, whose scalar body is the function as XLA
computes it (irax/ir/special.py), in float32: half precision widens, and
float64 narrows (see elementwise._in_f32).
"""
from irax.frontend.primitives.elementwise import _make
from irax.frontend.primitives.scalar_rules import _in_f32
from irax.ir import special

RULES = {
    "erf_inv": special.erf_inv,
    "erfc": special.erfc,
    "lgamma": special.lgamma,
    "digamma": special.digamma,
    "bessel_i0e": special.bessel_i0e,
    "bessel_i1e": special.bessel_i1e,
    "igamma": special.igamma,
    "igammac": special.igammac,
    "igamma_grad_a": special.igamma_grad_a,
    "random_gamma_grad": special.random_gamma_grad,
    "betainc": special.betainc,
    "zeta": special.zeta,
    "polygamma": special.polygamma,
}

primitives = {name: _make(name, _in_f32(rule)) for name, rule in RULES.items()}
