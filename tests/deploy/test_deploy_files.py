"""Static checks of the deployment files: Dockerfile, compose, Kubernetes, Prometheus and Grafana.

No Docker engine or cluster is needed: hadolint lints the Dockerfile, kubernetes-validate checks
the manifests against the Kubernetes schemas, promtool checks the Prometheus configs, and the
cross-references between files (ports, service names, setting names, datasource uids, metric
names) are checked here, because each file being valid alone does not make the stack work.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from nostalgia import health, metrics
from nostalgia.config import Settings
from nostalgia.triton.embedded import RUNTIME_ENV

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
BIN = Path(sys.executable).parent
SETTING_VARIABLES = {f"NOSTALGIA_{f.name.upper()}" for f in fields(Settings)}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def k8s_documents() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    for doc in k8s_documents():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind}/{name} in {K8S}")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_dockerfile_passes_hadolint() -> None:
    result = run(str(BIN / "hadolint"), "--failure-threshold", "info", str(REPO / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_the_gateway_and_an_ngc_triton_image() -> None:
    text = (REPO / "Dockerfile").read_text()
    stages = {
        name: image for image, name in re.findall(r"^FROM\s+(\S+)\s+AS\s+(\S+)$", text, flags=re.MULTILINE)
    }
    assert set(stages) == {"models", "gateway", "triton"}
    triton_image = re.search(r"^ARG TRITON_IMAGE=(\S+)$", text, flags=re.MULTILINE)
    assert triton_image and re.fullmatch(r"nvcr\.io/nvidia/tritonserver:\d{2}\.\d{2}-py3", triton_image[1])
    # The Triton image installs numpy and torch at the runtime pins, and numpy must stay below 2.
    runtime = (REPO / "requirements" / "runtime.txt").read_text()
    assert re.search(r"^numpy==1\.", runtime, flags=re.MULTILINE)
    assert "--from=models /build/model_repository /models" in text
    # The gateway image must not carry torch: the gateway never imports it.
    assert "grep -vE '^(torch|nvidia-pytriton)=='" in text


def test_every_triton_deployment_gets_the_embedded_servers_allocator_settings() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    triton_stage = dockerfile[dockerfile.index("AS triton") :]
    configmap = next(
        doc
        for doc in k8s_documents()
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "nostalgia-triton"
    )
    for name, value in RUNTIME_ENV.items():
        assert f"{name}={value}" in triton_stage
        assert configmap["data"][name] == value


def test_dockerignore_keeps_environments_and_weights_out_of_the_context() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".venv", ".cache", ".git", "model_repository/*/1/*.pt"):
        assert entry in ignored


def test_compose_runs_the_four_services_wired_together() -> None:
    compose = load_yaml(REPO / "docker-compose.yml")
    services = compose["services"]
    assert set(services) == {"gateway", "triton", "prometheus", "grafana"}
    assert services["gateway"]["build"]["target"] == "gateway"
    assert services["triton"]["build"]["target"] == "triton"
    gateway_env = services["gateway"]["environment"]
    assert gateway_env["NOSTALGIA_TRITON_URL"] == "triton:8001"
    assert set(gateway_env) <= SETTING_VARIABLES, set(gateway_env) - SETTING_VARIABLES
    assert services["gateway"]["depends_on"]["triton"]["condition"] == "service_healthy"

    # Prometheus scrapes exactly the compose services on the ports they serve metrics on.
    mounts = {m.split(":")[1]: m.split(":")[0] for m in services["prometheus"]["volumes"]}
    scrape = load_yaml(REPO / mounts["/etc/prometheus/prometheus.yml"])
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in scrape["scrape_configs"]}
    assert targets == {
        "nostalgia-gateway": [f"gateway:{gateway_env['NOSTALGIA_METRICS_PORT']}"],
        "triton": ["triton:8002"],
    }

    grafana = {
        m.split(":")[1]: REPO / m.split(":")[0] for m in services["grafana"]["volumes"] if m.startswith(".")
    }
    assert (grafana["/etc/grafana/provisioning"] / "datasources" / "prometheus.yml").is_file()
    provider = load_yaml(grafana["/etc/grafana/provisioning"] / "dashboards" / "nostalgia.yml")["providers"][
        0
    ]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert (grafana["/var/lib/grafana/dashboards"] / "nostalgia.json").is_file()


def test_prometheus_config_passes_promtool() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("no promtool: install the Debian package `prometheus` (.ci/run does)")
    result = run(promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_in_cluster_scrape_config_labels_pods_for_the_adapter() -> None:
    """Debian's promtool is built without Kubernetes discovery, so this config is checked by structure."""
    config = yaml.safe_load(k8s_object("ConfigMap", "nostalgia-prometheus")["data"]["prometheus.yml"])
    (job,) = config["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod"}]
    targets = {rule.get("target_label") for rule in job["relabel_configs"]}
    # prometheus-adapter maps series to pods through exactly these two labels.
    assert {"namespace", "pod", "__address__", "__metrics_path__"} <= targets
    for doc in k8s_documents():
        if doc["kind"] == "Deployment":
            annotations = doc["spec"]["template"]["metadata"]["annotations"]
            assert annotations["prometheus.io/scrape"] == "true"
            ports = {p["containerPort"] for p in doc["spec"]["template"]["spec"]["containers"][0]["ports"]}
            assert int(annotations["prometheus.io/port"]) in ports


