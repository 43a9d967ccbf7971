"""`loadgen report`, `loadgen compare` and `loadgen validate`, on logs of the official LoadGen
(tests/data/reference_runs, tests/data/reference) and on short real runs of ours.

The figures are checked as matplotlib objects (labels, plotted points, target lines); the numbers
read back from a trace must reproduce the detail log's percentiles exactly (index floor(n·p) of
the sorted latencies: docs/official-behaviour.md#results-latencies), which proves the per-sample
data is the measured series. The page is also opened in a headless browser.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import loadgen
import pytest
from loadgen import report
from loadgen.__main__ import main
from loadgen.demo import SleepSut

DATA = Path(__file__).resolve().parents[1] / "data"
OFFICIAL_SS_TRACE = DATA / "reference_runs" / "probe_logsettings_prefix_suffix_datetime"
OFFICIAL_TOKEN_SERVER = DATA / "reference" / "token_server"  # detail + summary, no trace
OFFICIAL_INVALID = DATA / "reference" / "probe_err_max_query_count"

Run = tuple[loadgen.RunResult, Path]  # a run of ours and its log folder
Report = tuple[report.RunLogs, list[Path]]  # its parsed logs and the files write_report wrote


def percentile(sorted_values: list[int], p: float) -> int:
    return sorted_values[int(len(sorted_values) * p)]


def assert_reproduces_detail(run: report.RunLogs, family: str, values: list[int]) -> None:
    stats = run.stats(family)
    assert stats is not None
    values = sorted(values)
    assert values[0] == stats.min_ns and values[-1] == stats.max_ns
    assert sum(values) // len(values) == stats.mean_ns
    assert {p: percentile(values, p) for p in report.PERCENTILES} == stats.percentiles_ns


def line(fig: Any, gid: str) -> Any:
    lines = [ln for ax in fig.axes for ln in ax.lines]
    found = [ln for ln in lines if ln.get_gid() == gid]
    assert found, f"no line with gid {gid!r}; have {[ln.get_gid() for ln in lines]}"
    return found[0]


def histogram_total(ax: Any) -> int:
    (patch,) = [p for p in ax.patches if p.get_gid() == "samples"]
    return int(patch.get_data().values.sum())


def has_target(ax: Any) -> bool:
    return any(ln.get_gid() == "target" for ln in ax.lines)


class TokenSut:
    """Completes inline: first token, then the sample with a fixed token count."""

    n_tokens = 5

    def issue(self, batch: loadgen.SampleBatch) -> None:
        ids = list(batch.ids)
        loadgen.first_token(ids)
        loadgen.complete(ids, [self.n_tokens] * len(ids))

    def flush(self) -> None:
        pass


@pytest.fixture(scope="module")
def server_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A real Server run of our loadgen with a trace (about 0.3 s)."""
    log_dir = tmp_path_factory.mktemp("server")
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.SERVER,
        server_target_qps=1000,
        server_target_latency_ns=20_000_000,
        min_duration_ms=300,
        min_query_count=300,
    )
    sut = SleepSut(latency_s=0.001, per_sample_s=0.0)
    try:
        result = loadgen.run(
            sut,
            loadgen.InMemoryQsl(1024, 256),
            settings,
            log=loadgen.LogOptions(outdir=log_dir, enable_trace=True),
        )
    finally:
        sut.close()
    return result, log_dir


