"""Triton python backend for ``motion``: runs the TorchScript landmark warp built by ``make models``."""

import os
from pathlib import Path

import numpy as np
import torch
import triton_python_backend_utils as pb_utils


def _warm_up(model, device):
    """Run the model at load on a made-up face, so the first request does not pay for TorchScript's
    profiling and optimisation of the graph (about a second on a CPU).

    The points are random, not a face: the frames are thrown away, and what matters is that every
    stage runs as it does for a real face (the head's spline, closing and opening lids with a smile
    and a glance, the colour pass) with a large head and a small one, which take different samplers,
    alone and with a neighbour's face held still beside it (a group photo).
    """
    generator = torch.Generator().manual_seed(0)
    controls = torch.zeros(4, 10)
    controls[:, 0] = torch.tensor([0.0, 4.0, -4.0, 2.0])  # yaw
    controls[:, 3] = controls[:, 4] = torch.tensor([1.0, 0.5, 0.0, 1.0])  # eye openness
    controls[:, 5] = torch.tensor([0.0, 0.5, 1.0, 0.0])  # smile
    controls[:, 7] = 0.3  # gaze
    image = torch.full((512, 512, 3), 128, dtype=torch.uint8, device=device)
    with torch.inference_mode():
        for spread in (220.0, 110.0):
            extent = torch.tensor([spread, 1.2 * spread, 0.3 * spread])
            corner = torch.tensor([256.0 - spread / 2, 256.0 - 0.6 * spread, 0.0])
            landmarks = torch.rand(468, 3, generator=generator) * extent + corner
            angles = torch.linspace(0.0, 6.283, 23)
            beside = torch.stack([torch.cos(angles), torch.sin(angles)], 1) * 0.1 * spread
            still = (beside + torch.tensor([256.0 + 0.8 * spread, 256.0])).clamp(0.0, 511.0)
            for _ in range(2):
                model(image, landmarks.to(device), controls.to(device))
                model(image, landmarks.to(device), controls.to(device), still.to(device))


class TritonPythonModel:
    def initialize(self, args):
        self.device = torch.device(
            f"cuda:{args['model_instance_device_id']}" if args["model_instance_kind"] == "GPU" else "cpu"
        )
        torch.set_num_threads(int(os.environ.get("NOSTALGIA_TORCH_THREADS", os.cpu_count() or 1)))
        self.model = torch.jit.load(str(Path(__file__).parent / "motion.pt"), map_location=self.device).eval()
        _warm_up(self.model, self.device)

    def execute(self, requests):
        responses = []
        for request in requests:
            image = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            landmarks = pb_utils.get_input_tensor_by_name(request, "LANDMARKS").as_numpy()
            controls = pb_utils.get_input_tensor_by_name(request, "CONTROLS").as_numpy()
            still = pb_utils.get_input_tensor_by_name(request, "STILL")
            still = None if still is None else still.as_numpy()
            clips = []
            with torch.inference_mode():
                for i in range(image.shape[0]):
                    frames = self.model(
                        torch.from_numpy(image[i]).to(self.device),
                        torch.from_numpy(landmarks[i]).to(self.device),
                        torch.from_numpy(controls[i]).to(self.device),
                        None if still is None else torch.from_numpy(still[i]).to(self.device),
                    )
                    clips.append(frames.cpu().numpy())
            # One clip per request is the rule: add the batch axis without copying 20 MB again.
            batch = clips[0][None] if len(clips) == 1 else np.stack(clips)
            out = pb_utils.Tensor("FRAMES", batch)
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
