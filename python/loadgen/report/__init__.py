"""``loadgen report`` and ``loadgen compare``: read the log files of a run (written by loadgen or
by the official LoadGen) and turn them into an HTML report with figures, per-sample exports and
comparison tables.

What is read:

* ``*detail*.txt``: one ``:::MLLOG {json}`` line per entry, the values of the run.
* ``*summary*.txt``: shown as written; its first result line is the headline metric.
* ``*trace*.json`` (optional): the per-sample ``Sample`` and ``Token`` async events give each
  sample's scheduled time, issue delay, latency and time to first token.
* ``*accuracy*.json`` (optional): the entry count and, for token runs, ``token_count`` per
  ``seq_id``, which gives per-sample time per output token.

One module per concern: ``model`` (the records), ``parse`` (reading the files), ``analysis``
(what the logs say: statistics, verdict, headline), ``figures`` (matplotlib, an optional extra:
``pip install 'loadgen[report]'``), ``export`` (CSV/JSON), ``html`` (the page and
``write_report``), ``compare`` (two runs side by side). Everything public is re-exported here.
"""

from __future__ import annotations

from .analysis import RunLogs, query_latencies_ns
from .compare import build_compare_figure, compare_rows, format_compare, write_compare_html
from .export import SAMPLE_FIELDS, sample_records, write_samples_csv, write_samples_json
from .figures import (
    FIGURES,
    build_figures,
    issue_lag_figure,
    latency_cdf_figure,
    latency_histogram_figure,
    latency_over_time_figure,
    throughput_over_time_figure,
    token_latency_figure,
)
from .html import render_html, write_report
from .model import PERCENTILES, DetailEntry, LatencyStats, ReportError, Sample
from .parse import load_run, read_accuracy_tokens, read_detail, read_trace_samples, trace_events

__all__ = [
    "FIGURES",
    "PERCENTILES",
    "SAMPLE_FIELDS",
    "DetailEntry",
    "LatencyStats",
    "ReportError",
    "RunLogs",
    "Sample",
    "build_compare_figure",
    "build_figures",
    "compare_rows",
    "format_compare",
    "issue_lag_figure",
    "latency_cdf_figure",
    "latency_histogram_figure",
    "latency_over_time_figure",
    "load_run",
    "query_latencies_ns",
    "read_accuracy_tokens",
    "read_detail",
    "read_trace_samples",
    "render_html",
    "sample_records",
    "throughput_over_time_figure",
    "token_latency_figure",
    "trace_events",
    "write_compare_html",
    "write_report",
    "write_samples_csv",
    "write_samples_json",
]
