"""Triton python backend for ``face_detector``: the TorchScript BlazeFace built by ``make models``.

Requests gathered by the dynamic batcher are concatenated into one forward pass, then split.
"""

import os
from pathlib import Path

import numpy as np
import torch
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.device = torch.device(
            f"cuda:{args['model_instance_device_id']}" if args["model_instance_kind"] == "GPU" else "cpu"
        )
        torch.set_num_threads(int(os.environ.get("NOSTALGIA_TORCH_THREADS", os.cpu_count() or 1)))
        path = Path(__file__).parent / "face_detector.pt"
        self.model = torch.jit.load(str(path), map_location=self.device).eval()
        # TorchScript profiles and optimises a graph on its first calls (a second or more on a CPU, in
        # the first request): pay that at load, before Triton reports the model ready.
        with torch.inference_mode():
            for _ in range(2):
                self.model(torch.zeros(1, 128, 128, 3, dtype=torch.uint8, device=self.device))

    def execute(self, requests):
        images = [pb_utils.get_input_tensor_by_name(r, "IMAGE").as_numpy() for r in requests]
        sizes = [len(i) for i in images]
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(np.concatenate(images))).to(self.device)
            detections = self.model(batch).cpu().numpy()
        responses = []
        start = 0
        for size in sizes:
            out = pb_utils.Tensor("DETECTIONS", np.ascontiguousarray(detections[start : start + size]))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
            start += size
        return responses
