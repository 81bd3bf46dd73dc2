"""Example irax plugins (docs/plugins.md): a backend that is one IreeBackend
(vmvx.py), one that implements the protocols itself (sync_cpu.py), and a pass
(count_ops.py). irax imports each module only when it first needs plugins."""
