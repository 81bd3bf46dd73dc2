"""Settings (irax/config.py): every IRAX_* variable is declared there once,
read when first used, overridable with `irax.config.update`, and checked the
same way from either place, so a typo fails with the variable's name and
what it accepts instead of silently meaning something else. The code that
uses a setting asks for it at use, so an update is seen there. Backend and
pass names are checked where they are used: test_plugins.py."""
import functools
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.backends import cache
from irax.config import Config, config
from irax.plugins import registry

ROOT = Path(__file__).resolve().parents[1]

# name: (the variable's text, the value it means, the value without the variable)
FROM_ENVIRONMENT = {
    "irax_enable_x64": ("1", True, False),
    "irax_cache_dir": ("/somewhere/else", "/somewhere/else", "/xdg/irax"),
    "irax_disable_cache": ("yes", True, False),
    "irax_cache_size": ("16", 16, 4096),
    "irax_log_compiles": ("on", True, False),
    "irax_disable_jit": ("true", True, False),
    "irax_inline_bytes": ("1024", 1024, 1048576),
    "irax_platforms": (" vulkan, cpu,", "vulkan,cpu", ""),
    "irax_passes": ("default,-cse", "default,-cse", "default"),
    "irax_cpu_devices": ("4", 4, 1),
    "irax_cpu_workers": ("1", 1, 0),
    "irax_cpu_kernels": ("0", False, True),
    "irax_distributed_timeout": ("2.5", 2.5, 300.0),
    "irax_kernel_library": ("add, sin", "add,sin", "all"),
    "irax_kernel_library_background": ("1", True, False),
    "irax_tiered_jit": ("off", False, True),
    "irax_debug_nans": ("1", True, False),
    "irax_debug_infs": ("yes", True, False),
    "irax_no_tracing": ("1", True, False),
    "irax_no_execution": ("1", True, False),
    "irax_threefry_partitionable": ("0", False, True),
    "irax_default_prng_impl": ("rbg", "rbg", "threefry2x32"),
    "irax_legacy_prng_key": ("error", "error", "allow"),
    "irax_numpy_dtype_promotion": ("strict", "strict", "standard"),
    "irax_numpy_rank_promotion": ("raise", "raise", "allow"),
    "irax_eager_constant_folding": ("1", True, False),
    "irax_default_matmul_precision": ("highest", "highest", None),
    "irax_transfer_guard": ("log", "log", None),
    "irax_transfer_guard_host_to_device": ("disallow", "disallow", None),
    "irax_transfer_guard_device_to_device": ("allow", "allow", None),
    "irax_transfer_guard_device_to_host": ("log_explicit", "log_explicit", None),
    "irax_check_tracer_leaks": ("1", True, False),
    "irax_debug_key_reuse": ("1", True, False),
    "irax_enable_checks": ("1", True, False),
    "irax_explain_cache_misses": ("1", True, False),
    "irax_remat3": ("1", True, False),
    "irax_cuda_target": ("sm_86", "sm_86", "sm_80"),
    "irax_rocm_target": ("gfx1100", "gfx1100", "gfx942"),
}

SWITCH = "1/0, true/false, yes/no or on/off (any case)"
BYTES = "a number of bytes, a non-negative integer such as 1048576"
CUDA = "a compute capability such as sm_80 or sm_89, or one of pascal, volta, turing, ampere, ada, a100, rtx3090, rtx4090"
ROCM = "an AMD GPU architecture such as gfx942 or gfx1100, or a product such as mi300x or rx7900xtx"
# (name, a value it does not accept, the error's noun, what it accepts)
MALFORMED = [
    ("irax_enable_x64", "maybe", "truth value", SWITCH),
    ("irax_disable_cache", "2", "truth value", SWITCH),
    ("irax_log_compiles", "", "truth value", SWITCH),
    ("irax_inline_bytes", "-1", "value", BYTES),
    ("irax_inline_bytes", "1.5", "value", BYTES),
    ("irax_cache_size", "0", "value", "a number of entries, a positive integer such as 4096"),
    ("irax_cpu_devices", "0", "value", "a number of devices, a positive integer such as 4"),
    ("irax_cpu_workers", "-1", "value", "a number of worker threads, a non-negative integer (0: one per core)"),
    ("irax_distributed_timeout", "5s", "value", "a number of seconds, such as 300 or 0.5"),
    ("irax_cuda_target", "hopper", "value", CUDA),  # IREE 3.13 would crash the process on it
    ("irax_rocm_target", "hopper", "value", ROCM),
]


