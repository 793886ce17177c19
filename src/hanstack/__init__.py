"""hanstack: a Korean-first, sovereign AI stack."""

__version__ = "0.1.0"