def test_kubernetes_manifests_validate_strictly() -> None:
    manifests = sorted(str(p) for p in K8S.glob("*.yaml"))
    assert manifests
    result = run(str(BIN / "kubernetes-validate"), "--strict", "--quiet", *manifests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_deployments_have_grpc_probes_and_resources() -> None:
    gateway = k8s_object("Deployment", "nostalgia-gateway")["spec"]["template"]["spec"]["containers"][0]
    grpc_port = next(p["containerPort"] for p in gateway["ports"] if p["name"] == "grpc")
    assert gateway["readinessProbe"]["grpc"] == {"port": grpc_port}
    assert gateway["livenessProbe"]["grpc"] == {"port": grpc_port, "service": health.LIVENESS_SERVICE}
    triton = k8s_object("Deployment", "nostalgia-triton")["spec"]["template"]["spec"]["containers"][0]
    assert triton["readinessProbe"]["grpc"]["port"] == 8001
    for container in (gateway, triton):
        resources = container["resources"]
        assert set(resources) == {"requests", "limits"}
        assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(
            resources["limits"]
        )


def test_kubernetes_objects_reference_each_other() -> None:
    for doc in k8s_documents():
        if doc["kind"] == "Service":
            selector = doc["spec"]["selector"]
            deployments = [
                d
                for d in k8s_documents()
                if d["kind"] == "Deployment"
                and selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
            ]
            assert deployments, f"Service {doc['metadata']['name']} selects no Deployment"
    config = k8s_object("ConfigMap", "nostalgia-gateway")["data"]
    assert set(config) <= SETTING_VARIABLES, set(config) - SETTING_VARIABLES
    host, port = config["NOSTALGIA_TRITON_URL"].split(":")
    triton_service = k8s_object("Service", host)
    assert int(port) in {p["port"] for p in triton_service["spec"]["ports"] if p["name"] == "grpc"}

    hpa = k8s_object("HorizontalPodAutoscaler", "nostalgia-triton")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "nostalgia-triton"
    metric = hpa["spec"]["metrics"][0]["pods"]["metric"]["name"]
    rules = yaml.safe_load(k8s_object("ConfigMap", "nostalgia-prometheus-adapter")["data"]["config.yaml"])[
        "rules"
    ]
    assert metric in {rule["name"]["as"] for rule in rules}


def test_dashboard_panels_query_the_provisioned_datasource() -> None:
    datasource = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")[
        "datasources"
    ][0]
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "nostalgia.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len(panels) >= 12
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"], f"{panel['title']} has no targets"
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == datasource["uid"], panel["title"]
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24


def test_dashboard_uses_only_metrics_that_exist() -> None:
    """Every nostalgia_* name in a query is one the gateway defines (catches renames on either side)."""
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_sum", "_count"),
        "gauge": ("",),
        "info": ("_info",),
    }
    families = (
        metrics.RPC_STARTED,
        metrics.RPC_HANDLED,
        metrics.RPC_HANDLING_SECONDS,
        metrics.RPC_IN_FLIGHT,
        metrics.STAGE_SECONDS,
        metrics.TIME_TO_FIRST_FRAME_SECONDS,
        metrics.FRAMES_STREAMED,
        metrics.BYTES_STREAMED,
        metrics.TRITON_REQUEST_SECONDS,
        metrics.TRITON_REQUEST_ERRORS,
        metrics.TRITON_OUTPUT_BYTES,
        metrics.BUILD_INFO,
    )
    defined = {
        metric.name + suffix
        for family in families
        for metric in family.collect()
        for suffix in suffixes[metric.type]
    }
    dashboard = (DEPLOY / "grafana" / "dashboards" / "nostalgia.json").read_text()
    used = set(re.findall(r"\bnostalgia_[a-z_]+", dashboard))
    assert used, "the dashboard queries no gateway metric"
    assert used <= defined, used - defined
