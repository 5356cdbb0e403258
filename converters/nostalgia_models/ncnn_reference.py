"""Run the original ncnn files with the ``ncnn`` package, as the reference our conversions are held to.

Used by the fidelity tests and the benchmark only (``ncnn`` is a dev dependency). The
runtime is set to plain fp32 on the CPU (no fp16/bf16 storage or arithmetic, no Vulkan) so
that differences from our TorchScript rebuild measure the conversion, not ncnn's
reduced-precision fast paths.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from .realesrgan import ncnn_files

__all__ = ["NcnnUpscaler"]


class NcnnUpscaler:
    """One loaded ncnn network: ``run(rgb uint8 [h, w, 3]) -> float32 RGB [4h, 4w, 3]`` in [0, 255].

    The float output is left unrounded so callers can apply exactly the rounding they compare.
    """

    def __init__(self, stem: str, threads: int = 1) -> None:
        import ncnn  # dev-only dependency, imported where it is needed

        self._ncnn: Any = ncnn
        self._threads = threads
        param, weights = ncnn_files(stem)
        self._net: Any = ncnn.Net()
        opt = self._net.opt
        opt.use_vulkan_compute = False
        opt.use_fp16_storage = False
        opt.use_fp16_packed = False
        opt.use_fp16_arithmetic = False
        opt.use_bf16_storage = False
        opt.use_bf16_packed = False
        opt.num_threads = threads
        with tempfile.TemporaryDirectory() as tmp:
            # ncnn reads the weights from a path; the param text goes in from memory.
            path = Path(tmp) / "model.bin"
            path.write_bytes(weights)
            if self._net.load_param_mem(param) != 0 or self._net.load_model(str(path)) != 0:
                raise RuntimeError(f"ncnn could not load {stem}")

    def run(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected uint8 [h, w, 3], got {rgb.dtype} {rgb.shape}")
        chw = np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)
        with self._net.create_extractor() as ex:
            ex.set_light_mode(True)
            ex.input("data", self._ncnn.Mat(chw))
            ret, out = ex.extract("output")
        if ret != 0:
            raise RuntimeError(f"ncnn extract failed with {ret}")
        result = np.array(out, dtype=np.float32).transpose(1, 2, 0) * np.float32(255.0)
        return np.ascontiguousarray(result)

    def close(self) -> None:
        self._net.clear()

    def __enter__(self) -> NcnnUpscaler:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
