"""`irax.lax`: operations below the NumPy layer (implemented in irax.frontend)."""
from irax.frontend.control_flow import cond, fori_loop, scan, select, switch, while_loop
from irax.frontend.lax import stop_gradient

__all__ = ["cond", "fori_loop", "scan", "select", "stop_gradient", "switch", "while_loop"]
