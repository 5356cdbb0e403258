"""Every query of the Grafana dashboard returns data from a real Prometheus scraping the live stack.

A Prometheus server (the system ``prometheus`` binary) runs on loopback with its own storage and
a config rendered from deploy/prometheus/prometheus.yml, its targets pointed at a real gateway and
the real embedded Triton. After two rounds of real traffic (so counters have moved between
scrapes), each panel target's PromQL is evaluated through the HTTP API exactly as Grafana would
send it, with ``$__rate_interval`` made concrete, and must return at least one finite sample.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nostalgia.config import Settings
from nostalgia.local import BackgroundGateway, start_gateway
from nostalgia.triton import EmbeddedTriton
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "nostalgia.json"
GATEWAY_JOB, TRITON_JOB = "nostalgia-gateway", "triton"
# What Grafana's variables stand for in this test: a window that holds both traffic rounds.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1s", "$__range": "5m"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body: bytes = response.read()
        return body


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


@dataclass
class Prometheus:
    url: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        params = urllib.parse.urlencode({"query": expr, "time": f"{time.time():.3f}"})
        body = json.loads(http_get(f"{self.url}/api/v1/query?{params}"))
        assert body["status"] == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def scalar(self, expr: str) -> float:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else math.nan


def render_config(gateway_target: str, triton_target: str) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with loopback targets and a 1 s scrape interval."""
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {GATEWAY_JOB, TRITON_JOB}, f"unexpected scrape jobs {sorted(jobs)}"
    jobs[GATEWAY_JOB]["static_configs"] = [{"targets": [gateway_target]}]
    jobs[TRITON_JOB]["static_configs"] = [{"targets": [triton_target]}]
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    return config


@pytest.fixture(scope="module")
def observed_gateway(gateway_settings: Settings) -> Iterator[tuple[BackgroundGateway, str]]:
    """A gateway whose metrics port is known up front, so Prometheus can be pointed at it."""
    metrics_port = free_port()
    running = start_gateway(replace(gateway_settings, metrics_port=metrics_port))
    try:
        yield running, f"127.0.0.1:{metrics_port}"
    finally:
        running.stop()


@pytest.fixture(scope="module")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory,
    observed_gateway: tuple[BackgroundGateway, str],
    triton: EmbeddedTriton,
) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("no prometheus binary: install the Debian package `prometheus` (.ci/run does)")
    workdir = tmp_path_factory.mktemp("prometheus")
    triton_target = urllib.parse.urlsplit(triton.metrics_url).netloc
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(render_config(observed_gateway[1], triton_target)))
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        wait_for("prometheus to become ready", lambda: http_get(f"{server.url}/-/ready") != b"")
        wait_for(
            "both targets to be scraped",
            lambda: server.scalar('count(up{job=~"nostalgia-gateway|triton"} == 1)') == 2,
        )
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def send_traffic(address: str, photo: bytes) -> int:
    """One full Animate, one rejected Animate and a health check; returns the frames received."""
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.NostalgiaStub(channel)  # type: ignore[no-untyped-call]
        request = pb.AnimateRequest(image=photo, duration_s=0.4, fps=10, output_size=128, seed=7)
        frames = sum(1 for r in stub.Animate(request, timeout=120) if r.WhichOneof("payload") == "frame")
        with pytest.raises(grpc.RpcError) as rejected:
            for _ in stub.Animate(pb.AnimateRequest(image=b"these bytes are not an image"), timeout=30):
                pass
        assert rejected.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    return frames


def scraped_frames(gateway_metrics: str) -> float:
    """The frame counter as the gateway reports it right now (sum over formats)."""
    text = http_get(f"http://{gateway_metrics}/metrics").decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("nostalgia_frames_streamed_total{")
    )


def dashboard_targets() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def concrete(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unsubstituted Grafana variable in {expr}"
    return expr


def test_every_dashboard_query_returns_data(
    prometheus: Prometheus,
    observed_gateway: tuple[BackgroundGateway, str],
    portraits_dir: Path,
    manifest: list[dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    gateway, gateway_metrics = observed_gateway
    photo = (portraits_dir / next(row["file"] for row in manifest if row["kind"] == "old_photo")).read_bytes()

    # Two rounds with scrapes in between, so every counter has moved inside the rate window.
    for _round in range(2):
        assert send_traffic(gateway.address, photo) == 4
        sent = scraped_frames(gateway_metrics)

        def scraped(sent: float = sent) -> bool:
            return prometheus.scalar("sum(nostalgia_frames_streamed_total)") >= sent

        wait_for("prometheus to scrape the round's frames", scraped)
    wait_for(
        "prometheus to scrape Triton's motion requests",
        lambda: prometheus.scalar('sum(nv_inference_request_success{model="motion"})') > 0,
    )
    time.sleep(2.5)  # two more scrapes: every target's latest state is in the window.

    failures = []
    report = []
    for title, expr in dashboard_targets():
        result = prometheus.query(concrete(expr))
        values = [(sample["metric"], float(sample["value"][1])) for sample in result]
        report.append(f"{title}\n  {concrete(expr)}")
        report.extend(f"    {labels or '{}'} = {value:.6g}" for labels, value in values)
        if not any(math.isfinite(value) for _, value in values):
            failures.append(f"{title}: {expr} -> {values or 'no series'}")
    with capsys.disabled():
        print("\n" + "\n".join(report))
    assert not failures, "dashboard queries without data:\n" + "\n".join(failures)

    # The figures behind the headline panels are the traffic just sent, not merely present.
    assert prometheus.scalar(concrete("sum(rate(nostalgia_frames_streamed_total[$__rate_interval]))")) > 0
    assert (
        prometheus.scalar(
            'sum(nostalgia_grpc_server_handled_total{grpc_method="Animate",grpc_code="INVALID_ARGUMENT"})'
        )
        >= 2
    )
    assert prometheus.scalar('sum(rate(nv_inference_request_success{model="motion"}[1m]))') > 0
    assert prometheus.scalar("sum(nostalgia_time_to_first_frame_seconds_count)") >= 2


def test_autoscaler_metric_query_evaluates_on_live_triton(
    prometheus: Prometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    """The prometheus-adapter rule behind the HPA, with its template filled as the adapter would."""
    manifests = yaml.safe_load_all((REPO / "deploy" / "k8s" / "autoscaling.yaml").read_text())
    adapter = next(doc for doc in manifests if doc["kind"] == "ConfigMap")
    (rule,) = yaml.safe_load(adapter["data"]["config.yaml"])["rules"]
    query = rule["metricsQuery"].replace("<<.LabelMatchers>>", f'job="{TRITON_JOB}"')
    query = query.replace("<<.GroupBy>>", "instance")
    # rate() needs two scrapes of Triton inside the window; Prometheus may have only just started.
    wait_for("the adapter query to return a series", lambda: len(prometheus.query(query)) == 1, timeout=30)
    result = prometheus.query(query)
    queue_us = float(result[0]["value"][1])
    assert math.isfinite(queue_us) and queue_us >= 0
    with capsys.disabled():
        print(f"\nautoscaler metric {rule['name']['as']} = {queue_us:.1f} us  ({query})")