@pytest.fixture
def update(monkeypatch):
    """config.update, undone after the test."""
    def set_(name, value):
        monkeypatch.setattr(config, name, getattr(config, name))  # what to put back
        config.update(name, value)
    return set_


def test_every_setting_is_read_from_its_variable_when_first_used(monkeypatch):
    assert set(FROM_ENVIRONMENT) == set(Config.settings())
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    for name, (text, value, default) in FROM_ENVIRONMENT.items():
        monkeypatch.delenv(name.upper(), raising=False)
        assert getattr(Config(), name) == default, name
        fresh = Config()
        monkeypatch.setenv(name.upper(), text)  # after the Config exists: read at use, not before
        assert getattr(fresh, name) == value, name
        monkeypatch.setenv(name.upper(), "")  # once read, kept: the variable is not read per operation
        assert getattr(fresh, name) == value, name


def test_switches_take_jax_s_spellings(monkeypatch):
    for value, meaning in (("1", True), ("TRUE", True), ("on", True), ("y", True),
                           ("0", False), ("False", False), ("off", False), ("no", False)):
        monkeypatch.setenv("IRAX_ENABLE_X64", value)
        assert Config().irax_enable_x64 is meaning, value
        fresh = Config()
        fresh.update("irax_enable_x64", value)
        assert fresh.irax_enable_x64 is meaning, value
    fresh.update("irax_enable_x64", True)
    assert fresh.irax_enable_x64 is True and fresh.x64_enabled is True


@pytest.mark.parametrize("name, value, noun, accepts", MALFORMED, ids=[f"{n}={v!r}" for n, v, *_ in MALFORMED])
def test_a_malformed_value_fails_naming_the_variable_and_what_it_accepts(name, value, noun, accepts, monkeypatch):
    monkeypatch.setenv(name.upper(), value)
    fresh = Config()
    with pytest.raises(ValueError) as error:
        getattr(fresh, name)
    assert str(error.value) == f"invalid {noun} {value!r} for environment {name.upper()!r}: expected {accepts}"
    with pytest.raises(ValueError) as error:  # and again: a bad value is never kept
        getattr(fresh, name)
    assert name.upper() in str(error.value)
    with pytest.raises(ValueError) as error:
        fresh.update(name, value)
    assert str(error.value) == f"invalid {noun} {value!r} for config option {name!r}: expected {accepts}"
    with pytest.raises(ValueError, match=f"for config option {name!r}"):
        setattr(fresh, name, value)  # assigning is updating


def test_update_checks_values_of_other_types_as_their_text():
    fresh = Config()
    fresh.update("irax_inline_bytes", 4096)
    fresh.update("irax_passes", ["default", "-cse"])
    fresh.update("irax_cache_dir", Path("/tmp/elsewhere"))
    assert (fresh.irax_inline_bytes, fresh.irax_passes, fresh.irax_cache_dir) == (4096, "default,-cse", "/tmp/elsewhere")
    for name, value in (("irax_inline_bytes", True), ("irax_inline_bytes", 1.5), ("irax_cuda_target", 80)):
        with pytest.raises(ValueError, match=rf"^invalid value {re.escape(repr(value))} for config option {name!r}"):
            fresh.update(name, value)


def test_an_unknown_option_fails_as_jax_s_does():
    jax = pytest.importorskip("jax")
    with pytest.raises(AttributeError) as jax_error:
        jax.config.update("jax_no_such_option", 1)
    with pytest.raises(AttributeError) as irax_error:
        config.update("irax_no_such_option", 1)
    assert str(jax_error.value) == "Unrecognized config option: jax_no_such_option"
    assert str(irax_error.value) == ("Unrecognized config option: irax_no_such_option. Known options: "
                                     + ", ".join(Config.settings()))
    with pytest.raises(AttributeError, match="Unrecognized config option: irax_enable_64"):
        config.irax_enable_64 = True  # a typo in an assignment is not a new attribute


