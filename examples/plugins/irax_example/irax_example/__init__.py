"""Example irax plugins (docs/plugins.md): a backend (vmvx.py) and a pass
(count_ops.py). irax imports each module only when it first needs plugins."""
