"""Errors a user may want to catch by name (as `jax.errors`)."""
from irax.frontend.core import (ConcretizationTypeError, TracerBoolConversionError, TracerError,  # noqa: F401
                                UnexpectedTracerError)
from irax.backends.runtime import DeviceError  # noqa: F401
