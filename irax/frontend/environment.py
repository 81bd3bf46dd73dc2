"""`irax.print_environment_info`: what to paste into a bug report."""
import platform
import sys
from importlib import metadata

import numpy as np
from iree.runtime import version as iree_runtime

from irax.backends.compiler import iree_version
from irax.frontend.processes import devices, process_count
from irax.plugins.registry import default_backend, local_device_count


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def print_environment_info(return_string: bool = False) -> str | None:
    """The versions of irax, IREE, NumPy and Python, the devices and the
    platform (jax.print_environment_info): printed, or returned if
    `return_string`. IREE's are the builds loaded (the compiler's with its
    git revision), which a package's metadata may round."""
    found = devices()
    info = "\n".join([
        f"irax:          {_version('irax')}",
        f"iree compiler: {iree_version()}",
        f"iree runtime:  {iree_runtime.VERSION}",
        f"numpy:         {np.__version__}",
        f"python:        {sys.version.replace(chr(10), ' ')}",
        f"device info:   {default_backend()}-{len(found)}, {local_device_count()} local devices",
        f"process_count: {process_count()}",
        f"platform:      {platform.uname()}",
    ]) + "\n"
    if return_string:
        return info
    print(info)
    return None