def test_the_readme_and_the_docstring_list_every_setting():
    readme = (ROOT / "README.md").read_text().split("## Settings", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"^\| `(IRAX_[A-Z0-9_]+)", readme, re.M)) == {n.upper() for n in Config.settings()}
    documented = re.findall(r"^    (IRAX_[A-Z0-9_]+) ", sys.modules["irax.config"].__doc__, re.M)
    assert documented == [n.upper() for n in Config.settings()]


def test_a_bad_switch_fails_at_first_use_in_jax_s_words():
    """Not at `import irax` (nothing is read then), but at the first array."""
    from jax._src.config import bool_env
    with pytest.MonkeyPatch.context() as m:
        m.setenv("JAX_ENABLE_X64", "maybe")
        with pytest.raises(ValueError) as jax_error:
            bool_env("JAX_ENABLE_X64", False)
    done = subprocess.run([sys.executable, "-c", "import irax.numpy as jnp; print('imported'); jnp.ones(2)"],
                          capture_output=True, text=True, env={"IRAX_ENABLE_X64": "maybe"}, timeout=120)
    assert done.returncode == 1 and done.stdout == "imported\n"
    assert done.stderr.strip().splitlines()[-1] == (f"ValueError: {jax_error.value}: expected {SWITCH}"
                                                    .replace("JAX_", "IRAX_"))


# ---------------------------------------------------------------------------
# An update is seen by the code that uses the setting.

def test_platforms_pick_the_default_device_again_when_updated(update):
    if not registry.backends()["vulkan"].available():
        pytest.skip("no vulkan device")
    before = jnp.ones(2)  # a default device exists, and is cached
    update("irax_platforms", "vulkan,cpu")
    assert irax.default_backend() == "vulkan" and irax.devices() == registry.backends()["vulkan"].devices()
    after = jnp.ones(2)
    assert after.device.platform == "vulkan" and before.device.platform == registry.platforms()[-1]
    np.testing.assert_array_equal(after + 1, [2.0, 2.0])
    update("irax_platforms", "cpu")
    assert jnp.ones(2).device.platform == "cpu"
    update("irax_platforms", "tpu")  # a name is checked against the registry where it is used
    with pytest.raises(RuntimeError, match=r"^IRAX_PLATFORMS names unknown backends \['tpu'\]; registered backends: "):
        jnp.ones(2)


def test_passes_and_log_compiles_are_read_at_each_call(update, capfd):
    def f(x):
        return jnp.sin(x) * 2.0
    x = np.zeros(3, np.float32)
    assert "cse" in [name for name, _ in irax.jit(f).lower(x).passes]
    update("irax_passes", "default,-cse")
    assert "cse" not in [name for name, _ in irax.jit(f).lower(x).passes]
    capfd.readouterr()
    irax.jit(f)(x)
    assert "irax:" not in capfd.readouterr().err
    update("irax_log_compiles", True)
    update("irax_passes", "default")
    irax.jit(f)(x)
    assert "irax: compiling jit(f) for " in capfd.readouterr().err


def test_the_cuda_target_is_read_at_each_compile(update):
    """Compiling for cuda needs no GPU; the flag, and so the cache key, follow the setting."""
    cuda = registry.backends()["cuda"]
    text = irax.jit(jnp.sin).lower(np.zeros(3, np.float32)).as_text("optimized")
    default_key = cache._key(text, cuda.target_backend, cuda.compile_flags)
    update("irax_cuda_target", "sm_86")
    assert cuda.compile_flags == ("--iree-cuda-target=sm_86",)
    assert cache._key(text, cuda.target_backend, cuda.compile_flags) != default_key
    assert b"sm_86" in cuda.compile(text)  # the PTX's .target line
    update("irax_rocm_target", "gfx1100")
    assert registry.backends()["rocm"].compile_flags == ("--iree-rocm-target=gfx1100",)


