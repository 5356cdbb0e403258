"""Triton's log lines keep their severity, except start-up notices that are normal without a GPU."""

from __future__ import annotations

import logging

import pytest

from nostalgia.triton.embedded import log_level


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ('I1125 00:58:19.820955 8342 model_lifecycle.cc:624] "successfully unloaded"', logging.INFO),
        ('W1125 00:58:19.820955 8342 server.cc:1] "model queue is long"', logging.WARNING),
        ('E1125 00:10:10.813418 14222 model_repository_manager.cc:1460] "Poll failed"', logging.ERROR),
        ('F1125 00:10:10.813418 14222 server.cc:1] "fatal"', logging.CRITICAL),
        (
            'E1124 23:07:58.066027 10565 server.cc:241] "CudaDriverHelper has not been initialized."',
            logging.INFO,
        ),
        (
            'W1124 23:08:16.368895 10565 metrics.cc:798] "DCGM unable to start: DCGM initialization error"',
            logging.INFO,
        ),
        ("+----------------------------------+---------+", logging.INFO),
        ("Error: not a glog line", logging.INFO),
    ],
)
def test_levels(line: str, level: int) -> None:
    assert log_level(line) == level
