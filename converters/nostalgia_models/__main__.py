"""``python -m nostalgia_models [--repository DIR] [--force] [MODEL ...]``: build TorchScript files.

Idempotent: a model whose files exist and are newer than its builder's sources is skipped,
so ``make models`` is cheap when nothing changed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from .registry import BUILDERS, builder

_LOG = logging.getLogger("nostalgia_models")


def _sources_mtime() -> float:
    return max(p.stat().st_mtime for p in Path(__file__).parent.rglob("*.py"))


def _up_to_date(repository: Path, name: str) -> bool:
    built = list((repository / name / "1").glob("*.pt"))
    return bool(built) and min(p.stat().st_mtime for p in built) > _sources_mtime()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nostalgia_models", description=__doc__)
    parser.add_argument("models", nargs="*", help="models to build (default: all)")
    parser.add_argument(
        "--repository", type=Path, default=Path(__file__).resolve().parents[2] / "model_repository"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    names = args.models or list(BUILDERS)
    for name in names:
        if not args.force and name in BUILDERS and _up_to_date(args.repository, name):
            _LOG.info("%s: up to date", name)
            continue
        start = time.perf_counter()
        written = builder(name)(args.repository)
        _LOG.info(
            "%s: built %s in %.1fs", name, ", ".join(str(p) for p in written), time.perf_counter() - start
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
