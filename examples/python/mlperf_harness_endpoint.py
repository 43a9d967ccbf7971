"""A harness written for mlperf_loadgen, run against a served model by swapping its SUT.

All but make_sut() is a harness for the official LoadGen: a QSL from ConstructQSL, TestSettings,
StartTestWithLogSettings, the four official log files. Without a URL it runs its own in-process
SUT; with one, an EndpointSut sends each sample's prompt to the server from native code (an
OpenAI-compatible server with api openai or openai-chat, Triton with triton-generate), and the
streamed answers give TTFT and TPOT.

    python examples/python/mlperf_harness_endpoint.py [LOG_DIR [URL API MODEL]]
    python examples/python/mlperf_harness_endpoint.py run1 http://127.0.0.1:8080 openai-chat M
"""

import array
import sys
import tempfile

import mlperf_loadgen as lg

PROMPTS = [f"Question {i}: tell me something about the number {i}." for i in range(16)]
MAX_TOKENS = 8


def load_samples(indices):
    pass  # the prompts are in memory


def unload_samples(indices):
    pass


def issue_queries(query_samples):
    """The harness's own SUT: answers each prompt at once with MAX_TOKENS token ids."""
    tokens = array.array("i", range(MAX_TOKENS))
    address, count = tokens.buffer_info()
    for sample in query_samples:
        lg.FirstTokenComplete([lg.QuerySampleResponse(sample.id, address, tokens.itemsize)])
        size = count * tokens.itemsize
        lg.QuerySamplesComplete([lg.QuerySampleResponse(sample.id, address, size, count)])


def flush_queries():
    pass


def make_sut(endpoint_args):
    if not endpoint_args:
        return lg.ConstructSUT(issue_queries, flush_queries)
    # The one change for a served model: the endpoint SUT, built from the same prompts (index i
    # of the QSL is PROMPTS[i]). Nothing of it runs in Python during the test.
    from loadgen.net.datasets import Sample
    from loadgen.net.endpoint import Endpoint, EndpointSut

    url, api, model = endpoint_args
    samples = [Sample(prompt=p, max_tokens=MAX_TOKENS) for p in PROMPTS]
    return EndpointSut(Endpoint(url, api=api, model=model), samples)


def main():
    log_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="loadgen-")
    sut = make_sut(sys.argv[2:5])
    qsl = lg.ConstructQSL(len(PROMPTS), len(PROMPTS), load_samples, unload_samples)

    settings = lg.TestSettings()
    settings.scenario = lg.TestScenario.SingleStream
    settings.mode = lg.TestMode.PerformanceOnly
    settings.use_token_latencies = True
    settings.min_duration_ms = 0
    settings.min_query_count = 64  # enough for SingleStream's early-stopping estimate
    settings.accuracy_log_probability = 1.0  # every answer in mlperf_log_accuracy.json
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = log_dir
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)

    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    with open(f"{log_dir}/mlperf_log_summary.txt") as summary:
        for line in summary:
            if line.startswith(("SUT name", "Result is", "Mean First Token latency")):
                print(line.strip())
    print(f"logs: {log_dir}")


if __name__ == "__main__":
    main()
