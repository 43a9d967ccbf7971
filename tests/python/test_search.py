"""The capacity search (loadgen.search) and the early decision behind it (run(..., decide=...)):
against SUTs of known capacity (loadgen.search_sut.ServiceTimeSut: N servers, a fixed service
time S, so the answer is computable), the search finds it within its bracket in every load
kind, and each probe ends as soon as the evidence decides it."""

from __future__ import annotations

import heapq
import math
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import loadgen
import pytest
from loadgen.decision import BoundEvidence, StopWhenDecided, binomial_cdf, binomial_sf, judge
from loadgen.search import (
    GoodputObjective,
    LatencyObjective,
    LoadKind,
    ProbeDecision,
    find_capacity,
    parse_objective,
    search,
)
from loadgen.search_sut import ServiceTimeSut

pytestmark = pytest.mark.usefixtures("hang_watchdog")

WORKERS = 4
SERVICE_S = 0.010  # capacity: 400 samples/s
CAPACITY = WORKERS / SERVICE_S


@pytest.fixture
def sut() -> Iterator[ServiceTimeSut]:
    s = ServiceTimeSut(WORKERS, SERVICE_S)
    yield s
    s.close()


@pytest.fixture
def qsl() -> loadgen.InMemoryQsl:
    return loadgen.InMemoryQsl(total_sample_count=64, performance_sample_count=64)


def _check_probe_logs(result: loadgen.SearchResult) -> None:
    dirs = [p.log_dir for p in result.probes]
    assert len(set(dirs)) == len(dirs)  # a folder per probe
    for d in dirs:
        assert (d / "mlperf_log_summary.txt").is_file()
        assert (d / "mlperf_log_detail.txt").is_file()


# The statistics -----------------------------------------------------------------------------


