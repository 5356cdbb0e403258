"""The operational surface: standard health checks and server reflection, over real gRPC."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase


def test_health_reports_serving_while_triton_is_ready(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "nostalgia.v1.Nostalgia"):
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_unknown_service_health_is_not_found(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    try:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.NOT_FOUND
    else:
        raise AssertionError("an unknown service must not report a status")


def test_reflection_lists_and_describes_the_api(channel: grpc.Channel) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert {"nostalgia.v1.Nostalgia", "grpc.health.v1.Health"} <= services
    descriptor = database.FindFileContainingSymbol("nostalgia.v1.Nostalgia")
    assert descriptor.package == "nostalgia.v1"
    methods = {m.name for s in descriptor.service for m in s.method if s.name == "Nostalgia"}
    assert methods == {"Animate", "Enhance", "DetectFaces", "ListDrivers"}
