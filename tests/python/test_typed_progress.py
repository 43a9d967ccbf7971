"""Live progress: engine snapshots (loadgen._core._live_snapshot), the validity forecast, and the
rich display of loadgen.run and of mlperf_loadgen with LOADGEN_PROGRESS=1; token runs' TTFT and
TPOT."""

from __future__ import annotations

import io
import os
import queue
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import loadgen
import loadgen.progress as progress
import pytest
from loadgen import _core
from loadgen.demo import NullSut, SleepSut
from rich.console import Console

QSL = loadgen.InMemoryQsl(1024, 256)


def server_settings(**changes: Any) -> loadgen.Settings:
    return loadgen.Settings(
        scenario=loadgen.Scenario.SERVER,
        server_target_qps=1000,
        server_target_latency_ns=50_000_000,
        min_duration_ms=600,
        min_query_count=100,
    ).replace(**changes)


def snapshot(**changes: Any) -> Any:
    """A stand-in for loadgen._core.LiveSnapshot (same attributes)."""
    base: dict[str, Any] = dict(
        running=True,
        series=1,
        scenario="Server",
        accuracy=False,
        elapsed_s=2.0,
        min_duration_s=10.0,
        max_duration_s=0.0,
        min_query_count=1000,
        samples_per_query=1,
        generated_queries=20000,
        target_latency_ns=10_000_000,
        target_latency_percentile=0.99,
        target_qps=500.0,
        samples_issued=900,
        queries_issued=900,
        samples_completed=890,
        queries_completed=890,
        latencies_seen=890,
        latency_p50_ns=1_500_000,
        latency_p90_ns=3_000_000,
        latency_p99_ns=8_000_000,
        latency_at_target_ns=8_000_000,
        early_stopping_queries=299,
        use_token_latencies=False,
        tokens_seen=0,
        server_ttft_latency_ns=0,
        server_tpot_latency_ns=0,
        **{f"{m}_{p}_ns": 0 for m in ("ttft", "tpot") for p in ("p50", "p90", "p99", "at_target")},
    )
    base.update(changes)
    return SimpleNamespace(**base)


def token_snapshot(**changes: Any) -> Any:
    """A Server token run: target_latency is 0 (as mlperf.conf sets it), TTFT/TPOT are the targets."""
    return snapshot(
        **{
            **dict(
                use_token_latencies=True,
                tokens_seen=890,
                target_latency_ns=0,
                latency_at_target_ns=30_000_000,
                server_ttft_latency_ns=2_000_000,
                server_tpot_latency_ns=200_000,
                ttft_p50_ns=400_000,
                ttft_p90_ns=900_000,
                ttft_p99_ns=1_800_000,
                ttft_at_target_ns=1_800_000,
                tpot_p50_ns=120_000,
                tpot_p90_ns=150_000,
                tpot_p99_ns=190_000,
                tpot_at_target_ns=190_000,
            ),
            **changes,
        }
    )


