"""Helpers for testing tinyae on other array modules: ``strict`` (a CPU stand-in that behaves
like a device array where ported code breaks) and ``backends`` (compare an op on two modules)."""
