"""`loadgen report` on a run that wrote loadgen_results.json (docs/metrics.md): per-stage panels,
goodput against the SLO tiers and the inter-token latency distribution, checked as matplotlib
objects and in the page, as tests/python/test_report.py does for the official figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import loadgen
import pytest
from loadgen import report
from loadgen.metrics import MetricOptions, Slo

pytestmark = pytest.mark.usefixtures("hang_watchdog")


class TokenSut:
    def issue(self, batch: loadgen.SampleBatch) -> None:
        ids = list(batch.ids)
        loadgen.first_token(ids)
        loadgen.complete(ids, [4] * len(ids))

    def flush(self) -> None:
        pass


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> tuple[loadgen.RunResult, Path]:
    log_dir = tmp_path_factory.mktemp("staged")
    load = loadgen.Stages(
        [
            loadgen.Warmup(loadgen.ConstantRate(400, queries=20)),
            loadgen.Stage(loadgen.ConstantRate(400, queries=40), "steady"),
            loadgen.Stage(loadgen.Concurrency(2, queries=30), "closed"),
        ]
    )
    result = loadgen.run(
        TokenSut(),
        loadgen.InMemoryQsl(256, 64),
        loadgen.Settings(scenario=loadgen.Scenario.SERVER, use_token_latencies=True),
        log_dir=log_dir,
        load=load,
        metrics=MetricOptions(
            percentiles=(50, 99),
            tiers={"interactive": Slo(ttft_ms=60_000), "never": Slo(e2e_ms=1e-6)},
        ),
        progress=False,
    )
    return result, log_dir


def test_report_reads_the_results_file_and_draws_stages_and_goodput(
    staged: tuple[loadgen.RunResult, Path], tmp_path: Path
) -> None:
    result, log_dir = staged
    run = report.load_run(log_dir)
    assert run.results is not None and run.results["schema_version"] == 1
    figures = report.build_figures(run)
    assert {"stages", "goodput"} <= set(figures)
    assert "itl_distribution" not in figures  # an in-process SUT sees no chunks
    stages_ax = figures["stages"].axes[0]
    heights = [p.get_height() for p in stages_ax.patches]
    assert heights == pytest.approx([s.completed_qps for s in result.stages])
    p99 = [ln for ln in figures["stages"].axes[1].lines if ln.get_label() == "p99"][0]
    assert list(p99.get_ydata()) == pytest.approx(
        [s.metrics.e2e_ns.percentiles[99] / 1e6 for s in result.stages]  # type: ignore[union-attr]
    )
    goodput = [p.get_height() for p in figures["goodput"].axes[0].patches]
    assert goodput == [100.0, 0.0]

    written = report.write_report(run, tmp_path / "out.html")
    page = written[0].read_text()
    for i, stage in enumerate(result.stages):
        assert f'id="stage-{i}"' in page
        assert stage.name in page
    assert "(not measured)" in page  # the warm-up stage's panel says so
    assert 'id="goodput"' in page and "e2e_ms &lt;= 1e-06" in page
    assert "inter-token latency" not in page  # no ITL row without chunks


def test_the_itl_distribution_is_drawn_through_its_percentiles(
    staged: tuple[loadgen.RunResult, Path], tmp_path: Path
) -> None:
    # An endpoint run's file has ITL values; here the TPOT distribution stands in for them.
    _, log_dir = staged
    for f in log_dir.iterdir():
        shutil.copy(f, tmp_path)
    path = tmp_path / "loadgen_results.json"
    doc = json.loads(path.read_text())
    doc["metrics"]["itl_ns"] = dict(doc["metrics"]["tpot_ns"], min=1_000_000.0, max=9_000_000.0)
    doc["metrics"]["itl_ns"]["percentiles"] = {"50": 2_000_000.0, "99": 8_000_000.0}
    path.write_text(json.dumps(doc))
    run = report.load_run(tmp_path)
    fig = report.build_figures(run)["itl_distribution"]
    itl = [ln for ln in fig.axes[0].lines if ln.get_label().startswith("inter-token")][0]
    assert list(itl.get_xdata()) == [1.0, 2.0, 8.0, 9.0]
    assert list(itl.get_ydata()) == [0.0, 0.5, 0.99, 1.0]
    page = report.render_html(run, {}, [])
    assert "inter-token latency (ms)" in page


def test_a_results_file_of_a_newer_schema_is_an_error(
    staged: tuple[loadgen.RunResult, Path], tmp_path: Path
) -> None:
    _, log_dir = staged
    for f in log_dir.iterdir():
        shutil.copy(f, tmp_path)
    (tmp_path / "loadgen_results.json").write_text('{"schema_version": 2}')
    with pytest.raises(report.ReportError, match="schema_version 2"):
        report.load_run(tmp_path)
