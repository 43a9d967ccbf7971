"""Sweeps (docs/sweeps.md): the grid, one folder per run, intervals over repeats, sweep.json,
the sweep report's figures, comparing two sweeps, the CLI; and a sweep against llama.cpp's
server producing the report figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import loadgen
import pytest
from loadgen.__main__ import main as cli_main
from loadgen.demo import NullSut, SleepSut
from loadgen.sweeps import Interval, load_sweep, t_interval

pytestmark = pytest.mark.usefixtures("hang_watchdog")

QSL = loadgen.InMemoryQsl(1024, 256)


def short_server() -> loadgen.Settings:
    return loadgen.Settings(
        scenario=loadgen.Scenario.SERVER,
        server_target_latency_ns=100_000_000,
        min_duration_ms=300,
        min_query_count=30,
    )


# --- statistics ------------------------------------------------------------------------------


def test_t_interval_matches_the_student_t_formula() -> None:
    iv = t_interval([1.0, 2.0, 3.0], 0.95)
    half = 4.303 * 1.0 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert iv.mean == 2.0 and iv.n == 3
    assert iv.low == pytest.approx(2.0 - half) and iv.high == pytest.approx(2.0 + half)
    assert t_interval([5.0], 0.95) == Interval(5.0, 5.0, 5.0, 1)
    # Wider at 99 %, narrower at 90 %.
    assert t_interval([1.0, 2.0, 3.0], 0.99).low < iv.low < t_interval([1.0, 2.0, 3.0], 0.9).low
    with pytest.raises(ValueError, match="confidence"):
        t_interval([1.0, 2.0], 0.8)


def test_pareto_front_keeps_the_points_nothing_beats_on_both_axes() -> None:
    pytest.importorskip("matplotlib")
    from loadgen.report.sweeps import pareto_front

    points = [(100.0, 50.0), (200.0, 40.0), (150.0, 30.0), (300.0, 10.0), (250.0, 10.0)]
    assert pareto_front(points) == [(100.0, 50.0), (200.0, 40.0), (300.0, 10.0)]


# --- the sweep -------------------------------------------------------------------------------


def test_a_rate_sweep_with_repeats_writes_one_folder_per_run_and_intervals(
    tmp_path: Path,
) -> None:
    seen: list[dict[str, Any]] = []
    sut = SleepSut(latency_s=0.002)
    try:
        result = loadgen.sweep(
            sut,
            QSL,
            short_server(),
            log_dir=tmp_path,
            rates=[100, 200],
            repeats=2,
            on_result=lambda figures: seen.append(dict(figures)),
        )
    finally:
        sut.close()  # the caller's SUT: the sweep leaves it open
    assert result.axis == "rate" and [p.load for p in result.points] == [100.0, 200.0]
    assert len(seen) == 4
    for point in result.points:
        assert len(point.runs) == 2
        for run in point.runs:
            folder = tmp_path / run["log_dir"]
            assert (folder / "mlperf_log_summary.txt").is_file()
            assert (folder / "mlperf_log_detail.txt").is_file()
            assert run["offered_load"] == point.load
        tput = point.summary["throughput_qps"]
        assert tput.n == 2 and tput.low <= tput.mean <= tput.high
        # The Server scheduled `load` QPS; a 2 ms SUT completes them at about that rate.
        assert 0.5 * point.load < tput.mean < 1.5 * point.load  # type: ignore[operator]
        assert point.summary["latency_p50_ms"].mean >= 2.0  # the SUT's 2 ms
        assert point.summary["generator_limited"].mean == 0.0
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert folders == ["point-000-rate-100", "point-001-rate-200"]
    assert sorted(p.name for p in (tmp_path / folders[0]).iterdir()) == ["repeat-1", "repeat-2"]

    # sweep.json round-trips.
    data = json.loads((tmp_path / "sweep.json").read_text())
    assert data["format"] == "loadgen-sweep" and data["version"] == 1
    assert data["points"][0]["runs"][0]["generator"]["generator_limited"] is False
    again = load_sweep(tmp_path)
    assert again.points == result.points and again.axis == "rate" and again.repeats == 2


def test_a_parameter_builds_one_warm_sut_per_value_and_closes_it(tmp_path: Path) -> None:
    built: list[float] = []
    closed: list[float] = []

    class Sut(SleepSut):
        def __init__(self, latency_s: float) -> None:
            super().__init__(latency_s=latency_s)
            self.latency = latency_s
            built.append(latency_s)

        def close(self) -> None:
            closed.append(self.latency)
            super().close()

    result = loadgen.sweep(
        Sut,
        QSL,
        short_server(),
        log_dir=tmp_path,
        concurrencies=[1, 4],
        params=[0.002, 0.008],
    )
    assert built == closed == [0.002, 0.008]  # once per value, not per point
    assert [(p.param, p.load) for p in result.points] == [
        (0.002, 1.0),
        (0.002, 4.0),
        (0.008, 1.0),
        (0.008, 4.0),
    ]
    assert (tmp_path / "point-003-concurrency-4-param-0.008").is_dir()
    by = {(p.param, p.load): p for p in result.points}
    # A closed loop of N with a fixed service time: throughput grows with N, shrinks with it.
    assert by[(0.002, 4.0)].value("throughput_qps") > by[(0.002, 1.0)].value("throughput_qps")  # type: ignore[operator]
    assert by[(0.008, 1.0)].value("throughput_qps") < by[(0.002, 1.0)].value("throughput_qps")  # type: ignore[operator]


def test_bad_grids_are_refused_before_any_run(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        loadgen.sweep(
            NullSut(), QSL, short_server(), log_dir=tmp_path, rates=[1], concurrencies=[1]
        )
    with pytest.raises(ValueError, match="positive"):
        loadgen.sweep(NullSut(), QSL, short_server(), log_dir=tmp_path, rates=[10, -1])
    with pytest.raises(ValueError, match="whole"):
        loadgen.sweep(NullSut(), QSL, short_server(), log_dir=tmp_path, concurrencies=[1.5])
    with pytest.raises(TypeError, match="callable"):
        loadgen.sweep(object(), QSL, short_server(), log_dir=tmp_path, rates=[1], params=[1])
    assert not (tmp_path / "sweep.json").exists()


def test_the_probe_runner_can_be_swapped(tmp_path: Path) -> None:
    calls: list[tuple[Any, Any]] = []

    def run_one(sut: Any, point: Any) -> loadgen.RunResult:
        calls.append((point.load, point.log_dir.name))
        return loadgen.run(
            sut,
            QSL,
            short_server().replace(server_target_qps=point.load),
            log_dir=point.log_dir,
            progress=False,
        )

    loadgen.sweep(NullSut(), QSL, short_server(), log_dir=tmp_path, rates=[50], run_probe=run_one)
    assert calls == [(50.0, "point-000-rate-50")]


def test_the_sweep_and_the_search_share_one_probe_loop(tmp_path: Path) -> None:
    # Each run is recorded by loadgen.probing's sequence, in the folder planned for it (a
    # sweep's point folders) or the search's probe-NN-<label> by default, timed, in order.
    from loadgen.probing import ProbeRunner, ProbeSequence
    from loadgen.sweeps import run_probes, sweep_points

    seen: list[Path] = []

    def run_one(sut: Any, point: Any) -> loadgen.RunResult:
        assert point.log_dir.is_dir()  # made before the run
        seen.append(point.log_dir)
        return loadgen.run(
            sut, QSL, short_server().replace(server_target_qps=point.load), log_dir=point.log_dir
        )

    planned = sweep_points("rate", [40.0, 80.0], [None], 1, tmp_path / "sweep")
    done = run_probes(planned, lambda _param: NullSut(), run_one)
    assert seen == [p.log_dir for p in planned] and len(done) == 2
    assert all((p.log_dir / "mlperf_log_summary.txt").is_file() for p in planned)

    runner = ProbeRunner(NullSut(), QSL, tmp_path / "search")
    assert isinstance(runner, ProbeSequence)
    first = runner.run("40 q/s", short_server().replace(server_target_qps=40))
    second = runner.run(
        "x", short_server().replace(server_target_qps=80), log_dir=tmp_path / "mine"
    )
    assert first.log_dir == tmp_path / "search" / "probe-00-40_q_s"
    assert second.log_dir == tmp_path / "mine" and second.index == 1
    assert runner.runs == [first, second] and first.wall_s > 0
    assert (second.log_dir / "mlperf_log_detail.txt").is_file()


def test_the_sweep_exit_status_puts_a_generator_flag_before_validity() -> None:
    from loadgen.sweep_cli import sweep_exit_status
    from loadgen.sweeps import Sweep, SweepPoint

    def with_runs(*runs: dict[str, float]) -> Sweep:
        point = SweepPoint(0, 1.0, None, runs, {})
        return Sweep("rate", (point,), Path("."), 1, 0.95, "Server", False)

    assert sweep_exit_status(with_runs({"valid": 1.0, "generator_limited": 0.0})) == 0
    assert sweep_exit_status(with_runs({"valid": 1.0}, {"valid": 0.0})) == 1
    assert (
        sweep_exit_status(with_runs({"valid": 0.0}, {"valid": 1.0, "generator_limited": 1.0})) == 3
    )


# --- report and compare ----------------------------------------------------------------------


def test_report_and_compare_of_sweeps_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    # Few queries: validity is not the point here (1 if INVALID), and under 100 scheduled
    # queries the self-check gives no lateness verdict, so 3 cannot come from a busy machine.
    common = ["--min-duration-ms", "300", "--min-query-count", "10", "--no-report"]
    common += ["--target-latency-ms", "100"]
    for name, sut in (("a", "null"), ("b", "sleep")):
        code = cli_main(
            [
                "sweep",
                "demo",
                "--demo-sut",
                sut,
                "--rates",
                "20,40",
                "--log-dir",
                str(tmp_path / name),
            ]
            + common
        )
        assert code in (0, 1)
    out = capsys.readouterr().out
    assert "rate 20" in out and "sweep results:" in out

    assert cli_main(["report", str(tmp_path / "b")]) == 0
    report = tmp_path / "b" / "report.html"
    text = report.read_text()
    assert "loadgen sweep: Server, over rate" in text and "point-001-rate-40" in text
    assert (tmp_path / "b" / "report-latency_throughput.png").is_file()
    assert (tmp_path / "b" / "report-load.png").is_file()
    assert not (tmp_path / "b" / "report-pareto.png").exists()  # not a token run

    capsys.readouterr()
    html = tmp_path / "compare.html"
    assert cli_main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "latency_p50_ms @ rate 20" in out and "latency_p50_ms @ rate 40" in out
    assert 'alt="latency against throughput"' in html.read_text()
    # A sweep and a run are not compared.
    run_dir = tmp_path / "a" / "point-000-rate-20"
    assert cli_main(["compare", str(tmp_path / "a"), str(run_dir)]) == 2


def test_sweep_figures_carry_their_lines(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from loadgen.report.sweeps import latency_throughput_figure, load_figure

    sut = SleepSut(latency_s=0.002)
    try:
        result = loadgen.sweep(sut, QSL, short_server(), log_dir=tmp_path, rates=[50, 150])
    finally:
        sut.close()
    fig = latency_throughput_figure(result)
    assert fig is not None
    gids = {line.get_gid() for line in fig.axes[0].get_lines()}
    assert {"p50", "p99"} <= gids
    p99 = next(line for line in fig.axes[0].get_lines() if line.get_gid() == "p99")
    xs, ys = p99.get_data()
    assert list(xs) == [p.value("throughput_qps") for p in result.points]
    assert list(ys) == [p.value("latency_p99_ms") for p in result.points]
    load = load_figure(result)
    assert load is not None
    assert {"throughput", "ideal"} <= {line.get_gid() for line in load.axes[0].get_lines()}


# --- against llama.cpp's server ----------------------------------------------------------------


def test_a_sweep_against_llama_cpp_produces_the_report_figures(
    llama_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    log_dir = tmp_path / "sweep"
    code = cli_main(
        [
            "sweep",
            llama_server.url,
            "--api",
            "openai-chat",
            "--model",
            llama_server.model,
            "--concurrencies",
            "1,2,4",
            "--sample-count",
            "32",
            "--input-len",
            "uniform:4:12",
            "--output-len",
            "8",
            "--ignore-eos",
            "--use-token-latencies",
            "true",
            "--min-duration-ms",
            "1500",
            "--min-query-count",
            "8",
            "--log-dir",
            str(log_dir),
        ]
    )
    assert code in (0, 1)  # validity depends on this machine; the generator must not be flagged
    result = load_sweep(log_dir)
    assert result.token_run
    for point in result.points:
        run = point.runs[0]
        assert run["tokens_per_s"] > 0 and run["tokens_per_s_per_user"] > 0
        section = run["generator"]
        assert section["client"] is not None and section["client"]["queries"] > 0
        assert section["generator_limited"] is False
    # More users in flight: more total tokens/s than one alone.
    values = [p.value("tokens_per_s") for p in result.points]
    assert values[-1] > values[0]  # type: ignore[operator]
    for name in ("latency_throughput", "load", "pareto"):
        assert (log_dir / f"report-{name}.png").is_file(), name


@pytest.mark.parametrize("problem", ["unreachable", "bad dataset"])
def test_an_endpoint_sweep_that_cannot_start_says_why_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], problem: str
) -> None:
    from servers.fault_server import LISTED, FaultServer

    log_dir = tmp_path / "sweep"
    server = FaultServer().start()
    try:
        url = server.url
        if problem == "unreachable":
            server.stop()
        extra = ["--dataset", str(tmp_path / "missing.jsonl")] if problem == "bad dataset" else []
        code = cli_main(
            ["sweep", url, "--api", "openai", "--model", LISTED[0], "--rates", "5,10"]
            + ["--timeout-s", "2", "--log-dir", str(log_dir)]
            + extra
        )
    finally:
        if problem != "unreachable":
            server.stop()
    assert code == 2
    err = capsys.readouterr().err
    if problem == "unreachable":
        assert "nothing was sent" in err
    else:
        assert "missing.jsonl" in err
    assert not log_dir.exists() or not any(log_dir.iterdir())
