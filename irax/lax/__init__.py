"""`irax.lax`: operations below the NumPy layer (implemented in irax.frontend)."""
from irax.frontend.control_flow import cond, fori_loop, scan, select, switch, while_loop  # noqa: F401
from irax.frontend.lax import stop_gradient  # noqa: F401
