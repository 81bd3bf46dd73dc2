"""Where backends come from: entry points in the group `irax.backends`.

irax's own backends register exactly like a third party's, in irax's
`pyproject.toml`:

    [project.entry-points."irax.backends"]
    cpu = "irax.backends.cpu:backend"

Backends are discovered on first use. `IRAX_PLATFORMS=vulkan,cpu` picks and
orders them (like `JAX_PLATFORMS`); otherwise the available backend with the
highest priority is the default.
"""
import functools
import os
from importlib.metadata import entry_points


class PluginLoadError:
    """Stands in for a plugin that failed to load, so the others still work."""

    def __init__(self, name, origin, error):
        self.name, self.origin, self.error = name, origin, error

    def available(self):
        return False


@functools.lru_cache(maxsize=None)
def backends() -> dict:
    """Every registered backend by name (including ones that failed to load)."""
    found = {}
    for ep in entry_points(group="irax.backends"):
        try:
            found[ep.name] = ep.load()
        except Exception as e:  # a broken plugin must not break irax
            found[ep.name] = PluginLoadError(ep.name, ep.value, e)
    return found


def _platforms() -> list:
    requested = os.environ.get("IRAX_PLATFORMS", "").strip()
    all_backends = backends()
    if requested:
        names = [n.strip() for n in requested.split(",") if n.strip()]
        unknown = [n for n in names if n not in all_backends]
        if unknown:
            raise RuntimeError(
                f"IRAX_PLATFORMS names unknown backends {unknown}; registered backends: {sorted(all_backends)}"
            )
        return names
    live = [n for n, b in all_backends.items() if not isinstance(b, PluginLoadError)]
    return sorted(live, key=lambda n: -all_backends[n].priority)


def get_backend(name=None):
    """The backend called `name`, or the default one (first available)."""
    all_backends = backends()
    names = [name] if name is not None else _platforms()
    for n in names:
        backend = all_backends.get(n)
        if backend is not None and backend.available():
            return backend
    available = [n for n, b in all_backends.items() if b.available()]
    wanted = f"Backend '{name}'" if name else f"None of the platforms {names}"
    raise RuntimeError(f"{wanted} is not available. Available backends: {available}")


def devices(backend=None) -> list:
    return get_backend(backend).devices()


def default_backend() -> str:
    return get_backend().name


@functools.lru_cache(maxsize=None)
def default_device():
    return get_backend().devices()[0]
