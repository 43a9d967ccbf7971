"""MLPerf Inference load generator (the official distribution's second top-level name).

It re-exports ``mlperf_loadgen``; importing it first does not hide ``mlperf_loadgen``.
"""

from mlperf_loadgen import *  # noqa: F403
from mlperf_loadgen import __all__ as __all__
