"""The plugin registry: discovery through entry points, broken plugins,
IRAX_PLATFORMS and priorities, the pass pipeline by name, and an example
plugin package installed with pip and used end to end."""
import json
import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
from iree.compiler import ir

import irax
import irax.numpy as jnp
from irax.config import config
from irax.plugins import API_VERSION, Backend, Device, Pass, registry
from irax.transforms import pipeline

import plugin_fakes
from helpers import use_example_plugin

ROOT = Path(__file__).resolve().parents[1]
X = np.arange(6, dtype=np.float32).reshape(2, 3)


def _forget_plugins():
    for cached in (registry.backends, registry.passes, registry._default_backend, registry._first_device):
        cached.cache_clear()


@pytest.fixture
def plugins(monkeypatch):
    """`plugins(backends={name: value}, passes={name: value})` makes these and
    irax's own the only installed plugins, for one test."""
    installed = {group: [ep for ep in registry.entry_points(group=group) if ep.value.startswith("irax.")]
                 for group in registry.REQUIRED}

    def install(backends=(), passes=()):
        eps = {group: installed[group] + [EntryPoint(n, v, group) for n, v in dict(new).items()]
               for group, new in (("irax.backends", backends), ("irax.passes", passes))}
        monkeypatch.setattr(registry, "entry_points", lambda group: eps[group])
        _forget_plugins()

    yield install
    _forget_plugins()


def test_builtin_plugins_register_through_entry_points():
    backends, passes = registry.backends(), registry.passes()
    for name in ("cpu", "vulkan", "cuda", "rocm"):
        assert isinstance(backends[name], Backend)
        assert backends[name].origin == f"irax.backends.{name}:backend"
        assert backends[name].api_version == API_VERSION
    assert {"inline", "symbol-dce", "canonicalize", "cse", "prune-unused-generic-inputs", "normalize-loop-order",
            "protect-arguments"} <= set(passes)
    assert all(isinstance(p, Pass) for p in passes.values())
    assert passes["protect-arguments"].origin == "irax.transforms.passes:protect"
    assert pipeline.default_pipeline() == list(pipeline.DEFAULT)


def test_broken_plugins_are_reported_and_the_others_work(plugins, monkeypatch):
    plugins(backends={"gone": "no_such_module:backend", "gone2": "plugin_fakes:no_such_attribute"},
            passes={"old-protocol": "plugin_fakes:old_protocol", "misnamed": "plugin_fakes:misnamed",
                    "no-body": "plugin_fakes:no_body"})
    with pytest.warns(RuntimeWarning) as warned:
        backends, passes = registry.backends(), registry.passes()
    assert len(warned) == 5  # one each, once: discovery is cached
    assert str(warned[0].message) == (
        "irax plugin configuration error: irax.backends plugin 'gone' (no_such_module:backend) failed to load: "
        "ModuleNotFoundError: No module named 'no_such_module'. irax runs without it; fix or uninstall the "
        "package that registers it.")
    assert "irax.passes plugin 'old-protocol' (plugin_fakes:old_protocol) failed to load: TypeError: " \
        in str(warned[2].message)
    assert isinstance(backends["gone"], registry.PluginLoadError)
    assert isinstance(backends["gone"].error, ModuleNotFoundError)
    assert backends["gone"].origin == "no_such_module:backend"
    assert isinstance(backends["gone2"].error, AttributeError)
    assert "protocol version 0; this irax speaks version 1" in str(passes["old-protocol"].error)
    assert "registered as 'misnamed' but is named 'not-its-entry-point-name'" in str(passes["misnamed"].error)
    assert "it has no run or pipeline" in str(passes["no-body"].error)
    # everything else still works
    assert irax.devices() == [registry.backends()["cpu"].devices()[0]]
    np.testing.assert_array_equal(irax.jit(lambda x: x + 1)(X), X + 1)
    with pytest.raises(RuntimeError, match=r"Backend 'gone' failed to initialize: No module named 'no_such_module'\. "
                                           r"Available backends are \['cpu'"):
        irax.devices("gone")
    with pytest.raises(ValueError, match=r"Pass 'old-protocol' failed to load \(plugin_fakes:old_protocol\)"):
        irax.jit(lambda x: x + 2, passes=["default", "old-protocol"])(X)
    # asked for by name, a broken backend is an error, not a quiet fall back to the next (as JAX_PLATFORMS)
    monkeypatch.setattr(config, "irax_platforms", "gone,cpu")
    registry._default_backend.cache_clear()
    with pytest.raises(RuntimeError, match=r"^Unable to initialize backend 'gone': No module named 'no_such_module' "
                                           r"\(set IRAX_PLATFORMS='' to automatically choose an available backend\)$"):
        irax.devices()


