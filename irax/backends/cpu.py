"""The CPU: IREE's llvm-cpu target tuned for this host, run on `local-task`
(a thread pool), with small calls inline on `local-sync` (see runtime.py).

IRAX_CPU_DEVICES=N splits it into N devices (for irax.pmap, as JAX's
--xla_force_host_platform_device_count): N `local-task` devices of one
driver, each with its own queue, timeline and inline twin. IREE's Python API
caches one driver per process, and the driver owns the task executor, so the
N devices share one pool of worker threads; IRAX_CPU_WORKERS sizes that pool
(IREE's process-wide `--task_topology_group_count` flag, which counts when
the driver is made, so both settings are read once, at the first device).
IREE pins each worker to a core of its own choosing, outside any CPU mask
the process was started with (taskset, `mpiexec -bind-to core`, a batch
system's binding), so a process with such a mask names its cores to IREE.
"""
import os

import iree.runtime as rt

from irax.backends import cpu_prepare, cpu_tiles
from irax.backends.iree_backend import IreeBackend
from irax.config import config


class CpuBackend(IreeBackend):
    def get_driver(self):
        for flag in _topology_flags(config.irax_cpu_workers):
            rt.flags.parse_flags(flag)
        config.fix("irax_cpu_workers", "the CPU's runtime driver is made")
        return super().get_driver()

    def device_infos(self, driver) -> list:
        config.fix("irax_cpu_devices", "the CPU's devices are made")
        return driver.query_available_devices()[:1] * config.irax_cpu_devices


def _topology_flags(workers: int) -> list[str]:
    """IREE's flags for `workers` worker threads (0: one per core) within
    the cores this process may run on: a worker per allowed core, in turn."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(allowed) in (0, os.cpu_count()):
        return [f"--task_topology_group_count={workers}"] if workers else []
    cores = [allowed[i % len(allowed)] for i in range(workers or len(allowed))]
    return ["--task_topology_cpu_ids=" + ",".join(map(str, cores))]


backend = CpuBackend(
    "cpu",
    target_backend="llvm-cpu",
    driver="local-task",
    inline_driver="local-sync",
    # IREE narrows f64 to f32 by default; irax's 64-bit mode needs real f64.
    # Data tiling packs matmul operands into the tiles the kernels read
    # (mmt4d): ~4x faster float matmuls, ~1.3x the MLP training step. Its
    # global-optimization path packs and unpacks in dispatches of their own;
    # the newer dispatch-creation path (--iree-opt-data-tiling) fuses them
    # into the matmuls and then fails on a matmul whose fused consumer has two
    # results ("large vector sizes": IREE 3.13 tiles only one of the unpacks).
    # Small products skip it, and 2-D f32 convolutions get register tiles
    # that fit their shapes (cpu_tiles.py, a step of the prepare step,
    # cpu_prepare.py). Convolutions stay direct: im2col
    # (--iree-global-opt-use-im2col-for-convs) writes the whole patch
    # matrix and its product is not data-tiled, ~2-5x slower
    # than the tiled direct code (cpu_tiles.py's table). Big f32 products
    # on AVX-512 come packed already, with tiles of cpu_tiles.py's own,
    # compiled rather than handed to IREE's microkernel (its flags).
    compile_flags=["--iree-llvmcpu-target-cpu=host", "--iree-input-demote-f64-to-f32=false",
                   "--iree-global-opt-data-tiling", *cpu_tiles.compile_flags()],
    prepare=cpu_prepare.prepare,
    prepare_settings=cpu_prepare.SETTINGS,
    priority=0,
)
