"""Global switches, read once from the environment and changeable at run time.

    irax.config.update("irax_enable_x64", True)   # or IRAX_ENABLE_X64=1

Every knob is one environment variable (tinygrad style):

    IRAX_ENABLE_X64     64-bit mode: int64/float64 stay 64-bit instead of
                        being narrowed to int32/float32 (JAX's jax_enable_x64).
    IRAX_CACHE_DIR      where compiled programs are kept on disk
                        (default: ~/.cache/irax, or $XDG_CACHE_HOME/irax).
    IRAX_DISABLE_CACHE  1: never read or write the disk cache.
    IRAX_LOG_COMPILES   1: print one line to stderr for every trace of a jitted
                        (or grad) function, saying what changed since its
                        last compile, and one for every IREE compile.
    IRAX_INLINE_BYTES   calls whose inputs total at most this many bytes run on
                        the calling thread (default 262144; see backends/runtime.py).
    IRAX_PLATFORMS      which backends to use, in order (e.g. "vulkan,cpu").
    IRAX_PASSES         the pass pipeline, by pass name (default "default";
                        e.g. "default,count-ops" or "default,-cse"; see
                        transforms/pipeline.py).
    IRAX_CUDA_TARGET    the GPU the cuda backend compiles for (default sm_80).
    IRAX_ROCM_TARGET    the GPU the rocm backend compiles for (default gfx942).

A switch is 1/0, true/false, yes/no or on/off (JAX's spellings, any case);
anything else, like a byte count that is not a number, fails `import irax`
with a ValueError naming the variable, rather than silently meaning "off".
"""
import os


def _bool_env(name: str, default: bool) -> bool:
    """JAX's rule (jax/_src/config.py bool_env), so a typo fails instead of
    silently meaning false: y/yes/t/true/on/1 and n/no/f/false/off/0, any case."""
    value = os.environ.get(name, str(default)).lower()
    if value in ("y", "yes", "t", "true", "on", "1"):
        return True
    if value in ("n", "no", "f", "false", "off", "0"):
        return False
    raise ValueError(f"invalid truth value {value!r} for environment {name!r}")


def _bytes_env(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.strip().isdigit():
        raise ValueError(f"invalid value {value!r} for environment {name!r}: expected a number of bytes, "
                         f"a non-negative integer such as {default}")
    return int(value)


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "irax")


class Config:
    def __init__(self):
        self.irax_enable_x64 = _bool_env("IRAX_ENABLE_X64", False)
        self.irax_cache_dir = os.environ.get("IRAX_CACHE_DIR") or _default_cache_dir()
        self.irax_disable_cache = _bool_env("IRAX_DISABLE_CACHE", False)
        self.irax_log_compiles = _bool_env("IRAX_LOG_COMPILES", False)
        self.irax_inline_bytes = _bytes_env("IRAX_INLINE_BYTES", 256 * 1024)
        self.irax_passes = os.environ.get("IRAX_PASSES", "default")

    def update(self, name: str, value) -> None:
        if not hasattr(self, name):
            known = ", ".join(sorted(vars(self)))
            raise AttributeError(f"Unrecognized config option: {name!r}. Known options: {known}")
        if name == "irax_passes" and not isinstance(value, str):
            value = ",".join(value)  # one hashable spelling: programs are cached under it
        setattr(self, name, value)

    @property
    def x64_enabled(self) -> bool:
        return bool(self.irax_enable_x64)


config = Config()
