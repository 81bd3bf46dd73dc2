"""Errors a user may want to catch by name (as `jax.errors`)."""
from irax.frontend.core import ConcretizationTypeError, TracerError, UnexpectedTracerError  # noqa: F401
from irax.backends.runtime import DeviceError  # noqa: F401
