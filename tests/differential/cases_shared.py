"""What the cases_*.py modules share: the default comparison, the QSL and the run shapes per
scenario, and make_case (the case format is documented in cases.py)."""

DEFAULT_COMPARE = {
    "order": "calls",
    "counts": True,
    "es": "masked",
    "overlatency": True,
    "timeout_s": 60,
}

SMALL_QSL = {"total": 256, "performance": 64}

# Server latency bounds far above anything a loaded machine produces, so the over-latency
# count (and with it early stopping) is 0 for certain wherever a case does not test it.
SECOND = 1_000_000_000
TOKEN_BOUNDS = {"ttft_latency": SECOND, "tpot_latency": SECOND}

# Shapes of the main matrix: fast, count-driven runs for each scenario.
PERF = {
    "SingleStream": {"min_duration_ms": 0, "min_query_count": 100},
    "MultiStream": {"min_duration_ms": 0, "min_query_count": 40},
    "Server": {
        "min_duration_ms": 0,
        "min_query_count": 500,
        "server_target_qps": 5000.0,
        "server_target_latency_ns": SECOND,
    },
    "Offline": {"min_duration_ms": 0, "min_query_count": 300},
}
# Server accuracy runs are paced by the schedule, so they need a high QPS too.
ACC = {
    "SingleStream": {},
    "MultiStream": {},
    "Server": {"server_target_qps": 5000.0},
    "Offline": {},
}
# A different way of completing per scenario, so the matrix covers all of them.
MATRIX_SUT = {
    "SingleStream": {"complete": "inline"},
    "MultiStream": {"complete": "pool", "workers": 3},
    "Server": {"complete": "pool", "workers": 2},
    "Offline": {"complete": "batches", "batch": 37},
}
SHORT = {"SingleStream": "ss", "MultiStream": "ms", "Server": "server", "Offline": "offline"}


def make_case(name, scenario, mode="PerformanceOnly", compare=None, **fields):
    case = {"name": name, "scenario": scenario, "mode": mode, "qsl": dict(SMALL_QSL)}
    case.update(fields)
    case["compare"] = dict(DEFAULT_COMPARE, **(compare or {}))
    return case


# A user.conf the FromConfig cases read (once or in repeated StartTest calls).
USER_CONF = """# user.conf
resnet50.SingleStream.target_latency = 2
*.SingleStream.min_duration = 0
*.SingleStream.min_query_count = 120
resnet50.*.performance_sample_count_override = 48
"""
