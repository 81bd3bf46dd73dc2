"""Settings from the environment: every IRAX_* variable that is not a name
(README's Settings table) is read strictly, as JAX reads its own, so a typo
fails with the variable's name instead of silently meaning something else.
Names (IRAX_PLATFORMS, IRAX_PASSES) are checked where they are used:
test_plugins.py."""
import subprocess
import sys

import pytest

from irax.config import Config

SWITCHES = ("IRAX_ENABLE_X64", "IRAX_DISABLE_CACHE", "IRAX_LOG_COMPILES")


@pytest.mark.parametrize("variable", SWITCHES)
def test_switches_take_jax_s_spellings(variable, monkeypatch):
    attribute = variable.lower()
    for value, meaning in (("1", True), ("TRUE", True), ("on", True), ("y", True),
                           ("0", False), ("False", False), ("off", False), ("no", False)):
        monkeypatch.setenv(variable, value)
        assert getattr(Config(), attribute) is meaning, value
    monkeypatch.delenv(variable)
    assert getattr(Config(), attribute) is False
    for value in ("maybe", "2", ""):
        monkeypatch.setenv(variable, value)
        with pytest.raises(ValueError) as error:
            Config()
        assert str(error.value) == f"invalid truth value {value!r} for environment {variable!r}"


def test_inline_bytes_is_a_number_of_bytes(monkeypatch):
    monkeypatch.setenv("IRAX_INLINE_BYTES", "1024")
    assert Config().irax_inline_bytes == 1024
    monkeypatch.delenv("IRAX_INLINE_BYTES")
    assert Config().irax_inline_bytes == 262144
    for value in ("abc", "-1", "1.5", ""):
        monkeypatch.setenv("IRAX_INLINE_BYTES", value)
        with pytest.raises(ValueError, match=rf"^invalid value {value!r} for environment 'IRAX_INLINE_BYTES': "
                                             r"expected a number of bytes, a non-negative integer such as 262144$"):
            Config()


def test_a_bad_switch_fails_import_as_jax_s_does():
    pytest.importorskip("jax")

    def import_error(module, variable):
        done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                              env={variable: "maybe"}, timeout=120)
        assert done.returncode == 1
        return done.stderr.strip().splitlines()[-1]

    jax_error = import_error("jax", "JAX_ENABLE_X64")
    assert jax_error == "ValueError: invalid truth value 'maybe' for environment 'JAX_ENABLE_X64'"
    assert import_error("irax", "IRAX_ENABLE_X64") == jax_error.replace("JAX_", "IRAX_")
