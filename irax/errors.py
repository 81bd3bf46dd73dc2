"""Errors a user may want to catch by name (as `jax.errors`)."""
from irax.frontend.core import (ConcretizationTypeError, TracerArrayConversionError,  # noqa: F401
                                TracerBoolConversionError, TracerError, UnexpectedTracerError)
from irax.backends.runtime import DeviceError  # noqa: F401
