"""The metrics and access-log interceptors on a real grpc.aio server, checked by scraping ``/metrics``.

The server hosts the standard health service (unary Check, writer-API streaming Watch) and a small
probe service whose handlers end in each way an RPC can end: normally, by ``abort``, by an unexpected
exception, mid-stream, by client cancellation and by deadline. Assertions compare what the client
saw with what the server recorded, as deltas, because the registry is process-wide.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from prometheus_client.parser import text_string_to_metric_families

from nostalgia import metrics
from nostalgia.interceptors import AccessLogInterceptor, MetricsInterceptor
from nostalgia.observability import observe_animate_output
from nostalgia.v1 import nostalgia_pb2 as pb

PROBE = "nostalgia.test.Probe"
HEALTH = "grpc.health.v1.Health"
SECRET_PAYLOAD = b"\x89PNG-not-for-logs-7f3a"


async def _echo(request: bytes, context: aio.ServicerContext[Any, Any]) -> bytes:
    return request


async def _reject(request: bytes, context: aio.ServicerContext[Any, Any]) -> bytes:
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "probe rejects every request")
    raise AssertionError("abort returned")


async def _crash(request: bytes, context: aio.ServicerContext[Any, Any]) -> bytes:
    raise RuntimeError("probe handler failed")


async def _count(request: bytes, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[bytes]:
    """Streams ``int(request)`` messages, 0.2 s apart."""
    for i in range(int(request)):
        if i:
            await asyncio.sleep(0.2)
        yield str(i).encode()


async def _abort_mid_stream(request: bytes, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[bytes]:
    yield b"first"
    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "probe ran out mid-stream")


async def _endless(request: bytes, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[bytes]:
    while True:
        yield b"tick"
        await asyncio.sleep(0.05)


async def _writer(request: bytes, context: aio.ServicerContext[Any, Any]) -> None:
    for part in (b"a", b"b"):
        await context.write(part)


_PROBE_HANDLERS = {
    "Echo": grpc.unary_unary_rpc_method_handler(_echo),
    "Reject": grpc.unary_unary_rpc_method_handler(_reject),
    "Crash": grpc.unary_unary_rpc_method_handler(_crash),
    "Count": grpc.unary_stream_rpc_method_handler(_count),
    "AbortMidStream": grpc.unary_stream_rpc_method_handler(_abort_mid_stream),
    "Endless": grpc.unary_stream_rpc_method_handler(_endless),
    "Writer": grpc.unary_stream_rpc_method_handler(_writer),
}


@dataclass
class Harness:
    address: str
    metrics_url: str
    channel: grpc.Channel

    def scrape(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            text: str = response.read().decode()
        return text

    def value(self, name: str, **labels: str) -> float:
        return sample(self.scrape(), name, **labels)

    def unary(self, method: str, payload: bytes = b"", **kwargs: Any) -> bytes:
        call = self.channel.unary_unary(
            f"/{PROBE}/{method}", request_serializer=None, response_deserializer=None
        )
        result: bytes = call(payload, **kwargs)
        return result

    def stream(self, method: str, payload: bytes = b"", **kwargs: Any) -> Any:
        call = self.channel.unary_stream(
            f"/{PROBE}/{method}", request_serializer=None, response_deserializer=None
        )
        return call(payload, **kwargs)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in exposition text; 0 when the series does not exist yet."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def rpc_labels(method: str, rpc_type: str, service: str = PROBE) -> dict[str, str]:
    return {"grpc_service": service, "grpc_method": method, "grpc_type": rpc_type}


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, show: Callable[[], object] = str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in time; {show()}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="probe-grpc-loop", daemon=True)
    thread.start()

    async def start() -> tuple[aio.Server, int]:
        server = aio.server(interceptors=[MetricsInterceptor(), AccessLogInterceptor()])
        health_pb2_grpc.add_HealthServicer_to_server(HealthServicer(), server)
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(PROBE, _PROBE_HANDLERS)])
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return server, port

    server, port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    metrics_server = metrics.start_metrics_server(0, host="127.0.0.1")
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Harness(f"127.0.0.1:{port}", f"http://127.0.0.1:{metrics_server.port}/metrics", channel)
    finally:
        channel.close()
        metrics_server.close()
        stopped: Future[None] = asyncio.run_coroutine_threadsafe(server.stop(None), loop)
        stopped.result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_metrics_server_binds_requested_port_zero_and_serves_process_metrics(harness: Harness) -> None:
    text = harness.scrape()
    assert harness.metrics_url.rsplit(":", 1)[1] != "0/metrics"
    names = {f.name for f in text_string_to_metric_families(text)}
    assert "process_cpu_seconds" in names
    assert "process_resident_memory_bytes" in names
    # Every stage series exists before any request, so dashboards show zeros rather than no data.
    for stage in metrics.STAGES:
        assert f'nostalgia_stage_duration_seconds_count{{stage="{stage}"}}' in text


def test_unary_ok_counts_started_handled_and_latency(harness: Harness) -> None:
    labels = rpc_labels("Check", "unary", service=HEALTH)
    before = harness.scrape()
    stub = health_pb2_grpc.HealthStub(harness.channel)
    response = stub.Check(health_pb2.HealthCheckRequest(service=""))
    assert response.status == health_pb2.HealthCheckResponse.SERVING
    after = harness.scrape()
    started = "nostalgia_grpc_server_started_total"
    assert sample(after, started, **labels) - sample(before, started, **labels) == 1
    handled = "nostalgia_grpc_server_handled_total"
    assert (
        sample(after, handled, **labels, grpc_code="OK") - sample(before, handled, **labels, grpc_code="OK")
        == 1
    )
    count = "nostalgia_grpc_server_handling_seconds_count"
    assert sample(after, count, **labels) - sample(before, count, **labels) == 1
    assert sample(after, "nostalgia_grpc_server_in_flight", **labels) == 0


@pytest.mark.parametrize(
    ("method", "expected"),
    [("Reject", grpc.StatusCode.INVALID_ARGUMENT), ("Crash", grpc.StatusCode.UNKNOWN)],
)
def test_unary_failures_are_counted_with_the_code_the_client_saw(
    harness: Harness, method: str, expected: grpc.StatusCode
) -> None:
    labels = rpc_labels(method, "unary")
    before = harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code=expected.name)
    with pytest.raises(grpc.RpcError) as raised:
        harness.unary(method)
    assert raised.value.code() == expected
    after = harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code=expected.name)
    assert after - before == 1


def test_abort_from_health_service_is_recorded_as_not_found(harness: Harness) -> None:
    labels = rpc_labels("Check", "unary", service=HEALTH)
    before = harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code="NOT_FOUND")
    with pytest.raises(grpc.RpcError) as raised:
        health_pb2_grpc.HealthStub(harness.channel).Check(
            health_pb2.HealthCheckRequest(service="no.such.Service")
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    # The interceptor records the call once the status has gone out, so the caller can be first.
    wait_for(
        lambda: (
            harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code="NOT_FOUND") - before
            >= 1
        )
    )
    after = harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code="NOT_FOUND")
    assert after - before == 1


def test_stream_latency_is_recorded_after_the_last_message(harness: Harness) -> None:
    labels = rpc_labels("Count", "server_stream")
    sum_before = harness.value("nostalgia_grpc_server_handling_seconds_sum", **labels)
    count_before = harness.value("nostalgia_grpc_server_handling_seconds_count", **labels)
    responses = harness.stream("Count", b"4")
    assert next(responses) == b"0"
    # The stream is open: counted in flight and not yet in the latency histogram.
    assert harness.value("nostalgia_grpc_server_in_flight", **labels) == 1
    assert harness.value("nostalgia_grpc_server_handling_seconds_count", **labels) == count_before
    assert [*responses] == [b"1", b"2", b"3"]
    wait_for(
        lambda: harness.value("nostalgia_grpc_server_handling_seconds_count", **labels) == count_before + 1
    )
    # Three 0.2 s gaps between four messages: the recorded duration spans the whole stream.
    assert harness.value("nostalgia_grpc_server_handling_seconds_sum", **labels) - sum_before >= 0.6
    assert harness.value("nostalgia_grpc_server_in_flight", **labels) == 0
    assert harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code="OK") >= 1


def test_abort_mid_stream_is_recorded_with_its_code(harness: Harness) -> None:
    labels = rpc_labels("AbortMidStream", "server_stream")
    responses = harness.stream("AbortMidStream")
    assert next(responses) == b"first"
    with pytest.raises(grpc.RpcError) as raised:
        next(responses)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    wait_for(
        lambda: (
            harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code="RESOURCE_EXHAUSTED")
            == 1
        )
    )
    assert harness.value("nostalgia_grpc_server_in_flight", **labels) == 0


def test_writer_api_stream_is_observed(harness: Harness) -> None:
    labels = rpc_labels("Writer", "server_stream")
    before = harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code="OK")
    assert [*harness.stream("Writer")] == [b"a", b"b"]
    wait_for(
        lambda: harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code="OK") == before + 1
    )


def test_client_cancel_of_a_watch_is_recorded_as_cancelled(harness: Harness) -> None:
    labels = rpc_labels("Watch", "server_stream", service=HEALTH)
    before = harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code="CANCELLED")
    watch = health_pb2_grpc.HealthStub(harness.channel).Watch(health_pb2.HealthCheckRequest(service=""))
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    assert harness.value("nostalgia_grpc_server_in_flight", **labels) == 1
    watch.cancel()
    wait_for(
        lambda: (
            harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code="CANCELLED")
            == before + 1
        )
    )
    assert harness.value("nostalgia_grpc_server_in_flight", **labels) == 0


def test_deadline_on_an_endless_stream_is_recorded_as_deadline_exceeded(harness: Harness) -> None:
    labels = rpc_labels("Endless", "server_stream")
    with pytest.raises(grpc.RpcError) as raised:
        for _ in harness.stream("Endless", timeout=0.5):
            pass
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_for(
        lambda: (
            harness.value("nostalgia_grpc_server_handled_total", **labels, grpc_code="DEADLINE_EXCEEDED") == 1
        ),
        show=lambda: [line for line in harness.scrape().splitlines() if 'grpc_method="Endless"' in line],
    )
    assert harness.value("nostalgia_grpc_server_in_flight", **labels) == 0


def test_access_log_has_one_line_per_rpc_without_payload(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="nostalgia.access")
    assert harness.unary("Echo", SECRET_PAYLOAD, metadata=(("x-request-id", "req-42"),)) == SECRET_PAYLOAD
    with pytest.raises(grpc.RpcError):
        harness.unary("Crash", SECRET_PAYLOAD)
    wait_for(lambda: len([r for r in caplog.records if r.name == "nostalgia.access"]) >= 2)
    records = [r for r in caplog.records if r.name == "nostalgia.access"]
    assert len(records) == 2
    echo, crash = records
    assert echo.levelno == logging.INFO
    assert echo.rpc_method == f"/{PROBE}/Echo"  # type: ignore[attr-defined]
    assert echo.rpc_code == "OK"  # type: ignore[attr-defined]
    assert echo.rpc_request_id == "req-42"  # type: ignore[attr-defined]
    assert echo.rpc_peer.startswith("ipv4:127.0.0.1:")  # type: ignore[attr-defined]
    assert "request_id=req-42" in echo.getMessage()
    assert "duration_ms=" in echo.getMessage()
    assert crash.levelno == logging.WARNING
    assert "code=UNKNOWN" in crash.getMessage()
    assert crash.rpc_request_id is None  # type: ignore[attr-defined]
    for record in records:
        assert "PNG-not-for-logs" not in record.getMessage()


def test_stage_ttff_stream_and_triton_helpers(harness: Harness) -> None:
    before = harness.scrape()
    metrics.observe_stage("motion", 0.25)
    with metrics.time_stage("encode"):
        time.sleep(0.01)
    metrics.observe_time_to_first_frame(0.4)
    metrics.count_streamed(frames=3, nbytes=1000, output_format="JPEG")
    metrics.count_streamed(frames=0, nbytes=24, output_format="mp4")
    with metrics.triton_call("probe_model"):
        pass
    with pytest.raises(ConnectionError), metrics.triton_call("probe_model"):
        raise ConnectionError("triton went away")
    with pytest.raises(ValueError, match="non-negative"):
        metrics.count_streamed(frames=-1, nbytes=0, output_format="jpeg")
    after = harness.scrape()

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("nostalgia_stage_duration_seconds_count", stage="motion") == 1
    assert delta("nostalgia_stage_duration_seconds_sum", stage="motion") == pytest.approx(0.25)
    assert delta("nostalgia_stage_duration_seconds_sum", stage="encode") >= 0.01
    assert delta("nostalgia_time_to_first_frame_seconds_count") == 1
    assert delta("nostalgia_frames_streamed_total", format="jpeg") == 3
    assert delta("nostalgia_bytes_streamed_total", format="jpeg") == 1000
    assert delta("nostalgia_bytes_streamed_total", format="mp4") == 24
    assert delta("nostalgia_triton_request_duration_seconds_count", model="probe_model") == 2
    assert delta("nostalgia_triton_request_errors_total", model="probe_model") == 1


def test_animate_output_observer_counts_container_frames_once(harness: Harness) -> None:
    """Container chunks report cumulative complete frames; each frame is counted once, TTFF once."""
    stream = [
        pb.AnimateResponse(metadata=pb.AnimateMetadata(format=pb.OUTPUT_FORMAT_MP4, frame_count=5)),
        pb.AnimateResponse(chunk=pb.ContainerChunk(sequence=0, data=b"h" * 40, frames_complete=0)),
        pb.AnimateResponse(chunk=pb.ContainerChunk(sequence=1, data=b"f" * 300, frames_complete=3)),
        pb.AnimateResponse(chunk=pb.ContainerChunk(sequence=2, data=b"f" * 200, frames_complete=5)),
        pb.AnimateResponse(summary=pb.AnimateSummary(frames=5, bytes=540)),
    ]

    async def source() -> AsyncIterator[pb.AnimateResponse]:
        for response in stream:
            await asyncio.sleep(0.01)
            yield response

    async def consume() -> list[pb.AnimateResponse]:
        return [r async for r in observe_animate_output(source())]

    before = harness.scrape()
    assert asyncio.run(consume()) == stream
    after = harness.scrape()

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("nostalgia_frames_streamed_total", format="mp4") == 5
    assert delta("nostalgia_bytes_streamed_total", format="mp4") == 540
    assert delta("nostalgia_time_to_first_frame_seconds_count") == 1
    # The header chunk completes no frame: the first frame arrives with the second chunk (~3 sleeps).
    assert delta("nostalgia_time_to_first_frame_seconds_sum") >= 0.03
