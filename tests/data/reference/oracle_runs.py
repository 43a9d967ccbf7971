"""Produces the oracle_* reference logs with the official wheel (run in the oracle's venv).

Usage: python oracle_runs.py {ss|tokss|tokms|tokserver} OUTDIR
The SUT completes every query inside IssueQuery (after a first token and a 0.2 ms sleep in the
token runs); each response is 16 bytes with n_tokens = 5.
"""

import array
import os
import sys
import time

import mlperf_loadgen as lg

which, outdir = sys.argv[1], sys.argv[2]
os.makedirs(outdir, exist_ok=True)
payload = array.array("i", [1, 2, 3, 4])
address, _ = payload.buffer_info()


def issue(samples):
    responses = [lg.QuerySampleResponse(s.id, address, 16, 5) for s in samples]
    if which.startswith("tok"):
        lg.FirstTokenComplete(responses)
        time.sleep(0.0002)
    lg.QuerySamplesComplete(responses)


sut = lg.ConstructSUT(issue, lambda: None)
qsl = lg.ConstructQSL(1024, 128, lambda x: None, lambda x: None)
settings = lg.TestSettings()
settings.mode = lg.TestMode.PerformanceOnly
settings.min_duration_ms = 0
if which == "ss":  # oracle_single_stream_p99: enough queries for the 99th-percentile estimate
    settings.scenario = lg.TestScenario.SingleStream
    settings.single_stream_expected_latency_ns = 100000
    settings.min_query_count = 1000
elif which == "tokss":  # oracle_token_single_stream_p99
    settings.scenario = lg.TestScenario.SingleStream
    settings.single_stream_expected_latency_ns = 100000
    settings.min_query_count = 700
    settings.use_token_latencies = True
elif which == "tokms":  # oracle_token_multi_stream_valid
    settings.scenario = lg.TestScenario.MultiStream
    settings.multi_stream_expected_latency_ns = 100000
    settings.multi_stream_samples_per_query = 2
    settings.min_query_count = 700
    settings.use_token_latencies = True
elif which == "tokserver":  # oracle_token_server_constraints: TTFT and TPOT bounds of 1 ns
    settings.scenario = lg.TestScenario.Server
    settings.server_target_qps = 2000
    settings.min_query_count = 100
    settings.min_duration_ms = 100
    settings.use_token_latencies = True
    settings.ttft_latency = 1
    settings.tpot_latency = 1
log_settings = lg.LogSettings()
log_settings.log_output.outdir = outdir
lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
