"""Errors a user may want to catch by name (as `jax.errors`)."""
from irax.frontend.core import (ConcretizationTypeError, TracerArrayConversionError,  # noqa: F401
                                TracerBoolConversionError, TracerError, TracerIntegerConversionError,
                                UnexpectedTracerError)
from irax.frontend.numpy.indexing import NonConcreteBooleanIndexError  # noqa: F401
from irax.backends.runtime import DeviceError  # noqa: F401

JaxRuntimeError = DeviceError  # JAX's name: `except jax.errors.JaxRuntimeError` catches a failed computation