def rows(text: str) -> dict[str, str]:
    """The rendered grid as {row label: rest of the line}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        label, _, rest = line.strip().partition(" ")
        out.setdefault(label, rest.strip())
    return out


def rendered(snap: Any) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(progress.ProgressDisplay.render(snap, None))
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


# --- forecast ------------------------------------------------------------------------------


def test_forecast_pending_until_every_minimum_is_reached() -> None:
    assert progress.forecast(snapshot()) == (
        "pending",
        "min duration in 8.0 s; 100 more queries for min_query_count",
    )
    assert progress.forecast(
        snapshot(queries_completed=100, queries_issued=100, elapsed_s=10.0)
    ) == ("pending", "900 more queries for min_query_count; early stopping needs 299 queries")
    assert progress.forecast(
        snapshot(elapsed_s=10.5, queries_issued=1000, queries_completed=990)
    ) == ("on track", "every constraint is met so far")


def test_forecast_server_latency_over_target_is_at_risk() -> None:
    state, details = progress.forecast(
        snapshot(latency_at_target_ns=12_500_000, elapsed_s=11.0, queries_issued=2000)
    )
    assert state == "at risk"
    assert details == "p99 latency 12.50 ms is over the 10.00 ms target"


def test_forecast_server_token_run_checks_ttft_and_tpot_instead_of_latency() -> None:
    met = dict(elapsed_s=11.0, queries_issued=2000, queries_completed=1990)
    # The end-to-end latency (30 ms over a 0 target) is not a constraint in a token run.
    assert progress.forecast(token_snapshot(**met)) == (
        "on track",
        "every constraint is met so far",
    )
    assert progress.forecast(token_snapshot(**met, ttft_at_target_ns=2_500_000)) == (
        "at risk",
        "p99 TTFT 2.50 ms is over the 2.00 ms target",
    )
    assert progress.forecast(
        token_snapshot(**met, ttft_at_target_ns=2_500_000, tpot_at_target_ns=250_000)
    ) == (
        "at risk",
        "p99 TTFT 2.50 ms is over the 2.00 ms target; p99 TPOT 250 µs is over the 200 µs target",
    )
    assert progress.forecast(token_snapshot(tpot_at_target_ns=210_000, elapsed_s=5.0)) == (
        "at risk",
        "p99 TPOT 210 µs is over the 200 µs target; min duration in 5.0 s; 100 more queries for min_query_count",
    )
    # Equal passes (the official compares with >), and nothing sampled yet is no risk.
    assert progress.forecast(token_snapshot(**met, ttft_at_target_ns=2_000_000))[0] == "on track"
    assert (
        progress.forecast(token_snapshot(**met, tokens_seen=0, ttft_at_target_ns=9_000_000))[0]
        == "on track"
    )
    # Outside Server the token figures have no target.
    ss = token_snapshot(
        **met, scenario="SingleStream", ttft_at_target_ns=9_000_000, tpot_at_target_ns=9_000_000
    )
    assert progress.forecast(ss)[0] == "on track"


def test_forecast_offline_and_accuracy() -> None:
    offline = snapshot(
        scenario="Offline",
        queries_issued=1,
        min_query_count=1,
        early_stopping_queries=0,
        elapsed_s=0.5,
        min_duration_s=0.0,
    )
    assert progress.forecast(offline) == ("on track", "every constraint is met so far")
    assert progress.forecast(snapshot(accuracy=True))[0] == "accuracy"


def test_format_ns() -> None:
    assert [progress.format_ns(v) for v in (512, 850_000, 1_234_567, 2_500_000_000)] == [
        "512 ns",
        "850 µs",
        "1.23 ms",
        "2.50 s",
    ]


def test_render_shows_every_figure() -> None:
    console = Console(file=io.StringIO(), width=140, color_system=None)
    console.print(progress.ProgressDisplay.render(snapshot(), 450.0))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "loadgen · Server · performance · 2.0 s" in text
    assert "2.0 / 10.0 s min" in text
    assert "900 issued / 1,000 min · 890 completed" in text
    assert "450.0 now · 445.0 avg · target 500.0" in text
    assert "p50 1.50 ms · p99 8.00 ms · target p99 10.00 ms (approximate: 890 sampled)" in text
    assert "pending · min duration in 8.0 s; 100 more queries for min_query_count" in text
    assert "TTFT" not in text and "TPOT" not in text  # not a token run


def test_render_token_run_shows_ttft_and_tpot_rows() -> None:
    shown = rows(rendered(token_snapshot()))
    # The latency row loses its target: a token run's Server targets are TTFT and TPOT.
    assert shown["latency"] == "p50 1.50 ms · p99 8.00 ms (approximate: 890 sampled)"
    assert (
        shown["TTFT"] == "p50 400 µs · p99 1.80 ms · target p99 2.00 ms (approximate: 890 sampled)"
    )
    assert shown["TPOT"] == "p50 120 µs · p99 190 µs · target p99 200 µs (approximate: 890 sampled)"
    assert (
        shown["forecast"] == "pending · min duration in 8.0 s; 100 more queries for min_query_count"
    )

    single = rows(
        rendered(
            token_snapshot(scenario="SingleStream", target_latency_percentile=0.9, tokens_seen=40)
        )
    )
    assert single["TTFT"] == "p50 400 µs · p99 1.80 ms (approximate: 40 sampled)"
    assert single["TPOT"] == "p50 120 µs · p99 190 µs (approximate: 40 sampled)"

    offline = rows(rendered(token_snapshot(scenario="Offline", ttft_p50_ns=0, ttft_p99_ns=0)))
    assert "TTFT" not in offline  # Offline records no first token
    assert offline["TPOT"] == "p50 120 µs · p99 190 µs (approximate: 890 sampled)"

    assert "TTFT" not in rows(rendered(token_snapshot(tokens_seen=0)))  # nothing sampled yet


# --- engine snapshots ----------------------------------------------------------------------


def test_live_snapshots_follow_a_run(tmp_path: Path) -> None:
    snaps: list[_core.LiveSnapshot] = []
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.05):
            snap = _core._live_snapshot()
            if snap is not None and snap.running:
                snaps.append(snap)

    before = _core._live_snapshot()
    poller = threading.Thread(target=poll)
    poller.start()
    sut = SleepSut(latency_s=0.002, per_sample_s=0.0)
    try:
        result = loadgen.run(
            sut, QSL, server_settings(min_duration_ms=400), log_dir=tmp_path, progress=False
        )
    finally:
        done.set()
        poller.join()
        sut.close()
    assert len(snaps) >= 4
    series = snaps[0].series
    assert before is None or before.series < series
    assert all(s.series == series for s in snaps)
    first = snaps[0]
    assert (first.scenario, first.accuracy, first.min_query_count, first.target_qps) == (
        "Server",
        False,
        100,
        1000.0,
    )
    assert first.min_duration_s == 0.4 and first.target_latency_ns == 50_000_000
    assert first.target_latency_percentile == 0.99
    for a, b in zip(snaps, snaps[1:]):
        assert a.elapsed_s < b.elapsed_s
        assert a.queries_completed <= b.queries_completed <= b.queries_issued
    last = snaps[-1]
    assert last.latencies_seen > 0
    assert 2_000_000 <= last.latency_p50_ns <= last.latency_p99_ns < 1_000_000_000
    assert (
        last.early_stopping_queries >= 299
    )  # MinPassing(t, 0.99) + t, t estimated from the sample
    assert not last.use_token_latencies and last.tokens_seen == 0
    assert last.ttft_p50_ns == last.tpot_p99_ns == last.server_ttft_latency_ns == 0
    # Between series the board keeps how the last one ended.
    final = _core._live_snapshot()
    assert final is not None and not final.running and final.series == series
    assert final.samples_completed == result.samples_completed
    assert final.queries_issued == result.queries_issued


class TokenSut:
    """Sends each sample's first token inside ``issue`` and completes it with 11 tokens 2 ms
    later on a worker thread: TTFT is the issue delay, TPOT at least 2 ms / 10."""

    def __init__(self) -> None:
        self._due: queue.SimpleQueue[tuple[float, list[int]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def issue(self, batch: loadgen.SampleBatch) -> None:
        loadgen.first_token(batch.ids)
        self._due.put((time.monotonic() + 0.002, list(batch.ids)))

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._due.put(None)
        self._thread.join()

    def _loop(self) -> None:
        while (item := self._due.get()) is not None:
            due, ids = item
            time.sleep(max(0.0, due - time.monotonic()))
            loadgen.complete(ids, [11] * len(ids))


def token_settings(**changes: Any) -> loadgen.Settings:
    return server_settings(
        use_token_latencies=True,
        server_ttft_latency_ns=40_000_000,
        server_tpot_latency_ns=5_000_000,
        min_duration_ms=600,
        min_query_count=100,
    ).replace(**changes)


def test_live_snapshots_of_a_token_run(tmp_path: Path) -> None:
    snaps: list[_core.LiveSnapshot] = []
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.05):
            snap = _core._live_snapshot()
            if snap is not None and snap.running:
                snaps.append(snap)

    poller = threading.Thread(target=poll)
    poller.start()
    sut = TokenSut()
    try:
        result = loadgen.run(
            sut, QSL, token_settings(min_duration_ms=400), log_dir=tmp_path, progress=False
        )
    finally:
        done.set()
        poller.join()
        sut.close()
    assert result.errors == 0
    last = snaps[-1]
    assert last.use_token_latencies
    assert (last.server_ttft_latency_ns, last.server_tpot_latency_ns) == (40_000_000, 5_000_000)
    assert 0 < last.tokens_seen == last.latencies_seen
    assert 0 < last.ttft_p50_ns <= last.ttft_p90_ns <= last.ttft_p99_ns == last.ttft_at_target_ns
    assert (
        200_000
        <= last.tpot_p50_ns
        <= last.tpot_p90_ns
        <= last.tpot_p99_ns
        == last.tpot_at_target_ns
    )
    # Sampled from the same completions, each with TTFT < latency and TPOT = (latency - TTFT) / 10.
    for p in ("p50", "p99"):
        assert getattr(last, f"ttft_{p}_ns") < getattr(last, f"latency_{p}_ns")
        assert getattr(last, f"tpot_{p}_ns") <= getattr(last, f"latency_{p}_ns") // 10
    # The final snapshot samples the very figures the result reports.
    final = _core._live_snapshot()
    assert final is not None and not final.running
    ttft, tpot = result.first_token_latency, result.time_per_output_token
    assert ttft is not None and tpot is not None
    assert final.tokens_seen <= result.samples_completed
    assert ttft.min_ns <= final.ttft_p50_ns <= final.ttft_p99_ns <= ttft.max_ns
    assert tpot.min_ns <= final.tpot_p50_ns <= final.tpot_p99_ns <= tpot.max_ns


# --- the display in loadgen.run ------------------------------------------------------------


def test_run_with_progress_draws_on_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()

    class Captured(progress.ProgressDisplay):
        def __init__(self) -> None:
            super().__init__(
                Console(file=out, force_terminal=True, width=140, color_system=None), interval_s=0.1
            )

    monkeypatch.setattr(progress, "ProgressDisplay", Captured)
    sut = SleepSut(latency_s=0.002, per_sample_s=0.0)
    try:
        result = loadgen.run(sut, QSL, server_settings(), log_dir=tmp_path, progress=True)
    finally:
        sut.close()
    assert result.valid
    text = out.getvalue()
    frames = text.count("loadgen · Server · performance")
    assert frames >= 4  # refreshed while running, plus the final frame
    final = text[text.rindex("loadgen · Server · performance") :]
    assert " s · finished" in final.splitlines()[0]
    assert (
        f"{result.queries_issued:,} issued / 100 min · {result.samples_completed:,} completed"
        in final
    )
    assert "on track · every constraint is met so far" in final
    assert "p50 " in final and "avg · target 1,000.0" in final


def test_run_with_progress_shows_ttft_and_tpot_of_a_token_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = Console(
        file=io.StringIO(), record=True, force_terminal=True, width=160, color_system=None
    )
    shown: list[progress.Snapshot] = []

    class Captured(progress.ProgressDisplay):
        def __init__(self) -> None:
            super().__init__(console, interval_s=0.1)

        def update(self, snap: progress.Snapshot | None) -> None:
            if snap is not None:
                shown.append(snap)
            super().update(snap)

    monkeypatch.setattr(progress, "ProgressDisplay", Captured)
    sut = TokenSut()
    try:
        result = loadgen.run(sut, QSL, token_settings(), log_dir=tmp_path, progress=True)
    finally:
        sut.close()
    assert result.errors == 0
    text = console.export_text()
    assert text.count("loadgen · Server · performance") >= 4
    final = rows(text[text.rindex("loadgen · Server · performance") :])
    snap = shown[-1]  # the final counters, drawn by stop()
    assert not snap.running and snap.tokens_seen > 0
    fmt = progress.format_ns
    sampled = f"(approximate: {snap.tokens_seen:,} sampled)"
    assert final["TTFT"] == (
        f"p50 {fmt(snap.ttft_p50_ns)} · p99 {fmt(snap.ttft_p99_ns)} · target p99 40.00 ms {sampled}"
    )
    assert final["TPOT"] == (
        f"p50 {fmt(snap.tpot_p50_ns)} · p99 {fmt(snap.tpot_p99_ns)} · target p99 5.00 ms {sampled}"
    )
    tpot = result.time_per_output_token
    assert tpot is not None and tpot.min_ns <= snap.tpot_p50_ns <= tpot.max_ns
    assert snap.tpot_p50_ns >= 200_000  # 2 ms over 10 tokens
    assert final["latency"].startswith("p50 ") and "target" not in final["latency"]


def test_progress_is_off_by_default_when_stderr_is_not_a_terminal(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    loadgen.run(
        NullSut(), QSL, loadgen.Settings(min_duration_ms=0, min_query_count=64), log_dir=tmp_path
    )
    assert capfd.readouterr().err == ""


def test_progress_true_without_rich_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    with pytest.warns(
        RuntimeWarning, match=r"^progress=True needs rich: pip install 'loadgen\[progress\]'"
    ):
        result = loadgen.run(
            NullSut(),
            QSL,
            loadgen.Settings(min_duration_ms=0, min_query_count=64),
            log_dir=tmp_path,
            progress=True,
        )
    assert result.valid


# --- mlperf_loadgen with LOADGEN_PROGRESS=1 ------------------------------------------------

COMPAT_CHILD = textwrap.dedent("""
    import sys, tempfile, time
    import mlperf_loadgen as lg

    def issue(samples):
        time.sleep(0.001)
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(100, 100, lambda x: None, lambda x: None)
    ts = lg.TestSettings()
    ts.min_duration_ms = 700
    ts.min_query_count = 100
    ls = lg.LogSettings()
    ls.log_output.outdir = sys.argv[1]
    lg.StartTestWithLogSettings(sut, qsl, ts, ls)
    print("done", flush=True)
""")


@pytest.mark.parametrize("enabled", [True, False])
def test_compat_module_shows_progress_only_when_asked(enabled: bool, tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(COMPAT_CHILD)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    env.pop("LOADGEN_PROGRESS", None)
    if enabled:
        env["LOADGEN_PROGRESS"] = "1"
    child = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout == "done\n"
    if enabled:
        # stderr is a pipe here, so rich prints the final frame only.
        assert "loadgen · SingleStream · performance" in child.stderr
        assert " s · finished" in child.stderr
        assert "forecast on track · every constraint is met so far" in child.stderr
    else:
        assert child.stderr == ""
