"""innr: a neural network stored as an implicit neural representation of itself."""

__version__ = "0.1.0"
