"""The registry: which backends and passes exist, and which device runs what.

Plugins are objects named by entry points in the groups `irax.backends` and
`irax.passes` (see irax/plugins/__init__.py for the protocols). irax's own
register exactly like a third party's, in irax's pyproject.toml:

    [project.entry-points."irax.backends"]
    cpu = "irax.backends.cpu:backend"

Discovery happens on first use, not on `import irax`. A plugin that fails to
load (an import error, a missing attribute, another protocol version) is kept
as a `PluginLoadError` saying why, a RuntimeWarning names it once, and
everything else keeps working; as with JAX, a backend that IRAX_PLATFORMS
asks for by name and that failed to load is an error.

Which backend: `IRAX_PLATFORMS=vulkan,cpu` (or `irax.config.update(
"irax_platforms", "vulkan,cpu")`) lists the backends to use, in order of
preference (like JAX_PLATFORMS); without it, every registered backend,
highest `priority` first. The default backend is the first of those that is
available here. It is looked up again when the setting changes: arrays
created afterwards go to the new default device, those that exist stay where
they are.
"""
import contextlib
import contextvars
import functools
import inspect
import warnings
from collections.abc import Iterator
from importlib.metadata import entry_points

from irax.config import config
from irax.plugins import API_VERSION, Device

# What each group's plugins must have; a tuple means "one of these".
REQUIRED = {
    "irax.backends": ("api_version", "name", "priority", "target_backend", "compile_flags", "driver",
                      "available", "devices", "compile"),
    "irax.passes": ("api_version", "name", ("run", "pipeline")),
}


class PluginLoadError:
    """Stands in for a plugin that failed to load, so the others still work
    (`irax backends` and `irax passes` show `error`)."""

    def __init__(self, name, origin, error):
        self.name, self.origin, self.error = name, origin, error

    def __repr__(self):
        return f"PluginLoadError({self.name!r}, origin={self.origin!r}, error={self.error!r})"

    def available(self):
        return False


def _has(plugin, name) -> bool:
    """Without evaluating it: a property such as compile_flags may read a
    setting, and a bad setting is an error where it is used, not a broken plugin."""
    try:
        inspect.getattr_static(plugin, name)
        return True
    except AttributeError:
        return False


def _load(ep):
    plugin = ep.load()
    missing = [" or ".join(a) if isinstance(a, tuple) else a for a in REQUIRED[ep.group]
               if not any(_has(plugin, n) for n in (a if isinstance(a, tuple) else (a,)))]
    if missing:
        raise TypeError(f"{ep.value} is not an {ep.group} plugin: it has no {', '.join(missing)}")
    if plugin.api_version != API_VERSION:
        raise TypeError(f"{ep.value} follows plugin protocol version {plugin.api_version}; "
                        f"this irax speaks version {API_VERSION}")
    if plugin.name != ep.name:
        raise TypeError(f"{ep.value} is registered as {ep.name!r} but is named {plugin.name!r}")
    plugin.origin = ep.value
    return plugin


def _discover(group) -> dict:
    found = {}
    for ep in entry_points(group=group):
        try:
            found[ep.name] = _load(ep)
        except Exception as e:  # a broken plugin must not break irax, but must not go unnoticed
            found[ep.name] = PluginLoadError(ep.name, ep.value, e)
            warnings.warn(f"irax plugin configuration error: {group} plugin {ep.name!r} ({ep.value}) failed to load: "
                          f"{type(e).__name__}: {e}. irax runs without it; fix or uninstall the package that "
                          "registers it.", RuntimeWarning)
    return found


@functools.cache
def backends() -> dict:
    """Every registered backend by name: the backend, or a PluginLoadError."""
    return _discover("irax.backends")


@functools.cache
def passes() -> dict:
    """Every registered pass by name: the pass, or a PluginLoadError."""
    return _discover("irax.passes")


