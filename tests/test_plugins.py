"""The plugin registry: discovery through entry points, broken plugins,
IRAX_PLATFORMS and priorities, the pass pipeline by name, and an example
plugin package installed with pip and used end to end."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import EntryPoint, distributions
from pathlib import Path

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.config import config
from irax.plugins import API_VERSION, Backend, Pass, registry
from irax.transforms import pipeline

import plugin_fakes

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugins" / "irax_example"
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
    monkeypatch.setenv("IRAX_PLATFORMS", "gone,cpu")
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
    monkeypatch.delenv("IRAX_PLATFORMS", raising=False)
    assert registry.platforms() == ["cuda", "rocm", "sync", "cpu", "vulkan"]  # priorities 100, 100, 5, 0, -10
    gpu = [name for name in ("cuda", "rocm") if registry.backends()[name].available()]
    assert irax.default_backend() == (gpu + ["sync"])[0]

    monkeypatch.setenv("IRAX_PLATFORMS", "cpu,sync")
    _forget_plugins()
    assert registry.platforms() == ["cpu", "sync"]
    assert irax.default_backend() == "cpu"
    assert repr(irax.devices("sync")) == "[SyncDevice(id=0)]"
    with pytest.raises(RuntimeError, match=r"Backend 'vulkan' is not used: IRAX_PLATFORMS=cpu,sync\. "
                                           r"Available backends are \['cpu', 'sync'\]"):
        irax.devices("vulkan")

    monkeypatch.setenv("IRAX_PLATFORMS", "cuda,rocm,cpu")  # the first that is available
    _forget_plugins()
    assert irax.default_backend() == (gpu + ["cpu"])[0]

    monkeypatch.setenv("IRAX_PLATFORMS", "cpu,tpu")
    with pytest.raises(RuntimeError, match=r"IRAX_PLATFORMS names unknown backends \['tpu'\]; registered backends: "):
        registry.platforms()


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


# ---------------------------------------------------------------------------
# The example plugin package, installed with pip as a user would, but into a
# temporary directory: the tests leave this environment as they found it.

def _venv_distributions():
    return sorted((d.metadata["Name"], d.version) for d in distributions(path=[sysconfig.get_path("purelib")]))


@pytest.fixture(scope="session")
def example_plugin(tmp_path_factory):
    """The environment of a Python that has examples/plugins/irax_example
    installed: pip installs a copy of it (building writes next to the
    sources) into a temporary directory, which PYTHONPATH puts on sys.path,
    where importlib.metadata finds its entry points."""
    source = shutil.copytree(EXAMPLE, tmp_path_factory.mktemp("source") / EXAMPLE.name)
    site = tmp_path_factory.mktemp("site")
    before = _venv_distributions()
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--no-index",
                    "--no-cache-dir", "--disable-pip-version-check", "--target", str(site), str(source)],
                   check=True, capture_output=True)
    assert _venv_distributions() == before
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


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
    "attribute": "irax_example.op_count" in text}))
""", example_plugin)
    assert {"cpu", "vulkan", "cuda", "rocm", "vmvx"} <= set(out["backends"])
    assert out["origin"] == "irax_example.vmvx:backend"
    assert out["pass_origin"] == "irax_example.count_ops:CountOps"
    assert out["default"] == "cpu" or out["default"] in ("cuda", "rocm")  # installing it moves nothing
    assert out["devices"] == "[VmvxDevice(id=0)]"
    np.testing.assert_allclose(out["y"], np.exp(np.arange(4.0)) * 2, rtol=1e-6)
    assert out["y_device"] == "VmvxDevice(id=0)"
    assert out["f"] == 14.0
    assert out["counted"] >= 2 and not out["in_default"] and out["attribute"]


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
