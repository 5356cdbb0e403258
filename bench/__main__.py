"""Run the benchmarks: every ``bench.<module>`` with a ``main(argv) -> int``, or the ones named.

Modules whose name starts with ``_`` are helpers; a module that sets ``RUN_BY_DEFAULT = False``
(a long quality harness, say) runs only when named.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Run the named benchmark modules (all default ones when none is named); return the worst status."""
    # Leading words name modules; everything from the first option on is passed to each module.
    split = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names, options = argv[:split], argv[split:]
    if not names:
        names = [
            m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_")
        ]
        names = [
            n for n in sorted(names) if getattr(importlib.import_module(f"bench.{n}"), "RUN_BY_DEFAULT", True)
        ]
    status = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        entry = getattr(module, "main", None)
        if entry is None:
            continue
        print(f"== bench.{name}", flush=True)
        status = max(status, int(entry(options)))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
