# syntax=docker/dockerfile:1.7
# Two images from one file:
#   docker build --target gateway -t nostalgia-gateway .   the gRPC gateway (no torch, no GPU)
#   docker build --target triton  -t nostalgia-triton  .   NGC Triton with torch and the built models
# The models are converted inside the build from the pinned, sha256-checked weight wheels
# (network needed at build time only); nothing is downloaded when a container runs.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# Triton 2.51 (NGC 24.10) is the release the embedded server is verified with.
ARG TRITON_IMAGE=nvcr.io/nvidia/tritonserver:24.10-py3

# ---------------------------------------------------------------------------------------------
# models: convert the pinned weights to TorchScript (CPU is enough; the files are device-neutral).
FROM ${PYTHON_IMAGE} AS models
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 NOSTALGIA_CACHE=/build/.cache
WORKDIR /build
COPY requirements/ requirements/
# Only what the converters import: numpy and torch at the runtime pins, the pure-Python tflite reader.
RUN grep -hE '^(numpy|torch|tflite)==' requirements/runtime.txt requirements/dev.txt > /tmp/models.txt \
 && pip install --no-cache-dir -r /tmp/models.txt
COPY converters/ converters/
COPY model_repository/ model_repository/
RUN PYTHONPATH=converters python -m nostalgia_models --repository model_repository \
 && find model_repository -name '__pycache__' -prune -exec rm -rf {} +

# ---------------------------------------------------------------------------------------------
# gateway: the grpc.aio service. It never imports torch, so the image carries neither torch nor Triton.
FROM ${PYTHON_IMAGE} AS gateway
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements/runtime.txt requirements/runtime.txt
RUN grep -vE '^(torch|nvidia-pytriton)==' requirements/runtime.txt > /tmp/gateway.txt \
 && pip install --no-cache-dir -r /tmp/gateway.txt
COPY pyproject.toml README.md ./
COPY protos/ protos/
COPY service/ service/
COPY clients/ clients/
COPY converters/ converters/
RUN pip install --no-cache-dir --no-deps . \
 && useradd --system --uid 10001 --no-create-home nostalgia
USER 10001
# gRPC API, Prometheus /metrics.
EXPOSE 50051 9464
# A container never starts the embedded Triton: it talks to the Triton service (override per deployment).
ENV NOSTALGIA_HOST=0.0.0.0 NOSTALGIA_PORT=50051 NOSTALGIA_METRICS_PORT=9464 NOSTALGIA_LOG_FORMAT=json \
    NOSTALGIA_TRITON_URL=triton:8001
ENTRYPOINT ["python", "-m", "nostalgia"]

# ---------------------------------------------------------------------------------------------
# triton: NGC Triton, python backend, torch for the TorchScript models, numpy<2 (Triton 2.51's
# python backend returns empty tensors with numpy 2).
FROM ${TRITON_IMAGE} AS triton
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
COPY requirements/runtime.txt /tmp/runtime.txt
RUN grep -hE '^(numpy|torch)==' /tmp/runtime.txt > /tmp/triton.txt \
 && pip install --no-cache-dir -r /tmp/triton.txt \
 && python3 -c "import numpy, torch; assert numpy.__version__.startswith('1.'), numpy.__version__"
COPY --from=models /build/model_repository /models
# glibc keeps large freed blocks for the next request instead of faulting them in again
# (about 1.5x faster motion on CPU), and idle OpenMP threads sleep rather than spin on cores
# others need; the same values the embedded server gets.
ENV MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=536870912 OMP_WAIT_POLICY=PASSIVE
# HTTP, gRPC, Prometheus metrics.
EXPOSE 8000 8001 8002
ENTRYPOINT ["tritonserver"]
CMD ["--model-repository=/models", "--allow-metrics=true", "--allow-cpu-metrics=true", "--allow-gpu-metrics=true", "--metrics-port=8002", "--exit-on-error=true"]
