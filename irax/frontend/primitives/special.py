"""Special functions as elementwise primitives (`lax.erf_inv`, `lax.lgamma`,
...): one `linalg.generic` each, whose scalar body is the function as XLA
computes it (irax/ir/special.py, incomplete.py), in float32: half precision widens, and
float64 narrows (scalar_rules._in_f32), as their polynomials and iteration
counts are float32's. lgamma and digamma are float64's too (Lanczos'
series is; within 2e-14 of SciPy's), so float64 computes them in float64
(scalar_rules._math), as logistic (a primitive for its derivative rule)
and erf_inv (whose float64 polynomials are XLA's own, special.erf_inv64);
zeta in float64 was 3.5e-9 off, the rest 1e-8.
"""
from irax.frontend.primitives.elementwise import _make
from irax.frontend.primitives.scalar_rules import _in_f32, _math
from irax.ir import incomplete, special

RULES = {
    "logistic": special.logistic,
    "erf_inv": special.erf_inv,
    "erfc": special.erfc,
    "lgamma": special.lgamma,
    "digamma": special.digamma,
    "bessel_i0e": special.bessel_i0e,
    "bessel_i1e": special.bessel_i1e,
    "igamma": incomplete.igamma,
    "igammac": incomplete.igammac,
    "igamma_grad_a": incomplete.igamma_grad_a,
    "random_gamma_grad": incomplete.random_gamma_grad,
    "betainc": incomplete.betainc,
    "zeta": special.zeta,
    "polygamma": special.polygamma,
    "lbeta": special.lbeta,  # irax's own (scipy.special.betaln), not in jax.lax
}

FLOAT64_ACCURATE = {"lgamma", "digamma", "logistic", "lbeta", "erf_inv"}
primitives = {name: _make(name, (_math if name in FLOAT64_ACCURATE else _in_f32)(rule)) for name, rule in RULES.items()}
