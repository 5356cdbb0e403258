"""The one thing the face pipeline needs from the model server, as a structural type.

The gateway's ``TritonClient`` satisfies it; keeping the pipeline on this narrow interface
keeps the transport (deadlines, error translation, metrics) in one place and lets the
pipeline run against any object that can answer an inference call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = ["InferenceBackend"]


class InferenceBackend(Protocol):
    async def infer(
        self,
        model: str,
        inputs: Mapping[str, NDArray[np.generic]],
        outputs: Sequence[str],
        timeout_s: float | None = None,
    ) -> dict[str, NDArray[np.generic]]:
        """Run ``model`` on named input arrays and return the named outputs."""
        ...