def test_unknown_backend_error_is_jax_s():
    jax = pytest.importorskip("jax")
    with pytest.raises(RuntimeError) as jax_error:
        jax.devices("nope")
    with pytest.raises(RuntimeError) as irax_error:
        irax.devices("nope")
    assert str(jax_error.value) == "Unknown backend nope. Available backends are ['cpu']"
    assert str(irax_error.value).startswith("Unknown backend nope. Available backends are ['cpu'")


def test_platforms_by_priority_and_by_irax_platforms(plugins, monkeypatch):
    plugins(backends={"sync": "plugin_fakes:sync"})
    monkeypatch.setattr(config, "irax_platforms", "")
    assert registry.platforms() == ["cuda", "rocm", "sync", "cpu", "vulkan"]  # priorities 100, 100, 5, 0, -10
    gpu = [name for name in ("cuda", "rocm") if registry.backends()[name].available()]
    assert irax.default_backend() == (gpu + ["sync"])[0]

    monkeypatch.setattr(config, "irax_platforms", "cpu,sync")
    _forget_plugins()
    assert registry.platforms() == ["cpu", "sync"]
    assert irax.default_backend() == "cpu"
    assert repr(irax.devices("sync")) == "[SyncDevice(id=0)]"
    with pytest.raises(RuntimeError, match=r"Backend 'vulkan' is not used: IRAX_PLATFORMS=cpu,sync\. "
                                           r"Available backends are \['cpu', 'sync'\]"):
        irax.devices("vulkan")

    monkeypatch.setattr(config, "irax_platforms", "cuda,rocm,cpu")  # the first that is available
    _forget_plugins()
    assert irax.default_backend() == (gpu + ["cpu"])[0]

    monkeypatch.setattr(config, "irax_platforms", "cpu,tpu")
    with pytest.raises(RuntimeError, match=r"IRAX_PLATFORMS names unknown backends \['tpu'\]; registered backends: "):
        registry.platforms()


class OnlyTheProtocol:
    """A CPU device seen through irax.plugins.Device alone: anything else
    irax asked of it would be an AttributeError."""

    def __init__(self, device):
        for name in [*Device.__annotations__, *(n for n in vars(Device) if not n.startswith("_"))]:
            setattr(self, name, getattr(device, name))


def test_irax_asks_a_device_for_its_protocol_alone(monkeypatch):
    """The CPU's calls are asynchronous (ready is not 0), so irax waits on
    them and checks them: all through the protocol. (sync-cpu, the example
    plugin's device, runs the core tests with none of that to do.)"""
    cpu = irax.devices("cpu")[0]
    assert isinstance(cpu, Device)
    device = OnlyTheProtocol(cpu)
    monkeypatch.setattr(config, "irax_inline_bytes", 0)  # every call queued, none run inline
    with irax.default_device(device):
        x = jnp.asarray(X)
        y = jnp.exp(x) * 2  # eager ops on the result of a pending call
        assert y._ready and y.device is device
        assert y.block_until_ready() is y and y.is_ready()
        np.testing.assert_allclose(y, np.exp(X) * 2, rtol=1e-6)
        g = irax.jit(irax.grad(lambda a: jnp.sum(jnp.tanh(a))))(x)
        np.testing.assert_allclose(np.asarray(g), 1 - np.tanh(X) ** 2, rtol=1e-5, atol=1e-6)
        z = irax.device_put(jnp.sin(x), cpu)  # to another device, through the host
        np.testing.assert_allclose(z, np.sin(X), rtol=1e-6)
        assert "Array(" in repr(jnp.cos(x)) and jnp.zeros((0, 3)).shape == (0, 3)


