"""Peak resident memory of processes, read from /proc (Linux), for benchmark reports."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["peak_rss_mib", "tree_pids"]


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants (Triton's python-backend stubs are its children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def peak_rss_mib(pid: int | None = None, tree: bool = False) -> float:
    """Peak RSS (VmHWM) in MiB of ``pid`` (default: this process), summed over its tree if asked."""
    pids = tree_pids(pid or os.getpid()) if tree else [pid or os.getpid()]
    total_kib = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024