@pytest.fixture(scope="module")
def token_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A SingleStream token run with a trace and every sample in the accuracy log."""
    log_dir = tmp_path_factory.mktemp("tokens")
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.SINGLE_STREAM,
        use_token_latencies=True,
        min_duration_ms=0,
        min_query_count=200,
        accuracy_log_probability=1.0,
    )
    result = loadgen.run(
        TokenSut(),
        loadgen.InMemoryQsl(1024, 256),
        settings,
        log=loadgen.LogOptions(outdir=log_dir, enable_trace=True),
    )
    return result, log_dir


@pytest.fixture(scope="module")
def server_report(server_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Report:
    """The report of the Server run (written once: drawing the PNGs is the slow part)."""
    run = report.load_run(server_run[1])
    output = tmp_path_factory.mktemp("report") / "out" / "server.html"
    return run, report.write_report(run, output)


# --- official logs ---------------------------------------------------------------------------


def test_official_trace_is_read_despite_double_quoted_strings() -> None:
    trace = next(OFFICIAL_SS_TRACE.glob("*trace*.json"))
    with pytest.raises(json.JSONDecodeError):
        json.loads(trace.read_text())  # the official file is not strict JSON
    keys = [e["args"]["key"] for e in report.trace_events(trace, ["LogDetail"])]
    assert keys[0] == "loadgen_version" and "result_validity" in keys


def test_official_prefixed_logs_give_the_measured_samples() -> None:
    # The folder also holds stdout_copy_detail_and_summary.txt: the detail log is the one with a
    # summary named like it.
    run = report.load_run(OFFICIAL_SS_TRACE)
    assert run.detail_path.name == "pre_2026-11-28T16:46:00Z_detail_suf.txt"
    assert run.summary_path is not None
    assert run.summary_path.name == "pre_2026-11-28T16:46:00Z_summary_suf.txt"
    assert (run.scenario, run.mode, run.valid) == ("SingleStream", "PerformanceOnly", False)
    assert run.samples is not None
    assert len(run.samples) == run.value("result_query_count") == 45
    assert_reproduces_detail(run, "latency", [s.latency_ns for s in run.samples])
    assert all(s.issue_delay_ns == 0 for s in run.samples)  # SingleStream: scheduled = issued


def test_official_figures_have_one_point_per_sample() -> None:
    run = report.load_run(OFFICIAL_SS_TRACE)
    assert run.samples is not None
    n = len(run.samples)
    figures = report.build_figures(run)
    assert list(figures) == [
        "latency_cdf",
        "latency_histogram",
        "latency_over_time",
        "throughput_over_time",
    ]

    cdf = figures["latency_cdf"].axes[0]
    assert (cdf.get_xlabel(), cdf.get_ylabel()) == (
        "latency (ms)",
        "fraction of samples at or below",
    )
    samples = line(figures["latency_cdf"], "samples")
    assert len(samples.get_xdata()) == n
    assert list(samples.get_ydata())[-1] == 1.0
    target = line(figures["latency_cdf"], "target")  # SingleStream: the target percentile
    assert list(target.get_ydata()) == [0.9, 0.9]
    marks = [ln for ln in cdf.lines if ln.get_gid() == "percentile"]
    logged = [run.value(f"result_{p}_percentile_latency_ns") for p in ("50.00", "90.00", "99.00")]
    assert [ln.get_xdata()[0] for ln in marks] == [v / 1e6 for v in logged]

    assert histogram_total(figures["latency_histogram"].axes[0]) == n
    assert len(line(figures["latency_over_time"], "samples").get_xdata()) == n

    throughput = figures["throughput_over_time"].axes[0]
    (stairs,) = throughput.patches
    counts = stairs.get_data().values * (stairs.get_data().edges[1] - stairs.get_data().edges[0])
    assert round(float(counts.sum())) == n
    assert throughput.get_ylabel() == "samples per second"


def test_official_token_run_without_trace_uses_the_detail_percentiles() -> None:
    run = report.load_run(OFFICIAL_TOKEN_SERVER)
    assert run.samples is None and run.use_tokens
    figures = report.build_figures(run)
    assert list(figures) == ["latency_cdf", "token_latencies"]
    coarse = line(figures["latency_cdf"], "percentiles")
    assert len(coarse.get_xdata()) == 8  # min, six percentiles, max
    assert coarse.get_xdata()[-1] == run.value("result_max_latency_ns") / 1e6
    ttft_ax, tpot_ax = figures["token_latencies"].axes
    assert (ttft_ax.get_title(), tpot_ax.get_title()) == (
        "time to first token",
        "time per output token",
    )
    heights = [p.get_height() for p in ttft_ax.patches]
    assert heights[1] == run.value("result_first_token_50.00_percentile_latency_ns") / 1e6
    assert len(heights) == 8
    # Server token run: the 100 ms TTFT and TPOT bounds, far above the data, stay off the axis.
    assert has_target(ttft_ax) and has_target(tpot_ax)
    legend = [t.get_text() for t in ttft_ax.get_legend().get_texts()]
    assert "target 100 ms (beyond the axis)" in legend


def test_official_invalid_run_verdict_lists_the_reasons(tmp_path: Path) -> None:
    run = report.load_run(OFFICIAL_INVALID)
    verdict, reasons = run.verdict()
    assert verdict == "INVALID"
    assert "fewer queries than the minimum query count were issued" in reasons
    assert any("The test exited early" in r for r in reasons)
    assert [title for title, _ in run.early_stopping()] == ["Early stopping"]
    written = report.write_report(run, tmp_path / "r.html")
    page = written[0].read_text()
    assert 'class="verdict INVALID"' in page and "The test exited early" in page
    assert "error_runtime" in page  # the detail log's error lines are listed


# --- our runs --------------------------------------------------------------------------------


def test_server_run_report_figures_and_exports(server_run: Run, server_report: Report) -> None:
    result, _ = server_run
    run, written = server_report
    assert run.samples is not None
    n = len(run.samples)
    assert n == result.samples_completed
    assert_reproduces_detail(run, "latency", [s.latency_ns for s in run.samples])

    figures = report.build_figures(run)
    assert list(figures) == [
        "latency_cdf",
        "latency_histogram",
        "latency_over_time",
        "throughput_over_time",
        "issue_lag",
    ]
    assert len(line(figures["latency_cdf"], "samples").get_xdata()) == n
    target = line(figures["latency_cdf"], "target")
    assert list(target.get_xdata()) == [20.0, 20.0]  # server_target_latency_ns in ms
    lag = figures["issue_lag"].axes[0]
    assert lag.get_ylabel() == "issue lag (µs, issued - scheduled)"
    lags = line(figures["issue_lag"], "samples").get_ydata()
    assert list(lags) == [s.issue_delay_ns / 1e3 for s in run.samples]
    assert has_target(figures["throughput_over_time"].axes[0])  # the target QPS

    out = written[0].parent
    names = sorted(p.name for p in written)
    assert names == sorted(
        ["server.html", "server-samples.csv", "server-samples.json"]
        + [f"server-{f}.png" for f in figures]
    )
    page = (out / "server.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(figures)
    assert f'class="verdict {"VALID" if result.valid else "INVALID"}"' in page
    with open(out / "server-samples.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == n and [int(r["latency_ns"]) for r in rows] == [
        s.latency_ns for s in run.samples
    ]
    exported = json.loads((out / "server-samples.json").read_text())
    assert len(exported["samples"]) == n
    assert exported["results"]["result_validity"] == run.value("result_validity")


def test_token_run_figure_uses_the_detail_percentiles_without_token_events(token_run: Run) -> None:
    result, log_dir = token_run
    run = report.load_run(log_dir)
    assert run.samples is not None and len(run.samples) == result.samples_completed
    assert all(s.n_tokens == TokenSut.n_tokens for s in run.samples)  # from the accuracy log
    fig = report.build_figures(run)["token_latencies"]
    ttft_ax, tpot_ax = fig.axes
    if all(s.ttft_ns is None for s in run.samples):  # the trace has no Token events
        bars = [p.get_height() for p in ttft_ax.patches]
        assert bars[0] == run.value("result_first_token_min_latency_ns") / 1e6 and len(bars) == 8
    else:
        assert_reproduces_detail(run, "ttft", [s.ttft_ns for s in run.samples])
        assert_reproduces_detail(run, "tpot", [s.tpot_ns for s in run.samples])
    assert not has_target(ttft_ax) and not has_target(tpot_ax)  # TTFT/TPOT bounds: Server only


def test_token_events_give_per_sample_ttft_and_tpot(token_run: Run, tmp_path: Path) -> None:
    """A trace with "Token" async events (the first token of each sample;
    docs/official-behaviour.md#logging-trace) gives per-sample TTFT, and with the accuracy log's
    token counts, TPOT = (latency - TTFT) // (n - 1)."""
    _, log_dir = token_run
    for f in log_dir.iterdir():
        shutil.copy(f, tmp_path)
    trace = tmp_path / "mlperf_log_trace.json"
    lines = trace.read_text().splitlines(keepends=True)
    token_lines = []
    for event in report.trace_events(trace, ["Sample"]):
        if event["ph"] == "b":
            args = dict(event["args"], complete_ns=event["args"]["complete_ns"] // 3)
            token = json.dumps(dict(event, name="Token", args=args), separators=(",", ":"))
            token_lines.append(token + ",\n")
    trace.write_text(lines[0] + "".join(token_lines) + "".join(lines[1:]))

    run = report.load_run(tmp_path)
    assert run.samples is not None
    assert [s.ttft_ns for s in run.samples] == [s.latency_ns // 3 for s in run.samples]
    assert [s.tpot_ns for s in run.samples] == [
        (s.latency_ns - s.latency_ns // 3) // 4 for s in run.samples
    ]
    ttft_ax, tpot_ax = report.build_figures(run)["token_latencies"].axes
    assert ttft_ax.get_xlabel() == "time to first token (ms)"
    assert tpot_ax.get_xlabel() == "time per output token (ms)"
    assert histogram_total(ttft_ax) == histogram_total(tpot_ax) == len(run.samples)
    report.write_samples_csv(run.samples, tmp_path / "samples.csv")
    with open(tmp_path / "samples.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["tpot_ns"]) for r in rows] == [s.tpot_ns for s in run.samples]


# --- command line ----------------------------------------------------------------------------


def test_cli_report_and_compare(
    server_run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, log_dir = server_run
    out = tmp_path / "official.html"
    assert main(["report", str(OFFICIAL_SS_TRACE), "-o", str(out)]) == 0
    assert out.is_file() and (tmp_path / "official-latency_cdf.png").is_file()
    capsys.readouterr()

    assert (
        main(
            ["compare", str(OFFICIAL_SS_TRACE), str(log_dir), "--html", str(tmp_path / "cmp.html")]
        )
        == 0
    )
    text = capsys.readouterr().out
    rows = {r.split()[0]: r for r in text.splitlines() if r.strip()}
    assert rows["scenario"].split()[1:] == ["SingleStream", "Server"]
    assert "result_min_duration_met" in rows and "result_completed_samples_per_sec" in rows
    assert rows["result_query_count"].split()[1] == "45"
    page = (tmp_path / "cmp.html").read_text()
    assert page.count("data:image/png;base64,") == 1

    ours = report.load_run(log_dir)
    assert ours.samples is not None
    fig = report.build_compare_figure(report.load_run(OFFICIAL_SS_TRACE), ours, "A", "B")
    assert fig is not None
    assert [len(line(fig, gid).get_xdata()) for gid in ("A", "B")] == [45, len(ours.samples)]


def test_cli_report_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "no detail log (*detail*.txt) in this folder" in capsys.readouterr().err
    nested = tmp_path / "two"
    for name in ("first", "second"):
        (nested / name).mkdir(parents=True)
        shutil.copy(OFFICIAL_INVALID / "mlperf_log_detail.txt", nested / name)
    assert main(["report", str(nested)]) == 2
    assert "its subfolders first, second have one" in capsys.readouterr().err


def test_without_matplotlib_report_says_what_to_install_and_compare_still_works(
    tmp_path: Path,
) -> None:
    output = tmp_path / "out" / "r.html"
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"  # makes `import matplotlib` fail
        "from loadgen.__main__ import main\n"
        f"print('report', main(['report', {str(OFFICIAL_INVALID)!r}, '-o', {str(output)!r}]))\n"
        f"print('compare', main(['compare', {str(OFFICIAL_INVALID)!r}, {str(OFFICIAL_TOKEN_SERVER)!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert "pip install 'loadgen[report]'" in proc.stderr
    assert "report 2" in proc.stdout and "compare 0" in proc.stdout
    assert "result_validity" in proc.stdout
    assert not (tmp_path / "out").exists()


def test_report_html_opens_in_headless_chromium(server_report: Report, tmp_path: Path) -> None:
    # tests/run_all.sh installs Debian's chromium-headless-shell when no browser is present.
    names = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
    browser = next((path for path in map(shutil.which, names) if path), None)
    assert browser is not None, f"no headless browser ({', '.join(names)}): run tests/run_all.sh"
    page = server_report[1][0]
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'id="verdict"' in proc.stdout and proc.stdout.count("<img") == 5
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert console == []


# --- loadgen validate ------------------------------------------------------------------------


def test_validate_reports_silent_pitfalls_with_file_and_line(tmp_path: Path) -> None:
    conf = tmp_path / "user.conf"
    conf.write_text(
        "# a comment line is fine\n"
        "*.SingleStream.target_latency=5\n"
        "*.Server.target_qps = 100 # per second\n"
        "*.*.min_query_count = 010\n"
        "*.*.min_querry_count = 10\n"
        "*.Offline.target_qps = 2000\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "loadgen", "validate", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    pattern = rf"^{re.escape(str(conf))}:(\d+): (.*)$"
    messages = {int(m[1]): m[2] for m in re.finditer(pattern, proc.stdout, re.M)}
    assert sorted(messages) == [2, 3, 4, 5], proc.stdout
    assert (
        "no spaces around '='" in messages[2] and "*.SingleStream.target_latency = 5" in messages[2]
    )
    assert "comment after the value" in messages[3]
    assert "read as octal (= 8)" in messages[4] and "*.*.min_query_count = 8" in messages[4]
    assert "unknown key 'min_querry_count'" in messages[5] and "*.*.min_query_count" in messages[5]


def test_validate_accepts_a_clean_file(tmp_path: Path) -> None:
    conf = tmp_path / "user.conf"
    conf.write_text("*.Offline.target_qps = 2000\nresnet50.Server.target_qps = 1000.5\n")
    proc = subprocess.run(
        [sys.executable, "-m", "loadgen", "validate", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, "no problems found\n")
