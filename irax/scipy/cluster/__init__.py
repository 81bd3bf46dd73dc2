"""`irax.scipy.cluster`, as `jax.scipy.cluster`: vector quantization (`vq`)."""
from irax.scipy.cluster import vq  # noqa: F401

__all__ = ["vq"]
