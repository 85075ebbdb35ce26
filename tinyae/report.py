"""Renamed: the console tables are in ``tinyae.console`` (this name stays for old imports)."""
import warnings

from .console import format_table, make_stdout_safe  # noqa: F401

warnings.warn("tinyae.report is now tinyae.console (import format_table from there)",
              DeprecationWarning, stacklevel=2)