def test_pipeline_specs():
    default = pipeline.default_pipeline()
    assert pipeline.resolve("default", default) == default
    assert pipeline.resolve("default,record", default) == default + ["record"]
    assert pipeline.resolve(["record", "default", "-cse"], default) == ["record"] + [n for n in default if n != "cse"]
    assert pipeline.resolve("cse, canonicalize", default) == ["cse", "canonicalize"]  # reordered, the rest left out
    assert pipeline.resolve("", default) == []


def test_a_pass_names_its_place_in_the_default_pipeline(plugins):
    plugins(passes={"after-cse": "plugin_fakes:after_cse"})
    names = pipeline.default_pipeline()
    assert names[names.index("after-cse") - 1] == "cse"
    assert names.index("after-cse") > names.index("prune-unused-generic-inputs")  # after the last cse
    plugin_fakes.ran.clear()
    irax.jit(lambda x: x * 3)(X)
    assert plugin_fakes.ran == ["after-cse"]
    assert "after-cse" not in pipeline.pass_names(base=pipeline.KERNEL_DEFAULT)  # no cse in eager kernels


def test_passes_added_and_removed_by_name(plugins, monkeypatch):
    plugins(passes={"record": "plugin_fakes:record", "boom": "plugin_fakes:boom"})
    plugin_fakes.ran.clear()
    f = lambda x: jnp.sin(x) * 4  # noqa: E731
    np.testing.assert_allclose(irax.jit(f, passes="default,record")(X), np.sin(X) * 4, rtol=1e-6)
    assert plugin_fakes.ran == ["record"]
    irax.jit(f)(X)  # not asked for: not run
    assert plugin_fakes.ran == ["record"]

    # config: every program, eager kernels included
    monkeypatch.setattr(config, "irax_passes", config.irax_passes)
    config.update("irax_passes", ["default", "record"])
    assert config.irax_passes == "default,record"
    np.testing.assert_allclose(jnp.cos(X), np.cos(X), rtol=1e-6)
    assert plugin_fakes.ran == ["record", "record"]
    assert pipeline.pass_names(["-record", "default"]) == pipeline.default_pipeline()

    # without protect-arguments, nothing keeps IREE from writing into the argument
    text = irax.jit(lambda x: x.at[0].set(1.0), passes="default,-protect-arguments").lower(X).as_text("optimized")
    assert "optimization_barrier" not in text
    assert "optimization_barrier" in irax.jit(lambda x: x.at[0].set(1.0)).lower(X).as_text("optimized")

    with pytest.raises(ZeroDivisionError):
        irax.jit(lambda x: x - 1, passes=["default", "boom"])(X)
    unknown = r"Unknown pass 'cce' in the pass pipeline\. Registered passes: .*\bcse\b"
    with pytest.raises(ValueError, match=unknown):
        irax.jit(lambda x: x - 2, passes="default,cce")(X)
    with pytest.raises(ValueError, match=unknown):  # removing it is as wrong as adding it
        irax.jit(lambda x: x - 2, passes="default,-cce")(X)
    config.update("irax_passes", "default,-cce")  # IRAX_PASSES=default,-cce
    with pytest.raises(ValueError, match=unknown):
        jnp.cos(X)