def test_debug_nans_and_infs_raise_jax_s_error_naming_what_ran():
    """jax_debug_nans/jax_debug_infs (config names and context managers) were
    unknown options: an AttributeError at a JAX program's first line."""
    jax = pytest.importorskip("jax")
    with irax.debug_nans(True):
        assert irax.debug_nans.value
        with pytest.raises(FloatingPointError, match=r"invalid value \(nan\) encountered in log"):
            jnp.log(jnp.array(-1.0))
        with pytest.raises(FloatingPointError, match=r"invalid value \(nan\) encountered in _halve_log .*disable_jit"):
            irax.jit(_halve_log)(-1.0)
        assert float(jnp.log(jnp.array(2.0))) == np.float32(np.log(2.0))  # a finite result passes
    assert not irax.debug_nans.value and np.isnan(jnp.log(jnp.array(-1.0)))
    config.update("jax_debug_infs", True)
    try:
        with pytest.raises(FloatingPointError, match=r"invalid value \(inf\) encountered in log"):
            jnp.log(jnp.array(0.0))
    finally:
        config.update("jax_debug_infs", False)
    with jax.debug_nans(True), pytest.raises(FloatingPointError, match=r"invalid value \(nan\) encountered in log"):
        jax.numpy.log(jax.numpy.array(-1.0))  # JAX's words, which irax's match


def _halve_log(x):
    return jnp.log(x) / 2


def _tripled(x):
    return x * 3


def test_no_tracing_and_no_execution_raise_jax_s_runtime_error():
    """jax.no_tracing: a call that would trace a function (jit's first call
    of a signature, eval_shape, grad, vmap) raises, naming it; one whose
    program is kept runs. jax.no_execution: a computation raises before it
    runs (a jitted call's or an eager op's), tracing and lowering do not.
    Both were unknown options (AttributeError)."""
    jax = pytest.importorskip("jax")
    kept = irax.jit(_halve_log)
    kept(2.0)
    where = f"_tripled at {__file__}:{_tripled.__code__.co_firstlineno}"
    with irax.no_tracing(True):
        assert float(kept(2.0)) == np.float32(np.log(2.0) / 2)
        for traces in (irax.jit(_tripled), irax.grad(_tripled), functools.partial(irax.eval_shape, _tripled)):
            with pytest.raises(RuntimeError, match=re.escape(f"re-tracing function {where} for `jit`, but "
                                                             "'no_tracing' is set")):
                traces(2.0)
    assert float(irax.jit(_tripled)(2.0)) == 6.0
    with irax.no_execution(True):
        assert config.jax_no_execution
        for runs in (lambda: kept(2.0), lambda: jnp.sin(jnp.ones(3)), lambda: irax.jit(_tripled)(2.0)):
            with pytest.raises(RuntimeError, match="but the no_execution config option is set"):
                runs()
        assert irax.eval_shape(_tripled, 2.0).shape == () and irax.jit(_tripled).lower(1.0) is not None
    assert float(kept(2.0)) == np.float32(np.log(2.0) / 2)  # the warm call runs again
    with jax.no_execution(True), pytest.raises(RuntimeError, match="but the no_execution config option is set"):
        jax.jit(_tripled)(2.0)  # JAX's words, which irax's end with


def test_jax_s_names_and_context_managers_of_settings():
    with irax.enable_x64(True):
        assert jnp.arange(3).dtype == np.int64 and config.jax_enable_x64
    assert jnp.arange(3).dtype == np.int32
    with irax.log_compiles(True):
        assert config.irax_log_compiles
    assert not config.irax_log_compiles
    before = config.irax_platforms
    try:
        config.update("jax_platform_name", "cpu")
        assert config.irax_platforms == "cpu" and irax.default_backend() == "cpu"
    finally:
        config.update("irax_platforms", before)


def test_the_cpu_device_count_is_jax_s_and_fixed_once_the_devices_are_made():
    """jax.config.update("jax_num_cpu_devices", n) (JAX's callbacks tutorial)
    was an unknown option; after the CPU's devices are made a change would
    not apply, so it is refused as JAX refuses it."""
    child = subprocess.run([sys.executable, "-c", "import irax; irax.config.update('jax_num_cpu_devices', 3); "
                            "print(len(irax.devices('cpu')))"], capture_output=True, text=True, timeout=120)
    assert child.stdout.split() == ["3"], child.stderr
    irax.devices()
    config.update("jax_num_cpu_devices", config.irax_cpu_devices)  # the same value changes nothing
    with pytest.raises(RuntimeError, match="jax_num_cpu_devices config should be updated before the CPU's devices"):
        config.update("jax_num_cpu_devices", config.irax_cpu_devices + 1)
