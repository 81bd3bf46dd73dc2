"""`irax.ad`, as `jax.ad`: the entries of a VJP function's `with_refs`
(frontend/ref_autodiff.py)."""
from irax.frontend.ref_autodiff import DidntWant, DontWant, GradRef, GradValue

__all__ = ["DidntWant", "DontWant", "GradRef", "GradValue"]