def test_a_pass_that_breaks_the_ir_is_named(plugins, monkeypatch):
    """The module is checked after each plugin's pass, which is named when
    it leaves invalid IR (before an MLIR pass could crash on it); irax's own
    passes are checked once, at the pipeline's end (MLIR's check after each
    pass is a fifth of a pipeline's time), and `lower` checks after each
    pass. Either way the next program works."""
    plugins(passes={"breaks-ir": "plugin_fakes:breaks_ir"})
    broken = irax.jit(lambda x: x * 3, passes="default,breaks-ir")
    for call in (broken, broken.lower):
        with pytest.raises(RuntimeError, match="(?s)Pass 'breaks-ir' left invalid IR: .*block with no terminator"):
            call(X)
    np.testing.assert_allclose(irax.jit(lambda x: x * 3)(X), X * 3)

    monkeypatch.setattr(plugin_fakes.breaks_ir, "origin", "irax.transforms.passes:breaks_ir")  # as if irax's
    with pytest.raises(ir.MLIRError, match="block with no terminator") as raised:
        irax.jit(lambda x: x * 4, passes="default,breaks-ir")(X)
    assert "name the pass that broke it" in raised.value.__notes__[0]
    np.testing.assert_allclose(irax.jit(lambda x: x * 4)(X), X * 4)


# ---------------------------------------------------------------------------
# The example plugin package, installed with pip as a user would, but into a
# temporary directory (helpers.example_plugin, a session fixture the core
# tests' sync-cpu platform shares): the tests leave this environment as they
# found it.

def run_with_plugin(code, env):
    """Run `code` in a fresh Python (plugins are discovered per process) with
    `env` added to the environment; it prints JSON."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, **env), cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_example_plugin_found_listed_and_used_by_name(example_plugin):
    out = run_with_plugin("""
import json, numpy as np, irax, irax.numpy as jnp
from irax.plugins import registry
from irax.transforms import pipeline
from irax_example.count_ops import CountOps
from irax.plugins import Device
vmvx = irax.devices("vmvx")[0]
x = irax.device_put(np.arange(4.0), vmvx)
y = jnp.exp(x) * 2                                               # eager ops on the plugin's device
f = irax.jit(lambda a: jnp.sum(a * a), passes=["default", "count-ops"])
text = f.lower(np.arange(4.0)).as_text("optimized")
print(json.dumps({
    "backends": sorted(registry.backends()), "origin": registry.backends()["vmvx"].origin,
    "pass_origin": registry.passes()["count-ops"].origin, "default": irax.default_backend(),
    "devices": repr(irax.devices("vmvx")), "y": np.asarray(y).tolist(), "y_device": repr(y.device),
    "f": float(f(x)), "counted": CountOps.counts["linalg.generic"], "in_default": "count-ops" in pipeline.default_pipeline(),
    "attribute": "irax_example.op_count" in text, "sync_cpu": repr(irax.devices("sync-cpu")),
    "protocol": [isinstance(d, Device) for d in (vmvx, *irax.devices("sync-cpu"))]}))
""", example_plugin)
    assert {"cpu", "vulkan", "cuda", "rocm", "vmvx", "sync-cpu"} <= set(out["backends"])
    assert out["origin"] == "irax_example.vmvx:backend"
    assert out["pass_origin"] == "irax_example.count_ops:CountOps"
    assert out["default"] == "cpu" or out["default"] in ("cuda", "rocm")  # installing it moves nothing
    assert out["devices"] == "[VmvxDevice(id=0)]"
    np.testing.assert_allclose(out["y"], np.exp(np.arange(4.0)) * 2, rtol=1e-6)
    assert out["y_device"] == "VmvxDevice(id=0)"
    assert out["f"] == 14.0
    assert out["counted"] >= 2 and not out["in_default"] and out["attribute"]
    assert out["sync_cpu"] == "[SyncCpuDevice(id=0)]" and out["protocol"] == [True, True]


def test_example_plugin_selected_by_environment(example_plugin):
    out = run_with_plugin("""
