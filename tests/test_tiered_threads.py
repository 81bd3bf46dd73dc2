"""Tiered jit's background compiles (irax/frontend/tiered.py): programs met
together compile on several threads at once, where there are cores for them."""
import threading

import numpy as np

import irax
import irax.numpy as jnp
from irax.backends import cache
from irax.config import config
from irax.frontend import tiered

X = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)


def test_compiles_waiting_together_run_on_two_threads_at_once(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "irax_tiered_jit", True)
    monkeypatch.setattr(config, "irax_disable_cache", False)
    monkeypatch.setattr(config, "irax_cache_dir", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_memory", cache.LRU())  # as in a fresh process
    monkeypatch.setattr(tiered, "COMPILE_THREADS", 2)
    together = threading.Barrier(2, timeout=60)  # passed only by two compiles running at once
    compile_ = cache.cached_compile

    def meeting_compile(*args, **kwargs):
        if threading.current_thread().name == "irax-tiered-jit":
            together.wait()
        return compile_(*args, **kwargs)

    monkeypatch.setattr(cache, "cached_compile", meeting_compile)
    f, g = irax.jit(lambda x: jnp.sin(x) * 3), irax.jit(lambda x: jnp.cos(x) + 2)
    firsts = f(X), g(X)  # tier 1, while both compile
    tiered.wait()
    assert not together.broken
    for first, then, want in zip(firsts, (f(X), g(X)), (np.sin(X) * 3, np.cos(X) + 2)):
        np.testing.assert_allclose(first, want, rtol=1e-6)
        np.testing.assert_allclose(then, want, rtol=1e-6)
    assert len(tiered._threads) >= 2
