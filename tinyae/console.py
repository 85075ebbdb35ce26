"""Plain text for the console: aligned tables that are also valid Markdown, and a stdout that survives ✓, z̄ and ‖ on consoles that cannot print them."""
import sys
import unicodedata

import numpy

def format_table(rows, headers, fmt=".4g"):
    """rows (a list of sequences, one per line) under ``headers`` as aligned columns, also a
    valid Markdown table: floats get ``fmt`` (or one format per column), None is shown as "—",
    columns of numbers are right-aligned so that digits line up. A "|" inside a header or a
    cell (|x|, |cos|) would end the Markdown cell: it is written as "∣" (U+2223), which looks
    the same."""
    rows = [list(r) for r in rows]
    headers = [_bar_safe(h) for h in headers]
    fmts = [fmt] * len(headers) if isinstance(fmt, str) else list(fmt)
    if len(fmts) != len(headers):
        raise ValueError(f"table: {len(fmts)} formats for {len(headers)} columns; give "
                         "one format string, or one per column")
    for i, r in enumerate(rows):
        if len(r) != len(headers):
            raise ValueError(f"table: row {i} has {len(r)} cells but there are "
                             f"{len(headers)} headers ({headers}); give one cell per column")
    cells = [[_bar_safe(_format_cell(v, f)) for v, f in zip(r, fmts)] for r in rows]
    widths = [max([_width(h)] + [_width(r[j]) for r in cells]) for j, h in enumerate(headers)]
    # A column of numbers (None = missing, shown as —) is right-aligned, so digits line up.
    numeric = [bool(rows) and all(_is_number(r[j]) or r[j] is None for r in rows)
               for j in range(len(headers))]

    def line(items):
        return "| " + " | ".join(_pad(s, w, num)
                                 for s, w, num in zip(items, widths, numeric)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if num else "-" * (w + 2)
                          for w, num in zip(widths, numeric)) + "|"
    return "\n".join([line(headers), rule] + [line(r) for r in cells])


def _bar_safe(text):
    """A table cell's text with every "|" written as "∣", so the Markdown table stays whole."""
    return str(text).replace("|", "\u2223")


def _width(text):
    """Columns a string takes on screen: combining marks (the bar of z̄) take none."""
    return sum(not unicodedata.combining(c) for c in text)


def _pad(text, width, right):
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


def _is_number(value):
    return isinstance(value, (int, float, numpy.number)) and not isinstance(value, bool)


def _format_cell(value, fmt):
    """Numbers get ``fmt`` (e.g. '.4g'); everything else is shown as it is."""
    if isinstance(value, (bool, numpy.bool_)):
        return str(bool(value))
    if isinstance(value, (int, numpy.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, numpy.floating)):
        return format(float(value), fmt)
    if value is None:
        return "—"
    return str(value)


def make_stdout_safe():
    """On a console that cannot print ✓, ū or ‖ (e.g. cp1252) replace them instead of crashing."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        "✓ ȳ ‖∇E‖ ═".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(errors="replace")
