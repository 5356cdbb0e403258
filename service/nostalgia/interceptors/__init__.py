"""gRPC server interceptors of the gateway, one concern each (metrics, access log)."""

from nostalgia.interceptors.access_log import AccessLogInterceptor
from nostalgia.interceptors.metrics import MetricsInterceptor

__all__ = ["AccessLogInterceptor", "MetricsInterceptor"]