def platforms() -> list:
    """Backend names in the order irax tries them."""
    requested = [n for n in config.irax_platforms.split(",") if n]
    registered = backends()
    unknown = [n for n in requested if n not in registered]
    if unknown:
        raise RuntimeError(f"IRAX_PLATFORMS names unknown backends {unknown}; registered backends: {sorted(registered)}")
    for name in requested:  # asked for by name: failing over to the next one would hide it (JAX raises too)
        if isinstance(registered[name], PluginLoadError):
            raise RuntimeError(f"Unable to initialize backend '{name}': {registered[name].error} "
                               "(set IRAX_PLATFORMS='' to automatically choose an available backend)")
    if requested:
        return requested
    loaded = {n: b for n, b in registered.items() if not isinstance(b, PluginLoadError)}
    return sorted(loaded, key=lambda n: -loaded[n].priority)


def _usable(name) -> bool:
    try:
        return backends()[name].available()
    except Exception:  # available() must not raise; a plugin that does is simply not available
        return False


def available_backends() -> list:
    """The backends that can run here, in the order irax prefers them."""
    return [n for n in platforms() if _usable(n)]


def _not_available(name) -> RuntimeError:
    backend = backends().get(name)
    if backend is None:
        reason = f"Unknown backend {name}."
    elif isinstance(backend, PluginLoadError):
        reason = f"Backend '{name}' failed to initialize: {backend.error}."
    elif name not in platforms():
        reason = f"Backend '{name}' is not used: IRAX_PLATFORMS={config.irax_platforms}."
    else:
        reason = f"Backend '{name}' has no device here (IREE driver '{backend.driver}')."
    return RuntimeError(f"{reason} Available backends are {available_backends()}")


def get_backend(name=None):
    """The backend called `name`, or the default backend."""
    if name is None:
        return _default_backend(config.irax_platforms)
    if name in platforms() and _usable(name):
        return backends()[name]
    raise _not_available(name)


@functools.cache
def _default_backend(platforms_setting):  # looked up again when the setting changes
    for name in platforms():
        if _usable(name):
            return backends()[name]
    raise RuntimeError(f"No backend is available here; tried {platforms()}. "
                       "Set IRAX_PLATFORMS to backends that are (`irax backends` lists them).")


def devices(backend: str | None = None) -> list[Device]:
    """The devices of `backend` (a name), or of the default backend (jax.devices)."""
    return get_backend(backend).devices()


def device_count(backend: str | None = None) -> int:
    """How many devices `backend` (default: the default one) has
    (jax.device_count), without making them if it can count them first
    (its optional `device_count()`)."""
    chosen = get_backend(backend)
    count = getattr(chosen, "device_count", None)
    return count() if count is not None else len(chosen.devices())


def local_devices(process_index: int | None = None, backend: str | None = None) -> list[Device]:
    """The devices of this process: all of them, irax running in one process (jax.local_devices)."""
    return devices(backend)


def local_device_count(backend: str | None = None) -> int:
    """How many devices this process has: all of them (jax.local_device_count)."""
    return device_count(backend)


def default_backend() -> str:
    """The default backend's name (jax.default_backend)."""
    return get_backend().name


# ---------------------------------------------------------------------------
# The default device: where uncommitted arrays live and computations on them run.

_default_device = contextvars.ContextVar("irax_default_device", default=None)


def get_default_device():
    """The innermost `with irax.default_device(...)`, else the default backend's first device."""
    return _default_device.get() or _first_device(config.irax_platforms)


@functools.cache
def _first_device(platforms_setting):  # looked up again when the setting changes
    return get_backend().devices()[0]


def devices_changed() -> None:
    """A backend put a new device in the place of a lost one: look the default device up again."""
    _first_device.cache_clear()


@contextlib.contextmanager
def default_device(device: Device | str) -> Iterator[None]:
    """`with irax.default_device(irax.devices("vulkan")[0]): ...`: arrays
    created inside, and computations on arrays not committed to a device,
    go to `device` (a Device or a backend name), as jax.default_device."""
    token = _default_device.set(devices(device)[0] if isinstance(device, str) else device)
    try:
        yield
    finally:
        _default_device.reset(token)