import json, numpy as np, irax, irax.numpy as jnp
from irax_example.count_ops import CountOps
x = jnp.arange(5.0)
y = jnp.maximum(x * 3 - 4, 0)                                    # eager
g = irax.jit(irax.grad(lambda a: jnp.sum(jnp.tanh(a))))(x)        # jit of grad
print(json.dumps({"devices": repr(irax.devices()), "default": irax.default_backend(), "y": np.asarray(y).tolist(),
                  "y_device": repr(y.device), "g": np.asarray(g).tolist(), "g_device": repr(g.device),
                  "counted": sum(CountOps.counts.values())}))
""", dict(example_plugin, IRAX_PLATFORMS="vmvx,cpu", IRAX_PASSES="default,count-ops"))
    assert out["default"] == "vmvx" and out["devices"] == "[VmvxDevice(id=0)]"
    x = np.arange(5.0)
    np.testing.assert_allclose(out["y"], np.maximum(x * 3 - 4, 0))
    np.testing.assert_allclose(out["g"], 1 - np.tanh(x) ** 2, rtol=1e-5, atol=1e-6)
    assert out["y_device"] == out["g_device"] == "VmvxDevice(id=0)"
    assert out["counted"] > 0  # IRAX_PASSES ran it on the eager kernels and the jitted program


def test_callbacks_run_on_the_example_plugin_s_device(request, capsys):
    """Programs with Python callbacks load on sync-cpu (the example plugin's
    device, written from the protocol): its `load` takes the host functions,
    and a callback's exception is the cause of the call's DeviceError, as on
    irax's own devices. (Its load took no host functions: a TypeError.)"""
    from irax.experimental import io_callback
    use_example_plugin(request)
    device = irax.devices("sync-cpu")[0]
    x = irax.device_put(X, device)
    out = irax.ShapeDtypeStruct(X.shape, jnp.float32)
    seen = []

    def f(x):
        irax.debug.callback(lambda a: seen.append(np.asarray(a)), x)
        irax.debug.print("x[0, 1] = {}", x[0, 1])
        return irax.pure_callback(np.sin, out, x) * 2 + io_callback(lambda a: a * 3, out, x)

    y = irax.jit(f)(x)
    assert y.device is device
    np.testing.assert_allclose(y, np.sin(X) * 2 + X * 3, rtol=1e-6)
    irax.effects_barrier()
    np.testing.assert_array_equal(seen[0], X)
    assert capsys.readouterr().out == "x[0, 1] = 1.0\n"
    with pytest.raises(irax.errors.DeviceError, match="A callback failed .* ZeroDivisionError") as error:
        irax.jit(lambda x: irax.pure_callback(lambda a: 1 // 0, out, x))(x)
    assert isinstance(error.value.__cause__, ZeroDivisionError)


def test_the_example_plugin_s_sync_cpu_compiles_nothing_of_its_own(request, tmp_path, monkeypatch):
    """sync-cpu runs the CPU backend's programs, the CPU's prepare step's
    choices included (a small product's tiles here), so the two share their
    compile-cache entries. (It compiled the text unprepared, under a key of
    its own: a second compile of each program that step rewrites.)"""
    from irax.backends import cache
    from irax.backends.cpu import backend as cpu
    use_example_plugin(request)
    sync = registry.backends()["sync-cpu"]
    monkeypatch.setattr(config, "irax_cache_dir", str(tmp_path))
    monkeypatch.setattr(cache, "_memory", {})  # as if this were a fresh process
    text = irax.jit(lambda a, b: jnp.tanh(a @ b)).lower(X, X.T).as_text("optimized")
    assert cpu.prepare(text) != text and sync.prepare(text) == cpu.prepare(text)
    compiles = cache.stats()["compiles"]
    assert sync.compile(text) == cpu.compile(text)
    assert cache.stats()["compiles"] == compiles + 1
