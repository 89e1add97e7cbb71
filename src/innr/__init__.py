"""innr: a neural network stored as an implicit neural representation of itself.

The public API (innr.api), loaded on first use so that `import innr.config` stays light:
    innr.compress(model, innr.VariantConfig(), budget=0.5) -> innr.INNR
    innr.INNR.save(path), innr.load(path), innr.INNR.rebuild() -> state_dict
    innr.INNRFileError: a file innr.load cannot read, named in the message
"""

__version__ = "0.1.0"
__all__ = ["INNR", "INNRFileError", "VariantConfig", "compress", "load"]


def __getattr__(name: str):
    if name in ("INNR", "INNRFileError", "compress", "load"):
        from innr import api

        return getattr(api, name)
    if name == "VariantConfig":
        from innr.config import VariantConfig

        return VariantConfig
    raise AttributeError(f"module 'innr' has no attribute {name!r}")
