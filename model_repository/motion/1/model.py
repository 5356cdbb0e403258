"""Triton python backend for ``motion``: runs the TorchScript landmark warp built by ``make models``."""

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
        self.model = torch.jit.load(str(Path(__file__).parent / "motion.pt"), map_location=self.device).eval()

    def execute(self, requests):
        responses = []
        for request in requests:
            image = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            landmarks = pb_utils.get_input_tensor_by_name(request, "LANDMARKS").as_numpy()
            controls = pb_utils.get_input_tensor_by_name(request, "CONTROLS").as_numpy()
            clips = []
            with torch.inference_mode():
                for i in range(image.shape[0]):
                    frames = self.model(
                        torch.from_numpy(image[i]).to(self.device),
                        torch.from_numpy(landmarks[i]).to(self.device),
                        torch.from_numpy(controls[i]).to(self.device),
                    )
                    clips.append(frames.cpu().numpy())
            # One clip per request is the rule: add the batch axis without copying 20 MB again.
            batch = clips[0][None] if len(clips) == 1 else np.stack(clips)
            out = pb_utils.Tensor("FRAMES", batch)
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
