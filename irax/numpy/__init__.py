"""`irax.numpy`: the NumPy API on irax arrays (implemented in irax.frontend.numpy)."""
from irax.frontend.numpy import *  # noqa: F401,F403
from irax.frontend.numpy import __all__  # noqa: F401