def test_binomial_tails_match_direct_sums() -> None:
    def cdf(k: int, n: int, q: float) -> float:
        return sum(math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k + 1))

    for n, q in ((10, 0.1), (100, 0.1), (500, 0.01), (300, 0.3)):
        for k in range(0, n + 1, max(1, n // 17)):
            assert binomial_cdf(k, n, q) == pytest.approx(cdf(k, n, q), rel=1e-9, abs=1e-12)
            upper = 1.0 - cdf(k - 1, n, q) if k > 0 else 1.0
            assert binomial_sf(k, n, q) == pytest.approx(upper, rel=1e-6, abs=1e-12)
    assert binomial_cdf(10, 10, 0.3) == 1.0


def test_judge_passes_clear_evidence_fails_clear_evidence_and_waits_otherwise() -> None:
    assert judge(BoundEvidence("x", 0.1, trials=100, over=0), 0.001) == "pass"
    assert judge(BoundEvidence("x", 0.1, trials=100, over=50), 0.001) == "fail"
    assert judge(BoundEvidence("x", 0.1, trials=100, over=10), 0.001) is None
    # Outstanding requests count as over for a pass: 100 clean completions and 60 outstanding
    # may still be a 37 % over-bound share.
    assert judge(BoundEvidence("x", 0.1, trials=100, over=0, unsure=60), 0.001) is None
    # ... and late ones (older than the bound) count as over for a failure.
    assert judge(BoundEvidence("x", 0.1, trials=100, over=5, late=40), 0.001) == "fail"


def _snapshot(over_flags: list[bool], elapsed_s: float) -> Any:
    # A live snapshot as the decision policy reads it: latencies 1 ms (under) or 1 s (over).
    sample = sorted(10**9 if o else 10**6 for o in over_flags)
    n = len(over_flags)
    return SimpleNamespace(
        scenario="Server",
        latency_sample_ns=sample,
        samples_issued=n,
        samples_completed=n,
        elapsed_s=elapsed_s,
        min_duration_s=1.0,
    )


def _decide(share: float, seed: int, error: float) -> str | None:
    rng = random.Random(seed)
    policy = ProbeDecision([LatencyObjective("latency", 0.9, 0.01)], error=error, settle_s=0.0)
    flags: list[bool] = []
    size = policy.min_trials
    while size <= 4096:  # the sizes the policy looks at (it skips the others)
        flags.extend(rng.random() < share for _ in range(size - len(flags)))
        if policy(_snapshot(flags, elapsed_s=1.0)) is not None:
            return policy.verdict
        size = max(size + 1, math.ceil(size * policy.look_growth))
    return None


def test_the_sequential_decision_keeps_its_error_bound_over_many_looks() -> None:
    # At the boundary (10 % over a p90 bound) any decision is a coin the evidence cannot
    # justify: the union bound over the looks keeps each kind of error under `error`.
    error = 0.05
    runs = 300
    decided = [_decide(0.10, seed, error) for seed in range(runs)]
    wrong_pass = decided.count("pass")
    wrong_fail = decided.count("fail")
    # Expected at most 15 of each; 30 leaves room for chance (binomial sd ~3.8).
    assert wrong_pass <= 2 * error * runs
    assert wrong_fail <= 2 * error * runs
    # Clear cases are decided, the right way.
    assert all(_decide(0.02, seed, error) == "pass" for seed in range(20))
    assert all(_decide(0.30, seed, error) == "fail" for seed in range(20))


def test_objectives_parse_from_text() -> None:
    assert parse_objective("p99 latency <= 50ms") == LatencyObjective("latency", 0.99, 0.05)
    assert parse_objective("p90 TTFT <= 2s") == LatencyObjective("ttft", 0.9, 2.0)
    assert parse_objective("p99.9 tpot <= 800us") == LatencyObjective("tpot", 0.999, 0.0008)
    with pytest.raises(ValueError, match="pNN METRIC"):
        parse_objective("latency under 50 ms")


# The algorithm, on made-up verdicts -----------------------------------------------------------


def test_find_capacity_brackets_a_threshold_in_few_probes() -> None:
    loads: list[float] = []

    def probe(load: float, confirming: bool) -> tuple[bool, bool]:
        loads.append(load)
        return load <= 377.0, True

    lo, hi = find_capacity(probe, start=10, resolution=0.02, confirm=False)
    assert lo is not None and hi is not None
    assert lo <= 377.0 < hi and hi / lo <= 1.02
    # 10 and 6 doublings to 640, then bisections of a factor 2 down to 1.02: log2(ln 2 / ln
    # 1.02) = 5.1, so 6.
    assert len(loads) == 7 + 6


def test_find_capacity_finds_whole_numbers() -> None:
    lo, hi = find_capacity(lambda n, _c: (n <= 8, False), start=2, integer=True)
    assert (lo, hi) == (8, 9)
    lo, hi = find_capacity(lambda n, _c: (n <= 8, False), start=40, integer=True)
    assert (lo, hi) == (8, 9)  # shrinking from a failing start


def test_find_capacity_recovers_from_a_stalled_probe_and_a_premature_pass() -> None:
    stalled: set[float] = set()

    def probe(load: float, confirming: bool) -> tuple[bool, bool]:
        if load == 160 and not stalled:  # one stall fails a load well below capacity, early
            stalled.add(load)
            return False, True
        if 377 < load <= 390 and not confirming:  # looks fine early, fails at full length
            return True, True
        return load <= 377.0, True

    lo, hi = find_capacity(probe, start=10, resolution=0.02)
    assert lo is not None and hi is not None
    assert lo <= 377.0 < hi and hi / lo <= 1.02 + 1e-9


# The engine's early end ---------------------------------------------------------------------


def test_a_decision_ends_the_series_normally_with_its_reason_logged(
    sut: ServiceTimeSut, qsl: loadgen.InMemoryQsl, tmp_path: Path
) -> None:
    class AfterThirty:
        interval_s = 0.02

        def __call__(self, snap: Any) -> str | None:
            return "thirty seen" if snap.queries_completed >= 30 else None

    settings = loadgen.Settings(
        scenario=loadgen.Scenario.SERVER,
        server_target_qps=200,
        min_duration_ms=30_000,
        min_query_count=1,
    )
    result = loadgen.run(sut, qsl, settings, log_dir=tmp_path, decide=AfterThirty())
    assert result.decided_early == "thirty seen"
    assert not result.interrupted
    assert 30 <= result.queries_issued < 2000  # 6000 planned
    assert result.samples_completed == result.queries_issued  # every issued sample completed
    assert not result.valid  # min_duration is not met: outside the submission rules
    detail = result.detail_path.read_text()
    assert '"key": "loadgen_series_decided", "value": {"reason":"thirty seen"' in detail
    assert "Test aborted" not in detail


def test_the_probe_decision_ends_clear_probes_early_and_on_the_right_side(
    sut: ServiceTimeSut, qsl: loadgen.InMemoryQsl, tmp_path: Path
) -> None:
    objective = LatencyObjective("latency", 0.9, 0.040)
    planned_s = 5.0

    def probe(qps: float) -> tuple[loadgen.RunResult, ProbeDecision]:
        policy = ProbeDecision([objective], error=0.01, settle_s=0.2)
        settings = loadgen.Settings(
            scenario=loadgen.Scenario.SERVER,
            server_target_qps=qps,
            min_duration_ms=int(planned_s * 1000),
            min_query_count=1,
            server_target_latency_ns=objective.bound_ns,
            server_target_latency_percentile=0.9,
        )
        return loadgen.run(sut, qsl, settings, log_dir=tmp_path / str(qps), decide=policy), policy

    # A quarter of capacity: p90 about 11 ms, inside half the bound (the pass margin).
    low, low_policy = probe(CAPACITY / 4)
    assert low_policy.verdict == "pass" and low.decided_early, low_policy.reason
    assert low.queries_issued < 0.5 * planned_s * CAPACITY / 4
    high, high_policy = probe(CAPACITY * 4)
    assert high_policy.verdict == "fail" and high.decided_early
    assert high.queries_issued < 0.1 * planned_s * CAPACITY * 4


def test_stop_when_decided_ends_a_plain_server_run_on_the_officially_checked_bound(
    sut: ServiceTimeSut, qsl: loadgen.InMemoryQsl, tmp_path: Path
) -> None:
    def plain(qps: float) -> loadgen.RunResult:
        settings = loadgen.Settings(
            scenario=loadgen.Scenario.SERVER,
            server_target_qps=qps,
            min_duration_ms=3000,
            min_query_count=1,
            server_target_latency_ns=50_000_000,
            server_target_latency_percentile=0.9,
        )
        return loadgen.run(
            sut, qsl, settings, log_dir=tmp_path / str(qps), decide=StopWhenDecided()
        )

    easy = plain(CAPACITY / 4)  # p90 about 10 ms against 50 ms
    assert easy.decided_early.startswith("meets every bound"), easy.decided_early
    assert easy.queries_issued < 3.0 * CAPACITY / 4 * 0.8
    hopeless = plain(CAPACITY * 4)
    assert hopeless.decided_early.startswith("fails p90 latency <= 50.00 ms")
    assert hopeless.queries_issued < 3.0 * CAPACITY * 4 * 0.2


# Known capacities ---------------------------------------------------------------------------


def test_constant_rate_search_brackets_the_servers_capacity(
    sut: ServiceTimeSut, qsl: loadgen.InMemoryQsl, tmp_path: Path
) -> None:
    # Evenly spaced arrivals never queue below N/S and queue without end above it: for any
    # bound above S the capacity is N/S.
    result = search(
        sut,
        qsl,
        ["p90 latency <= 30ms"],
        load=LoadKind.CONSTANT_RATE,
        start=100,
        probe_duration_s=1.0,
        log_dir=tmp_path,
    )
    lo, hi = result.bracket
    assert lo is not None and hi is not None
    assert lo <= CAPACITY * 1.08 and hi >= CAPACITY * 0.92, result.table()
    assert hi / lo <= 1.06
    assert any(p.decided_early for p in result.probes)
    _check_probe_logs(result)


def _md_n_pass_rate(rate: float, horizon_s: float, bound_s: float, seeds: int = 150) -> float:
    """How often a probe of `horizon_s` at Poisson `rate` keeps its p90 sojourn under
    `bound_s` in an M/D/N queue of WORKERS servers of SERVICE_S (simulated)."""
    passed = 0
    for seed in range(seeds):
        rng = random.Random(seed)
        free = [0.0] * WORKERS
        t, sojourns = 0.0, []
        while True:
            t += rng.expovariate(rate)
            if t > horizon_s:
                break
            start = max(t, heapq.heappop(free))
            heapq.heappush(free, start + SERVICE_S)
            sojourns.append(start + SERVICE_S - t)
        sojourns.sort()
        passed += sojourns[int(0.9 * len(sojourns))] <= bound_s
    return passed / seeds


def test_server_search_lands_where_probes_of_its_length_start_to_fail(
    sut: ServiceTimeSut, qsl: loadgen.InMemoryQsl, tmp_path: Path
) -> None:
    # Poisson arrivals queue before N/S: the capacity at a p90 bound of 30 ms (M/D/4, S = 10
    # ms) is about 350/s in steady state, and a 1 s probe near it passes or fails by chance.
    # The answer must lie in the band where a 1 s probe's pass rate falls from 90 % to 10 %.
    duration_s = 1.0
    loads = [250.0 + 10 * i for i in range(25)]
    rates = [_md_n_pass_rate(x, duration_s, 0.030) for x in loads]
    band_lo = max(x for x, r in zip(loads, rates) if r >= 0.9)
    band_hi = min(x for x, r in zip(loads, rates) if r <= 0.1)
    result = search(
        sut,
        qsl,
        [LatencyObjective("latency", 0.9, 0.030)],
        load=LoadKind.SERVER_QPS,
        start=100,
        probe_duration_s=duration_s,
        log_dir=tmp_path,
    )
    lo, hi = result.bracket
    assert lo is not None and hi is not None
    # 10 % slack for the SUT's completion stamps (a few ms late on a busy machine).
    assert band_lo * 0.9 <= lo <= band_hi * 1.1, (band_lo, band_hi, result.table())
    assert hi / lo <= 1.06
    _check_probe_logs(result)


def test_concurrency_search_finds_the_exact_count(
    sut: ServiceTimeSut, qsl: loadgen.InMemoryQsl, tmp_path: Path
) -> None:
    # c in flight on 4 servers of 10 ms: up to c = 8 every query takes 20 ms (two rounds); from
    # c = 12 every query waits for two rounds ahead of it and takes 30 ms or more. In between
    # the share at 30 ms depends on how the next query's issue lags a completion, so the answer
    # is between 8 and 11. (The bound sits just under 30 ms: a late completion stamp can only
    # add to a latency.)
    result = search(
        sut,
        qsl,
        ["p95 latency <= 29ms"],
        load=LoadKind.CONCURRENCY,
        start=2,
        probe_duration_s=0.5,
        log_dir=tmp_path,
    )
    _assert_integer_bracket(result, low=8, high=11)
    _check_probe_logs(result)


def _assert_integer_bracket(result: loadgen.SearchResult, low: int, high: int) -> None:
    # The answer is in [low, high], unless the busy test machine stalled the SUT's completion
    # thread during a probe near it: a stall only makes latencies worse, so it can lower the
    # answer a little but never raise it above what the SUT can do.
    lo, hi = result.bracket
    assert lo is not None and hi == lo + 1, result.table()
    assert low - 2 <= lo <= high, result.table()


def test_multistream_search_finds_the_samples_per_query(
    sut: ServiceTimeSut, qsl: loadgen.InMemoryQsl, tmp_path: Path
) -> None:
    # A query of k samples on 4 servers takes ceil(k/4) * 10 ms: p90 <= 29 ms up to k = 8.
    result = search(
        sut,
        qsl,
        ["p90 latency <= 29ms"],
        load=LoadKind.MULTISTREAM_SAMPLES,
        start=2,
        probe_duration_s=0.6,
        log_dir=tmp_path,
    )
    _assert_integer_bracket(result, low=8, high=8)
    assert all(p.result.scenario is loadgen.Scenario.MULTI_STREAM for p in result.probes)
    _check_probe_logs(result)


def test_offline_search_finds_the_sample_rate_due_within_the_bound(
    sut: ServiceTimeSut, qsl: loadgen.InMemoryQsl, tmp_path: Path
) -> None:
    # load x 105 ms samples issued at once complete in waves of 4 every 10 ms: up to 40 samples
    # (10 waves, 100 ms) meet p99 <= 105 ms, 41 do not: the answer is in [40, 41) / 0.105 s.
    truth_lo, truth_hi = 40 / 0.105, 41 / 0.105
    result = search(
        sut,
        qsl,
        ["p99 latency <= 105ms"],
        load=LoadKind.OFFLINE_QPS,
        start=100,
        resolution=0.02,
        log_dir=tmp_path,
    )
    lo, hi = result.bracket
    assert lo is not None and hi is not None
    assert lo <= truth_hi * 1.02 and hi >= truth_lo * 0.9, result.table()
    _check_probe_logs(result)


def test_search_command_prints_the_probes_and_the_answer(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadgen",
            "search",
            "--load",
            "concurrency",
            "--objective",
            "p95 latency <= 29ms",
            "--start",
            "4",
            "--workers",
            "4",
            "--service-ms",
            "10",
            "--probe-duration-s",
            "0.4",
            "--log-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    found = re.search(
        r"capacity (\d+) in flight \(bracket \[(\d+), (\d+)\]\) for p95 latency", out.stdout
    )
    assert found is not None, out.stdout
    lo, hi = int(found[2]), int(found[3])
    assert hi == lo + 1 and 6 <= lo <= 11, out.stdout  # as in the concurrency test above
    assert "probe-00-4" in out.stdout
    assert "total queries:" in out.stdout


# Goodput objectives -------------------------------------------------------------------------


def test_goodput_objectives_parse_from_text() -> None:
    o = parse_objective("goodput >= 0.9 ttft<=200ms,tpot<=50ms")
    assert o == GoodputObjective(loadgen.Slo(ttft_ms=200, tpot_ms=50), 0.9)
    o = parse_objective("goodput interactive >= 95% e2e<=2s")
    assert o == GoodputObjective(loadgen.Slo(e2e_ms=2000), 0.95, "interactive")
    assert o.needs_tokens is False
    for bad in ("goodput >= 0.9", "goodput >= 1.5 e2e<=1s", "goodput >= 0.9 ttft<=1s,ttft<=2s"):
        with pytest.raises(ValueError):
            parse_objective(bad)


def _token_snapshot(e2e: list[int], ttft: list[int], tpot: list[int]) -> Any:
    n = len(e2e)
    return SimpleNamespace(
        scenario="Server",
        latency_sample_ns=sorted(e2e),
        ttft_sample_ns=sorted(ttft),
        tpot_sample_ns=sorted(tpot),
        samples_issued=n,
        samples_completed=n,
        elapsed_s=10.0,
    )


def test_a_goodput_tier_of_several_limits_fails_on_the_worst_limit_and_passes_on_their_sum() -> (
    None
):
    objective = GoodputObjective(loadgen.Slo(ttft_ms=100, tpot_ms=10), 0.9)
    ms = 1_000_000
    # 400 completions; 10 over the TTFT limit, 10 (others, or the same: the sorted samples
    # cannot tell) over the TPOT limit, and 5 without a first token (negative figures).
    ttft = [50 * ms] * 385 + [200 * ms] * 10 + [-1] * 5
    tpot = [5 * ms] * 385 + [20 * ms] * 10 + [-1] * 5
    e = objective.evidence(_token_snapshot([300 * ms] * 400, ttft, tpot), 1.0)
    assert e is not None
    assert (e.trials, e.over, e.over_margin) == (400, 15, 30)  # max 15 vs sum 30, of 400
    # 15 of 400 bad would show a pass at 1 %; the ceiling of 30 does not.
    assert judge(e, 0.01) is None
    # One limit: the sample is the evidence itself, both ways.
    single = GoodputObjective(loadgen.Slo(ttft_ms=100), 0.9)
    e = single.evidence(_token_snapshot([300 * ms] * 400, ttft, tpot), 1.0)
    assert e is not None and e.over == e.over_margin == 15 and judge(e, 0.01) == "pass"
    bad = [50 * ms] * 300 + [200 * ms] * 100
    e = objective.evidence(_token_snapshot([300 * ms] * 400, bad, tpot), 1.0)
    assert e is not None and judge(e, 0.01) == "fail"
    # Token figures not sampled with the latencies: nothing is decided live.
    assert objective.evidence(_token_snapshot([300 * ms] * 400, [], []), 1.0) is None


def test_concurrency_search_on_goodput_finds_the_same_count_as_on_the_percentile(
    sut: ServiceTimeSut, qsl: loadgen.InMemoryQsl, tmp_path: Path
) -> None:
    # "95 % of requests within 29 ms" is the p95 objective of the concurrency test above, read
    # from the run's goodput instead of its percentiles: the same answer, 8 to 11.
    result = search(
        sut,
        qsl,
        ["goodput >= 0.95 e2e<=29ms"],
        load=LoadKind.CONCURRENCY,
        start=2,
        probe_duration_s=0.5,
        log_dir=tmp_path,
    )
    _assert_integer_bracket(result, low=8, high=11)
    assert any(p.decided_early for p in result.probes), result.table()
    for p in result.probes:
        assert p.result.metrics is not None
        share = p.result.metrics.goodput["search"].share
        if not p.decided_early:  # a full-length probe's verdict is its goodput
            assert p.passed == (share >= 0.95), result.table()
    _check_probe_logs(result)


def test_goodput_limits_on_tokens_need_token_latencies(
    sut: ServiceTimeSut, qsl: loadgen.InMemoryQsl, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="use_token_latencies"):
        search(sut, qsl, ["goodput >= 0.9 ttft<=10ms"], start=10, log_dir=tmp_path)


# Against a served model ---------------------------------------------------------------------


def test_search_of_an_unreachable_endpoint_fails_before_any_load(tmp_path: Path) -> None:
    from loadgen.__main__ import main
    from servers.process import free_port

    code = main(
        [
            "search",
            f"http://127.0.0.1:{free_port()}",
            "--objective",
            "p90 latency <= 1s",
            "--start",
            "1",
            "--timeout-s",
            "1",
            "--log-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert not list(tmp_path.iterdir())  # no probe ran


def test_a_concurrency_search_against_llama_cpp_on_goodput(
    llama_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from loadgen.__main__ import main

    # Limits no tiny-model request misses on any machine: every probe passes, so the search
    # grows 1 -> 2 and stops at --max-load (a few short probes).
    code = main(
        [
            "search",
            llama_server.url,
            "--api",
            "openai-chat",
            "--model",
            llama_server.model,
            "--load",
            "concurrency",
            "--objective",
            "goodput >= 0.5 ttft<=20s,e2e<=30s",
            "--start",
            "1",
            "--max-load",
            "2",
            "--no-confirm",
            "--probe-duration-s",
            "1",
            "--sample-count",
            "16",
            "--input-len",
            "uniform:4:12",
            "--output-len",
            "4",
            "--use-token-latencies",
            "true",
            "--log-dir",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "capacity 2 in flight (bracket [2, not reached])" in out, out
    assert "goodput search >= 0.5 (ttft<=20000ms,e2e<=30000ms)" in out
    for folder in ("probe-00-1", "probe-01-2"):
        detail = (tmp_path / folder / "mlperf_log_detail.txt").read_text()
        assert "result_first_token_mean_latency_ns" in detail  # token latencies were on


def test_demo_stop_when_decided_ends_the_server_run_once_its_bound_is_shown_met(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from loadgen.__main__ import main

    # The demo's Server run: 1000 queries/s on the sleep SUT (about 2 ms) against 50 ms.
    code = main(
        [
            "demo",
            "--scenario",
            "Server",
            "--duration-ms",
            "5000",
            "--stop-when-decided",
            "--log-dir",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1, out  # decided early: INVALID, outside the submission rules
    assert "ended early: meets every bound" in out, out
    detail = (tmp_path / "Server" / "mlperf_log_detail.txt").read_text()
    found = re.search(r'"key": "result_query_count", "value": (\d+)', detail)
    assert found is not None
    assert int(found[1]) < 1000 * 5 * 0.6  # well short of the planned 5 s


@pytest.mark.parametrize("failed", [0, 1])
def test_a_failed_request_vetoes_an_early_pass(tmp_path: Path, failed: int) -> None:
    # A probe the live policy passed early is still a failure if any request failed: the
    # policy's sample times a failed request like any other, and the run is INVALID.
    from loadgen.search import _record

    result = SimpleNamespace(
        decided_early="meets every bound",
        samples_failed=failed,
        queries_issued=100,
        samples_completed=100,
        interrupted=False,
    )
    run = SimpleNamespace(result=result, wall_s=1.0, log_dir=tmp_path)
    policy = SimpleNamespace(verdict="pass", error=0.01)
    record = _record(40.0, run, policy, [], confirming=False)  # type: ignore[arg-type]
    assert record.passed is (failed == 0)
    assert record.decided_early == "meets every bound" and record.error == 0.01
