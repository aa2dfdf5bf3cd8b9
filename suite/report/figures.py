"""Plots every report writes the same way: PNG and SVG, atomically, with nothing that changes between runs."""

from __future__ import annotations

from pathlib import Path

from kdsuite import store


def save_figure(fig, stem: Path) -> None:
    """`stem`.png and `stem`.svg, atomically; no creation date and fixed SVG ids, so the same plot gives the
    same files."""
    import matplotlib
    import matplotlib.pyplot as plt

    for ext in ("png", "svg"):
        with matplotlib.rc_context({"svg.hashsalt": "kdsuite"}), store.atomic_path(f"{stem}.{ext}") as tmp:
            fig.savefig(tmp, format=ext, dpi=120, metadata={"Date": None} if ext == "svg" else None)
    plt.close(fig)


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
