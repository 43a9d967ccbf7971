"""The generator self-check (docs/self-check.md): a run whose issuing is starved by a Python
SUT holding the GIL in ``issue`` is flagged, a healthy one is not; the verdict's inputs are
asserted, and the verdict reaches the detail log, the live display and the exit status."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import loadgen
import pytest
from loadgen import selfcheck
from loadgen.demo import NullSut
from loadgen.progress import generator_status

pytestmark = pytest.mark.usefixtures("hang_watchdog")

QSL = loadgen.InMemoryQsl(1024, 256)


class GilHoggingSut:
    """Busy-loops in Python for ``hold_s`` per query inside ``issue`` (the GIL held), then
    completes: an issue capacity of 1 / hold_s queries per second."""

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s

    def issue(self, batch: loadgen.SampleBatch) -> None:
        end = time.perf_counter() + self.hold_s
        while time.perf_counter() < end:
            pass
        loadgen.complete(batch.ids)

    def flush(self) -> None:
        pass


def server(qps: float, queries: int) -> loadgen.Settings:
    return loadgen.Settings(
        scenario=loadgen.Scenario.SERVER,
        server_target_qps=qps,
        server_target_latency_ns=10_000_000_000,
        min_duration_ms=0,
        min_query_count=queries,
    )


def test_a_sut_holding_the_gil_in_issue_starves_the_generator_and_is_flagged(
    tmp_path: Path,
) -> None:
    # 5 ms per issue at 400 QPS (a 2.5 ms mean gap): issuing can reach at most 200 QPS, so
    # queries leave later and later, whatever this machine's load.
    result = loadgen.run(
        GilHoggingSut(0.005), QSL, server(400, 200), log_dir=tmp_path, progress=False
    )
    check = result.generator
    assert check is not None
    # The rule's inputs: enough timed queries, the schedule's gap, the bound it implies, a p99
    # lateness past it, and where the issuing thread's time went.
    assert check.timed_queries >= 200
    assert 1_500_000 < check.mean_interarrival_ns < 4_000_000  # Poisson mean gap of 2.5 ms
    assert check.lateness_bound_ns == max(1_000_000, check.mean_interarrival_ns)
    # 200 queries at >= 5 ms each take >= 1 s against a 0.5 s schedule: the last ones are
    # hundreds of ms late.
    assert check.lateness_max_ns > 200_000_000
    assert check.lateness_p99_ns > check.lateness_bound_ns
    assert check.issue_callback_share > 0.8
    assert check.generator_limited
    assert check.reasons == ("lateness",)
    assert check.cause == "sut_issue_callback"
    assert selfcheck.exit_status(result) == selfcheck.EXIT_GENERATOR_LIMITED == 3
    assert selfcheck.describe(check)[0].startswith("GENERATOR LIMITED: lateness")

    # The detail log carries the same verdict under its namespaced key; the summary does not.
    logged = loadgen.GeneratorCheck.from_detail_log(result.detail_path)
    assert logged == check
    assert "generator" not in result.summary


def test_a_fast_sut_at_a_modest_rate_is_not_flagged(tmp_path: Path) -> None:
    # 50 QPS: a 20 ms mean gap, far above the few ms a thread may wait for a CPU on a busy
    # machine (an overloaded machine does make the generator late, and is then flagged).
    result = loadgen.run(NullSut(), QSL, server(50, 150), log_dir=tmp_path, progress=False)
    check = result.generator
    assert check is not None
    assert check.timed_queries >= 150
    assert 14_000_000 < check.mean_interarrival_ns < 28_000_000  # Poisson mean gap of 20 ms
    assert check.lateness_bound_ns == check.mean_interarrival_ns
    assert check.issue_callback_share < 0.5  # issue returns at once
    assert not check.has_client
    if check.generator_limited:
        # Only an overloaded machine (the issuing thread waiting a whole mean gap for a CPU)
        # may flag this run, and then the cause is the OS's scheduling, never the fast SUT.
        assert check.cause == "scheduling" and check.reasons == ("lateness",)
        assert check.lateness_p99_ns > check.lateness_bound_ns
    else:
        assert check.reasons == () and check.cause == ""
        assert check.lateness_p99_ns <= check.lateness_bound_ns
        assert selfcheck.exit_status(result) == (0 if result.valid else 1)
    # Completing inside issue: never more than one sample outstanding after an issue.
    assert check.max_outstanding <= 1
    assert len(check.outstanding) == 101 and check.outstanding[0][0] == 0.0


def test_closed_loops_report_the_reissue_gap_and_no_lateness(tmp_path: Path) -> None:
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.SINGLE_STREAM, min_duration_ms=0, min_query_count=100
    )
    result = loadgen.run(NullSut(), QSL, settings, log_dir=tmp_path, progress=False)
    check = result.generator
    assert check is not None
    assert check.timed_queries == 0 and check.lateness_p99_ns == 0
    assert check.reissue_count >= 99  # every query after the first
    assert 0 <= check.reissue_mean_ns <= check.reissue_max_ns
    assert not check.generator_limited
    assert check.issue_threads == 1 and 0.0 <= check.issue_cpu_share <= 1.05


def test_an_accuracy_run_has_no_check(tmp_path: Path) -> None:
    settings = loadgen.Settings(scenario=loadgen.Scenario.OFFLINE, mode=loadgen.Mode.ACCURACY)
    qsl = loadgen.InMemoryQsl(16, 16)
    result = loadgen.run(NullSut(), qsl, settings, log_dir=tmp_path, progress=False)
    assert result.generator is None
    assert selfcheck.results_section(result.generator) is None
    assert loadgen.GeneratorCheck.from_detail_log(result.detail_path) is None


def test_the_results_section_is_plain_json(tmp_path: Path) -> None:
    result = loadgen.run(NullSut(), QSL, server(500, 100), log_dir=tmp_path, progress=False)
    section = selfcheck.results_section(result.generator)
    assert section is not None
    assert json.loads(json.dumps(section)) == section
    assert section["generator_limited"] is result.generator.generator_limited  # type: ignore[union-attr]
    assert section["rule"]["lateness_p99_bound_ns"] == result.generator.lateness_bound_ns  # type: ignore[union-attr]
    assert section["lateness_ns"]["count"] == result.generator.timed_queries  # type: ignore[union-attr]
    assert section["client"] is None
    assert len(section["outstanding"]["series"]) == 101


def test_load_model_open_loop_stages_are_checked(tmp_path: Path) -> None:
    result = loadgen.run(
        NullSut(),
        QSL,
        loadgen.Settings(scenario=loadgen.Scenario.SERVER),
        log_dir=tmp_path,
        load=loadgen.ConstantRate(50, queries=60),
        progress=False,
    )
    check = result.generator
    assert check is not None
    assert check.timed_queries == 60
    assert check.mean_interarrival_ns == pytest.approx(20_000_000, rel=0.01)  # evenly at 50 QPS
    assert check.lateness_bound_ns == check.mean_interarrival_ns
    assert not check.generator_limited


def snapshot(**changes: Any) -> Any:
    base: dict[str, Any] = dict(
        running=True,
        accuracy=False,
        scenario="Server",
        load_model=False,
        elapsed_s=10.0,
        target_qps=100.0,
        queries_issued=1000,
        samples_issued=1000,
        samples_completed=990,
    )
    base.update(changes)
    return SimpleNamespace(**base)


def test_the_live_display_says_when_issuing_falls_behind_the_schedule() -> None:
    text, style = generator_status(snapshot())  # type: ignore[misc]
    assert text == "on schedule · 10 samples outstanding" and style == ""
    # 10 s at 100 QPS is 1000 queries; 700 issued is 3 s behind, far past Poisson noise.
    text, style = generator_status(snapshot(queries_issued=700, samples_issued=700))  # type: ignore[misc]
    assert text.startswith("behind schedule by 3.00 s") and style == "bold red"
    # Within three standard deviations of the Poisson arrival count: on schedule.
    assert generator_status(snapshot(queries_issued=950, samples_issued=950))[0].startswith(  # type: ignore[index]
        "on schedule"
    )
    # Load models do not follow target_qps; accuracy series are not checked.
    assert generator_status(snapshot(queries_issued=10, load_model=True))[0].startswith(
        "10 samples"
    )  # type: ignore[index]
    assert generator_status(snapshot(accuracy=True)) is None


def test_the_report_of_a_run_has_a_generator_section(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from loadgen.report import load_run, write_report
    from loadgen.report.generator_panel import generator_check, outstanding_figure

    result = loadgen.run(
        GilHoggingSut(0.005), QSL, server(400, 120), log_dir=tmp_path, progress=False
    )
    run = load_run(tmp_path)
    check = generator_check(run)
    assert check == result.generator
    page = write_report(run, tmp_path / "report.html")[0].read_text()
    assert '<h2 id="generator">Generator self-check</h2>' in page
    assert "GENERATOR LIMITED: lateness (cause: sut_issue_callback)" in page
    assert '<div class="figure" id="outstanding-samples"><svg' in page
    fig = outstanding_figure(check)  # type: ignore[arg-type]
    assert fig is not None
    (line,) = [x for x in fig.axes[0].get_lines() if x.get_gid() == "outstanding"]
    assert list(line.get_ydata()) == [n for _, n in check.outstanding]  # type: ignore[union-attr]
