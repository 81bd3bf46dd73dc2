"""`irax.lax`: operations below the NumPy layer (implemented in irax.frontend.lax)."""
from irax.frontend.lax import stop_gradient  # noqa: F401
