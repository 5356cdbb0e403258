"""Triton python backend for ``upscaler_fast``: the TorchScript upscaler built by ``make models``.

Requests the dynamic batcher gathers all carry tiles of one size (it only merges equal
shapes), but they are grouped by shape anyway so a mixed set can never fail a concatenate.
"""

import os
from pathlib import Path

import numpy as np
import torch
import triton_python_backend_utils as pb_utils

MODEL_FILE = "upscaler_fast.pt"


class TritonPythonModel:
    def initialize(self, args):
        self.device = torch.device(
            f"cuda:{args['model_instance_device_id']}" if args["model_instance_kind"] == "GPU" else "cpu"
        )
        torch.set_num_threads(int(os.environ.get("NOSTALGIA_TORCH_THREADS", os.cpu_count() or 1)))
        if self.device.type == "cuda":
            # Tiles of one size repeat, so autotuning the convolutions once pays off.
            torch.backends.cudnn.benchmark = True
        self.model = torch.jit.load(str(Path(__file__).parent / MODEL_FILE), map_location=self.device).eval()
        # TorchScript profiles and optimises a graph on its first calls; pay that at load, on a small tile.
        with torch.inference_mode():
            for _ in range(2):
                self.model(torch.zeros(1, 16, 16, 3, dtype=torch.uint8, device=self.device))

    def execute(self, requests):
        tiles = [pb_utils.get_input_tensor_by_name(r, "IMAGE").as_numpy() for r in requests]
        outputs = [None] * len(requests)
        groups = {}
        for index, batch in enumerate(tiles):
            groups.setdefault(batch.shape[1:], []).append(index)
        with torch.inference_mode():
            for indices in groups.values():
                batch = np.ascontiguousarray(np.concatenate([tiles[i] for i in indices]))
                result = self.model(torch.from_numpy(batch).to(self.device)).cpu().numpy()
                start = 0
                for i in indices:
                    outputs[i] = result[start : start + len(tiles[i])]
                    start += len(tiles[i])
        return [
            pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("IMAGE_X4", np.ascontiguousarray(out))])
            for out in outputs
        ]
