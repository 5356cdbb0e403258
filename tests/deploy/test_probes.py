"""The gRPC health names the Kubernetes probes ask for, answered by the live gateway."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nostalgia import health

SERVING = health_pb2.HealthCheckResponse.SERVING


def test_readiness_and_liveness_services_are_serving(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    # Readiness (no service name) follows Triton, which the session fixture keeps running.
    assert stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status == SERVING
    assert (
        stub.Check(health_pb2.HealthCheckRequest(service=health.LIVENESS_SERVICE), timeout=10).status
        == SERVING
    )
