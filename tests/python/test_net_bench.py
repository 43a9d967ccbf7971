"""loadgen bench: settings from flags and user.conf, datasets, clear errors before any load, and
runs against the real llama.cpp server, the real Triton and the fault server."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from loadgen import Mode, Scenario
from loadgen.__main__ import main
from loadgen.errors import ConfigError
from loadgen.net.bench import add_bench_arguments, make_dataset, settings_from_args
from loadgen.net.cli import add_endpoint_arguments
from loadgen.net.datasets import DatasetError
from loadgen.net.probe import Preflight
from loadgen.report import load_run
from servers.fault_server import FaultServer
from servers.fixtures import LlamaServer, TritonServer
from servers.process import free_port

LOG_FILES = (
    "mlperf_log_summary.txt",
    "mlperf_log_detail.txt",
    "mlperf_log_accuracy.json",
    "mlperf_log_trace.json",
)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_endpoint_arguments(parser)
    add_bench_arguments(parser)
    return parser.parse_args(["http://127.0.0.1:1", "--log-dir", "unused", *argv])


# ------------------------------------------------------------------------- settings and data


def test_every_setting_has_a_flag_and_flags_override_the_user_conf(tmp_path: Path) -> None:
    conf = tmp_path / "user.conf"
    conf.write_text(
        "*.Server.target_qps = 7\n*.Server.min_duration = 3000\n*.Server.min_query_count = 9\n"
    )
    args = parse(
        "--user-conf",
        str(conf),
        "--min-duration-ms",
        "1500",
        "--server-coalesce-queries",
        "true",
        "--mode",
        "accuracy",
    )
    settings = settings_from_args(args, Scenario.SERVER, "m")
    assert settings.server_target_qps == 7  # from the file
    assert settings.min_query_count == 9
    assert settings.min_duration_ms == 1500  # the flag wins
    assert settings.server_coalesce_queries is True and settings.mode is Mode.ACCURACY
    assert settings.provenance["min_duration_ms"] == "command line"
    assert settings.provenance["server_target_qps"].endswith("user.conf:1")


def test_target_qps_is_the_target_of_the_scenario() -> None:
    args = parse("--target-qps", "20", "--target-latency-ms", "250")
    server = settings_from_args(args, Scenario.SERVER, "m")
    assert server.server_target_qps == 20 and server.server_target_latency_ns == 250_000_000
    offline = settings_from_args(args, Scenario.OFFLINE, "m")
    assert offline.offline_expected_qps == 20 and offline.server_target_qps == 1.0


def test_bad_settings_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="server_target_qps"):
        settings_from_args(parse("--target-qps", "-1"), Scenario.SERVER, "m")
    conf = tmp_path / "user.conf"
    conf.write_text("*.Server.target_qsp = 7\n")
    with pytest.raises(ConfigError, match="user.conf:1"):
        settings_from_args(parse("--user-conf", str(conf)), Scenario.SERVER, "m")
    with pytest.raises(SystemExit):
        parse("--print-timestamps", "maybe")


def test_synthetic_dataset_follows_the_api() -> None:
    chat = make_dataset(
        parse("--sample-count", "5", "--input-len", "uniform:3:6", "--output-len", "4"),
        "openai-chat",
        Preflight("m"),
    )
    assert len(chat) == 5 and all(s.messages and s.max_tokens == 4 for s in chat)
    ids = make_dataset(
        parse("--sample-count", "3", "--input-len", "7", "--vocab-size", "500"),
        "openai",
        Preflight("m"),
    )
    assert all(s.token_ids is not None and len(s.token_ids) == 7 for s in ids)
    text = make_dataset(parse("--sample-count", "3"), "openai", Preflight("m"))
    assert all(s.prompt for s in text)  # no vocabulary size known: text prompts
    metadata = {"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [-1, -1]}]}
    tensors = make_dataset(
        parse("--sample-count", "4", "--dynamic-dim", "3"), "kserve", Preflight("m", metadata)
    )
    assert tensors[0].tensors is not None and tensors[0].tensors["INPUT0"].shape == (1, 3)
    with pytest.raises(DatasetError, match="--metadata-url"):
        make_dataset(parse(), "kserve-grpc", Preflight("m"))


def test_dataset_files_must_fit_the_api(tmp_path: Path) -> None:
    npy = tmp_path / "x.npy"
    np.save(npy, np.ones((2, 4), dtype=np.float32))
    metadata = {"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [-1, -1]}]}
    ds = make_dataset(parse("--dataset", str(npy)), "kserve", Preflight("identity", metadata))
    assert ds[1].tensors is not None and list(ds[1].tensors) == ["INPUT0"]  # the model's only input
    with pytest.raises(DatasetError, match="not openai"):
        make_dataset(parse("--dataset", str(npy)), "openai", Preflight("m"))
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"prompt": "hi"}\n')
    with pytest.raises(DatasetError, match="not JSONL"):
        make_dataset(parse("--dataset", str(jsonl)), "kserve", Preflight("m", metadata))
    assert (
        make_dataset(parse("--dataset", str(jsonl), "--max-tokens", "5"), "openai", Preflight("m"))[
            0
        ].max_tokens
        == 5
    )


# ------------------------------------------------------------- clear errors before any load


def test_unreachable_server_is_an_error_before_any_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["bench", url, "--model", "m", "--log-dir", str(tmp_path / "logs")]) == 2
    err = capsys.readouterr().err
    assert "connection refused" in err and "the test did not start" in err
    assert not (tmp_path / "logs").exists()


def test_missing_model_is_an_error_before_any_load(
    fault_server: FaultServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(fault_server.requests)
    assert (
        main(
            [
                "bench",
                fault_server.url,
                "--api",
                "openai-chat",
                "--model",
                "gpt-9",
                "--log-dir",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "model 'gpt-9' is not listed by GET /v1/models" in capsys.readouterr().err
    assert len(fault_server.requests) == before  # not one inference request was sent
    assert not list(tmp_path.iterdir())


def test_a_bad_dataset_is_an_error_before_any_load(
    fault_server: FaultServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a"}\n{"prompt": }\n')
    assert (
        main(
            [
                "bench",
                fault_server.url,
                "--model",
                "ok",
                "--dataset",
                str(bad),
                "--log-dir",
                str(tmp_path / "logs"),
            ]
        )
        == 2
    )
    assert f"{bad}:2: not valid JSON" in capsys.readouterr().err


def test_client_options_the_native_client_rejects_are_errors_before_any_load(
    fault_server: FaultServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(fault_server.requests)
    assert (
        main(
            [
                "bench",
                fault_server.url,
                "--model",
                "ok",
                "--max-connections",
                "0",
                "--log-dir",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "max_connections must be >= 1 (the test did not start)" in capsys.readouterr().err
    assert len(fault_server.requests) == before
    assert not (tmp_path / "mlperf_log_summary.txt").exists()


# ------------------------------------------------------------------------ runs (native client)

SHORT = ["--min-duration-ms", "300", "--min-query-count", "16", "--no-report"]


def bench(*argv: str) -> int:
    return main(["bench", *argv])


def check_logs(log_dir: Path, scenario: str) -> None:
    for name in LOG_FILES:
        assert (log_dir / name).is_file(), name
    run = load_run(log_dir)
    assert run.scenario == scenario
    stats = json.loads((log_dir / "endpoint.json").read_text())
    assert stats["failed"] == 0, stats
    assert stats["completed"] == stats["issued"] > 0


@pytest.mark.parametrize("scenario", ["SingleStream", "MultiStream", "Server", "Offline"])
def test_bench_llama_chat_streaming_in_every_scenario(
    llama_server: LlamaServer, tmp_path: Path, scenario: str
) -> None:
    extra = {
        "MultiStream": ["--multi-stream-samples-per-query", "2"],
        "Server": ["--target-qps", "40"],
        "Offline": ["--target-qps", "40"],
    }.get(scenario, [])
    rc = bench(
        llama_server.url,
        "--api",
        "openai-chat",
        "--model",
        llama_server.model,
        "--scenario",
        scenario,
        "--sample-count",
        "32",
        "--input-len",
        "uniform:4:12",
        "--output-len",
        "4",
        "--log-dir",
        str(tmp_path),
        *SHORT,
        *extra,
    )
    check_logs(tmp_path, scenario)
    stats = json.loads((tmp_path / "endpoint.json").read_text())
    assert stats["tokens_from_usage"] == stats["completed"]  # llama-server sends usage
    # Queries of one sample may be written by IssueQuery itself; batches never are.
    if scenario == "Server":
        assert stats["written_on_issue"] > 0
    elif scenario in ("MultiStream", "Offline"):
        assert stats["written_on_issue"] == 0
    assert rc in (0, 1)  # the verdict depends on this machine's load; the run itself must complete


def test_bench_llama_completions_with_token_id_prompts_and_jsonl(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    rc = bench(
        llama_server.url,
        "--api",
        "openai",
        "--model",
        llama_server.model,
        "--scenario",
        "Offline",
        "--target-qps",
        "50",
        "--vocab-size",
        str(llama_server.vocab_size),
        "--first-token-id",
        str(llama_server.first_printable_id),
        "--input-len",
        "8",
        "--output-len",
        "3",
        "--log-dir",
        str(tmp_path / "ids"),
        *SHORT,
    )
    check_logs(tmp_path / "ids", "Offline")
    data = tmp_path / "prompts.jsonl"
    data.write_text(
        "\n".join(json.dumps({"prompt": f"hello {i}", "max_tokens": 2}) for i in range(8)) + "\n"
    )
    rc = bench(
        llama_server.url,
        "--model",
        llama_server.model,
        "--scenario",
        "SingleStream",
        "--dataset",
        str(data),
        "--log-dir",
        str(tmp_path / "jsonl"),
        "--min-duration-ms",
        "200",
        "--min-query-count",
        "8",
        "--no-write-on-issue",
    )
    check_logs(tmp_path / "jsonl", "SingleStream")
    # One-sample queries, yet the I/O thread wrote every request, as asked.
    stats = json.loads((tmp_path / "jsonl" / "endpoint.json").read_text())
    assert stats["written_on_issue"] == 0 and stats["completed"] >= 8
    assert (tmp_path / "jsonl" / "report.html").is_file()
    assert rc in (0, 1)


def test_bench_triton_kserve_with_random_tensors_and_npz(
    triton_server: TritonServer, tmp_path: Path
) -> None:
    bench(
        triton_server.url,
        "--api",
        "kserve",
        "--model",
        "identity",
        "--scenario",
        "Offline",
        "--target-qps",
        "100",
        "--sample-count",
        "16",
        "--log-dir",
        str(tmp_path / "random"),
        *SHORT,
    )
    check_logs(tmp_path / "random", "Offline")
    npz = tmp_path / "inputs.npz"
    np.savez(npz, INPUT0=np.arange(40, dtype=np.float32).reshape(10, 4))
    bench(
        triton_server.url,
        "--api",
        "kserve",
        "--model",
        "identity",
        "--scenario",
        "Server",
        "--target-qps",
        "50",
        "--dataset",
        str(npz),
        "--binary-tensors",
        "--log-dir",
        str(tmp_path / "npz"),
        *SHORT,
    )
    check_logs(tmp_path / "npz", "Server")


def test_bench_triton_generate_stream(triton_server: TritonServer, tmp_path: Path) -> None:
    bench(
        triton_server.url,
        "--api",
        "triton-generate",
        "--model",
        "stream",
        "--scenario",
        "Server",
        "--target-qps",
        "40",
        "--output-len",
        "5",
        "--sample-count",
        "8",
        "--log-dir",
        str(tmp_path),
        *SHORT,
    )
    check_logs(tmp_path, "Server")
    stats = json.loads((tmp_path / "endpoint.json").read_text())
    assert stats["tokens_from_chunks"] == stats["completed"]  # generate_stream has no usage


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("status-500", "http_5xx"),
        ("status-429", "http_4xx"),
        ("reset", "connection_closed"),
        ("malformed-sse", "malformed_response"),
    ],
)
def test_bench_counts_failed_samples_and_the_run_is_invalid(
    fault_server: FaultServer,
    tmp_path: Path,
    model: str,
    reason: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc = bench(
        fault_server.url,
        "--model",
        model,
        "--scenario",
        "Server",
        "--target-qps",
        "100",
        "--output-len",
        "3",
        "--sample-count",
        "8",
        "--log-dir",
        str(tmp_path),
        *SHORT,
    )
    stats = json.loads((tmp_path / "endpoint.json").read_text())
    assert stats["failed"] == stats["issued"] > 0
    assert stats["failures_by_reason"][reason] == stats["failed"]
    assert rc == 1
    out = capsys.readouterr().out
    assert f"failures: {reason} {stats['failed']}" in out
    assert "INVALID" in (tmp_path / "mlperf_log_summary.txt").read_text()


def test_bench_stalled_requests_time_out(fault_server: FaultServer, tmp_path: Path) -> None:
    rc = bench(
        fault_server.url,
        "--model",
        "stall",
        "--scenario",
        "SingleStream",
        "--request-timeout-s",
        "0.2",
        "--output-len",
        "2",
        "--sample-count",
        "4",
        "--log-dir",
        str(tmp_path),
        "--min-duration-ms",
        "100",
        "--min-query-count",
        "3",
        "--no-report",
    )
    stats = json.loads((tmp_path / "endpoint.json").read_text())
    assert stats["failed"] == stats["issued"] >= 3
    assert stats["failures_by_reason"]["timeout_total"] == stats["failed"]
    assert rc == 1


def test_ctrl_c_stops_a_run_on_a_stalled_server_and_writes_the_logs(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys
    import time

    command = [
        sys.executable,
        "-m",
        "loadgen",
        "bench",
        fault_server.url,
        "--model",
        "stall",
        "--scenario",
        "Server",
        "--target-qps",
        "20",
        "--min-duration-ms",
        "60000",
        "--log-dir",
        str(tmp_path),
        "--no-report",
        "--no-progress",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "mlperf_log_detail.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # requests in flight, every one stalled
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)  # the first press: the run ends, nothing hangs
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1, out
    assert "Traceback" not in out
    for name in LOG_FILES:
        assert (tmp_path / name).is_file(), name
    assert "Result is : INVALID" in (tmp_path / "mlperf_log_summary.txt").read_text()
    stats = json.loads((tmp_path / "endpoint.json").read_text())
    assert (
        stats["failed"] == stats["completed"] == stats["issued"] > 0
    )  # the stalled requests were cancelled
    # The first press cancels the requests in flight (the engine's CancellableSut call): they fail
    # as cancelled at once, instead of being cut when the stalled server gives up.
    assert stats["failures_by_reason"]["cancelled"] == stats["failed"]
