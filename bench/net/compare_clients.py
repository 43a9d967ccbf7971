#!/usr/bin/env python3
"""Network-client benchmark (issue 13): loadgen's endpoint client against inference-perf and
AIPerf, in one run, on the same ground-truth server (truth_server.py), loopback only.

For each experiment and each client it starts fresh truth-server instance(s) (truth_server.py;
with --server native truth_server.cc, whose arrival and send stamps come from the kernel) pinned to the
server core, runs the client pinned to the client core (bounded by a request count and a
timeout), samples the client's and the server's CPU time from /proc while it runs, and computes
from the server's log:

- send precision: the achieved rate and a KS test of the inter-arrival times at the server
  against the exponential distribution of the requested Poisson rate; loadgen's own send
  lateness (IssueQuery entry -> request written, from its per-query records);
- cost: client CPU per request (and per streamed chunk) over the middle 90% of the arrivals,
  and the closed-loop request rate with the server's CPU use, to tell which side was the limit;
- metric accuracy (streamed runs): TTFT, ITL (mean per request) and E2E reported by the client
  against the server's own stamps (first token sent, token sends, last byte written), paired per
  request in arrival order.

Every figure goes to OUT/results.json (one entry per experiment, client and repeat) and the
medians over the repeats to OUT/summary.md. See bench/net/README.md for the commands.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
TRUTH_SERVER = HERE / "truth_server.py"
# The native truth server (truth_server.cc: the same flags and log, arrival and sends stamped
# by the kernel), where the C++ test build or a bench build puts it.
NATIVE_SERVER_BUILDS = [
    HERE.parents[1] / "build" / d / "bench" / "net" / "truth_server"
    for d in ("cpp-tests", "bench", "bench-post")
]
SERVER_KINDS = {
    "python": "truth_server.py (arrival stamped in user space, by its event loop)",
    "native": "truth_server.cc (arrival and sends stamped by the kernel, SO_TIMESTAMPNS/SO_TIMESTAMPING)",
}
LOADGEN_CLIENT = HERE / "loadgen_client.py"
MODEL = "truth-model"
COMPLETIONS = "/v1/completions"

# A word-level tokenizer over the truth server's 16 words (plus specials): both peers insist on
# a Hugging Face tokenizer, and the machine has no network. Built with the peer venv's
# `tokenizers`/`transformers`.
MAKE_TOKENIZER = r"""
import sys
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
words = ["the", "of", "and", "to", "in", "is", "it", "that", "for", "on", "as", "with", "was", "at", "by", "be"]
vocab = {"[UNK]": 0, "<s>": 1, "</s>": 2}
for w in words:
    vocab[w] = len(vocab)
tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
tk.pre_tokenizer = pre_tokenizers.Whitespace()
PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", bos_token="<s>", eos_token="</s>").save_pretrained(sys.argv[1])
"""


@dataclass(frozen=True)
class Experiment:
    name: str
    rate: float = 0.0  # Poisson req/s; 0 = closed loop
    concurrency: int = 0  # closed loop: requests in flight
    count: int = 100  # requests per client
    stream: bool = False
    output_tokens: int = 1
    ttft_ms: float = 0.0  # truth server's delays
    itl_ms: float = 0.0
    servers: int = 1  # truth-server instances (ports)


def experiments(quick: bool, servers: int) -> list[Experiment]:
    s = 0.5 if quick else 1.0  # quick: shorter runs
    return [
        Experiment("poisson-20", rate=20, count=int(400 * s)),
        Experiment("poisson-100", rate=100, count=int(2000 * s)),
        Experiment("poisson-1000", rate=1000, count=int(20000 * s)),
        Experiment("closed-64", concurrency=64, count=int(40000 * s), servers=servers),
        Experiment(
            "stream-32",
            rate=20,
            count=int(400 * s),
            stream=True,
            output_tokens=32,
            ttft_ms=50,
            itl_ms=10,
        ),
        # The same 32 chunks written back to back (no delays): the client reads several chunks per
        # wake-up, so the CPU above poisson-100's per request is the cost of parsing and stamping a
        # chunk, without the wake-up that a chunk 10 ms after the previous one costs.
        Experiment("stream-burst", rate=100, count=int(2000 * s), stream=True, output_tokens=32),
    ]


# ---------------------------------------------------------------- CPU of a process tree


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def _cpu_ns(pids: list[int]) -> int:
    """On-CPU time (ns, scheduler accounting) of every live thread of the processes, plus the
    CPU of children they already reaped (cutime+cstime, clock ticks)."""
    total = 0
    tick_ns = 10**9 // os.sysconf("SC_CLK_TCK")
    for p in pids:
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[13]) + int(fields[14])) * tick_ns  # cutime, cstime
        except (OSError, IndexError, ValueError):
            pass
    return total


class CpuSampler(threading.Thread):
    """Samples (monotonic ns, CPU ns) of process trees every `period` s; `cpu_between` reads the
    CPU spent in a time window by linear interpolation."""

    def __init__(self, period: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.period = period
        self.roots: dict[str, int] = {}
        self.samples: dict[str, list[tuple[int, int]]] = {}
        self._halt = threading.Event()

    def watch(self, name: str, pid: int) -> None:
        self.samples.setdefault(name, [])  # before the root: run() may see it at once
        self.roots[name] = pid

    def run(self) -> None:
        trees: dict[str, list[int]] = {}
        n = 0
        while not self._halt.is_set():
            if n % 10 == 0:  # rediscover children now and then (AIPerf starts its services)
                # A copy: watch() adds roots from the main thread meanwhile.
                trees = {k: _tree(p) for k, p in list(self.roots.items())}
            n += 1
            for k, pids in trees.items():
                self.samples[k].append((time.monotonic_ns(), _cpu_ns(pids)))
            time.sleep(self.period)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def cpu_between(self, name: str, t0: int, t1: int) -> float | None:
        s = self.samples.get(name) or []
        if len(s) < 2 or t0 < s[0][0] or t1 > s[-1][0]:
            return None

        def at(t: int) -> float:
            for (ta, ca), (tb, cb) in zip(s, s[1:]):
                if ta <= t <= tb:
                    return ca + (cb - ca) * (t - ta) / max(1, tb - ta)
            return float(s[-1][1])

        return (at(t1) - at(t0)) / 1e9


# ---------------------------------------------------------------- the truth server


def native_server(path: str | None) -> Path:
    """The native truth server's binary: `path`, else the first build that has one."""
    found = [Path(path)] if path else [p for p in NATIVE_SERVER_BUILDS if p.exists()]
    if not found or not found[0].exists():
        raise SystemExit(
            "no native truth server: build it (cmake -S . -B build/cpp-tests -DLOADGEN_NET=ON "
            "-DLOADGEN_BUILD_TESTS=ON && cmake --build build/cpp-tests --target truth_server) "
            "or pass --native-server"
        )
    return found[0].resolve()


class TruthServers:
    def __init__(
        self,
        program: list[str],
        cpus: list[int],
        exp: Experiment,
        out: Path,
        base_port: int,
        niceness: list[str],
    ) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self.urls: list[str] = []
        for i in range(exp.servers):
            port = base_port + i
            log, ready = out / f"server{i}.jsonl", out / f"server{i}.ready"
            ready.unlink(missing_ok=True)
            cmd = [
                *niceness,
                "taskset",
                "-c",
                str(cpus[i % len(cpus)]),
                *program,
                "--port",
                str(port),
                "--log",
                str(log),
                "--ready-file",
                str(ready),
                "--ttft-ms",
                str(exp.ttft_ms),
                "--itl-ms",
                str(exp.itl_ms),
                "--output-tokens",
                str(exp.output_tokens),
            ]
            with open(out / f"server{i}.err", "wb") as err:
                self.procs.append(
                    subprocess.Popen(
                        cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
                    )
                )
            self.logs.append(log)
            self.urls.append(f"http://127.0.0.1:{port}")
            deadline = time.monotonic() + 30
            while not ready.exists():
                if self.procs[-1].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"truth server {port} did not start: {(out / f'server{i}.err').read_text()}"
                    )
                time.sleep(0.05)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()

    def records(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(completion requests in arrival order, trailers)."""
        recs, trailers = [], []
        for log in self.logs:
            for line in log.read_text().splitlines():
                r = json.loads(line)
                if "trl" in r:
                    trailers.append(r["trl"])
                elif "hdr" not in r and r.get("p") == COMPLETIONS and r.get("s") == 200:
                    recs.append(r)
        recs.sort(key=lambda r: r["am"])
        return recs, trailers


# ---------------------------------------------------------------- clients


@dataclass
class ClientRequest:
    start_ns: int  # the client's start stamp (monotonic when it says so)
    ttft_s: float | None
    e2e_s: float
    itl_s: float | None  # mean inter-chunk interval of this request


@dataclass
class ClientRun:
    requests: list[ClientRequest] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    monotonic: bool = False  # start_ns on CLOCK_MONOTONIC, the server's clock


def _mean_itl(times: list[float]) -> float | None:
    return (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else None


def run_loadgen(
    args: argparse.Namespace,
    exp: Experiment,
    urls: list[str],
    out: Path,
    launch: Callable[[list[str]], int],
) -> ClientRun:
    rec_path = out / "loadgen_records.json"
    cmd = [
        args.loadgen_python,
        str(LOADGEN_CLIENT),
        *urls,
        "--count",
        str(exp.count),
        "--output-tokens",
        str(exp.output_tokens),
        "--out",
        str(rec_path),
        "--max-duration-s",
        str(args.run_timeout_s - 30),
    ]
    if exp.rate:
        cmd += ["--scenario", "server", "--rate", str(exp.rate)]
    else:  # Offline issues everything at once: the client keeps `concurrency` requests in flight
        cmd += [
            "--scenario",
            "offline",
            "--rate",
            str(exp.count),
            "--max-connections",
            str(max(1, exp.concurrency // len(urls))),
        ]
    if exp.stream:
        cmd.append("--stream")
    launch(cmd)
    return parse_loadgen(rec_path, exp)


def parse_loadgen(rec_path: Path, exp: Experiment) -> ClientRun:
    data = json.loads(rec_path.read_text())
    r = data["records"]
    run = ClientRun(monotonic=True)
    lateness = []
    for i in range(len(r["issued_ns"])):
        if r["failure"][i]:
            continue
        issued = r["issued_ns"][i]
        lateness.append((r["written_ns"][i] - issued) / 1e3)
        chunks = r["chunk_times_ns"][i]
        run.requests.append(
            ClientRequest(
                start_ns=issued,
                ttft_s=(r["first_token_ns"][i] - issued) / 1e9 if exp.stream else None,
                e2e_s=(r["done_ns"][i] - issued) / 1e9,
                itl_s=_mean_itl([c / 1e9 for c in chunks]) if exp.stream else None,
            )
        )
    run.extra = {
        "lateness_us_p50": _pct(lateness, 50),
        "lateness_us_p99": _pct(lateness, 99),
        "lateness_us_max": max(lateness) if lateness else None,
        "failed": data["stats"].get("failed"),
        "valid": data["valid"],
    }
    if exp.rate:
        run.extra.update(_issue_timing(r, exp.rate))
    return run


def _issue_timing(r: dict[str, list[Any]], rate: float) -> dict[str, Any]:
    """Where the timing is lost: the KS D of the IssueQuery entry times themselves (the engine's
    issuer, before the client), and the send lateness split by whether the next query was due
    within 150 µs (the engine's issuer then spins until it, on the client's core)."""
    q = sorted((i, w) for i, w, f in zip(r["issued_ns"], r["written_ns"], r["failure"]) if not f)
    gaps = [(b[0] - a[0]) / 1e9 for a, b in zip(q, q[1:])]
    near = [(w - i) / 1e3 for (i, w), (i2, _) in zip(q, q[1:]) if i2 - i < 150_000]
    far = [(w - i) / 1e3 for (i, w), (i2, _) in zip(q, q[1:]) if i2 - i >= 150_000]
    written = sorted(w for _, w in q)
    written_gaps = [(b - a) / 1e9 for a, b in zip(written, written[1:])]
    out: dict[str, Any] = {
        "issue_ks_d": _ks_exponential(gaps, rate)[0] if gaps else None,
        "written_ks_d": _ks_exponential(written_gaps, rate)[0] if written_gaps else None,
        "next_due_within_150us_share": len(near) / max(1, len(near) + len(far)),
    }
    for name, xs in (("near", near), ("far", far)):
        out[f"lateness_us_p50_{name}"] = _pct(xs, 50)
        out[f"lateness_us_p99_{name}"] = _pct(xs, 99)
    return out


def run_inference_perf(
    args: argparse.Namespace,
    exp: Experiment,
    urls: list[str],
    out: Path,
    launch: Callable[[list[str]], int],
) -> ClientRun:
    report = out / "ip-report"
    shutil.rmtree(report, ignore_errors=True)
    if exp.rate:
        load = (
            f"  type: poisson\n  stages:\n  - rate: {exp.rate}\n"
            f"    duration: {max(1, round(exp.count / exp.rate))}\n"
        )
    else:
        load = (
            f"  type: concurrent\n  stages:\n  - num_requests: {exp.count}\n"
            f"    concurrency_level: {exp.concurrency}\n  worker_max_concurrency: {exp.concurrency}\n"
        )
    dist = "{type: fixed, min: %d, max: %d, mean: %d, std_dev: 0, total_count: %d}"
    config = (
        f"api:\n  type: completion\n  streaming: {str(exp.stream).lower()}\n"
        f"data:\n  type: random\n  input_distribution: {dist % (16, 16, 16, 1000)}\n"
        f"  output_distribution: {dist % (exp.output_tokens, exp.output_tokens, exp.output_tokens, 1000)}\n"
        f"load:\n{load}  num_workers: 1\n"
        f"server:\n  type: vllm\n  model_name: {MODEL}\n  base_url: {urls[0]}\n  ignore_eos: true\n"
        f"tokenizer:\n  pretrained_model_name_or_path: {args.tokenizer}\n"
        f"report:\n  request_lifecycle:\n    summary: true\n    per_request: true\n"
        f"storage:\n  local_storage:\n    path: {report}\n"
    )
    (out / "inference-perf.yaml").write_text(config)
    launch(
        [
            str(Path(args.inference_perf_venv) / "bin" / "inference-perf"),
            "--config_file",
            str(out / "inference-perf.yaml"),
        ]
    )
    return parse_inference_perf(report, exp)


def parse_inference_perf(report: Path, exp: Experiment) -> ClientRun:
    run = ClientRun(monotonic=True)
    for r in json.loads((report / "per_request_lifecycle_metrics.json").read_text()):
        if r.get("error"):
            continue
        times = ((r.get("info") or {}).get("response_metrics") or {}).get(
            "output_token_times"
        ) or []
        start = r["start_time"]  # time.perf_counter(): CLOCK_MONOTONIC, seconds
        run.requests.append(
            ClientRequest(
                start_ns=int(start * 1e9),
                ttft_s=(times[0] - start) if (exp.stream and times) else None,
                e2e_s=r["end_time"] - start,
                itl_s=_mean_itl(times) if exp.stream else None,
            )
        )
    return run


def run_aiperf(
    args: argparse.Namespace,
    exp: Experiment,
    urls: list[str],
    out: Path,
    launch: Callable[[list[str]], int],
) -> ClientRun:
    art = out / "aiperf-artifacts"
    shutil.rmtree(art, ignore_errors=True)
    cmd = [
        str(Path(args.aiperf_venv) / "bin" / "aiperf"),
        "profile",
        "--model",
        MODEL,
        "--url",
        urls[0],
        "--endpoint-type",
        "completions",
        "--request-count",
        str(exp.count),
        "--tokenizer",
        args.tokenizer,
        "--synthetic-input-tokens-mean",
        "16",
        "--output-tokens-mean",
        str(exp.output_tokens),
        "--extra-inputs",
        "ignore_eos:true",
        "--artifact-dir",
        str(art),
        "--ui-type",
        "none",
    ]
    if exp.rate:
        cmd += ["--request-rate", str(exp.rate), "--request-rate-mode", "poisson"]
    else:
        cmd += ["--concurrency", str(exp.concurrency)]
    if exp.stream:
        cmd.append("--streaming")
    launch(cmd)
    return parse_aiperf(art, exp)


def parse_aiperf(art: Path, exp: Experiment) -> ClientRun:
    run = ClientRun()  # its stamps are wall-clock (time.time_ns)
    export = next(art.rglob("profile_export.jsonl"))
    for line in export.read_text().splitlines():
        rec = json.loads(line)
        m = rec.get("metrics") or {}
        if rec.get("error") or "request_latency" not in m:
            continue

        def sec(name: str, m: dict[str, Any] = m) -> float | None:
            v = m.get(name)
            if not v:
                return None
            scale = {"ms": 1e-3, "ns": 1e-9, "us": 1e-6, "s": 1.0}[v.get("unit", "ms")]
            return float(v["value"]) * scale

        md = rec.get("metadata") or {}
        run.requests.append(
            ClientRequest(
                start_ns=int(md.get("request_start_ns") or 0),
                ttft_s=sec("time_to_first_token") if exp.stream else None,
                e2e_s=sec("request_latency") or 0.0,
                itl_s=sec("inter_token_latency") if exp.stream else None,
            )
        )
    return run


CLIENTS: dict[str, Callable[..., ClientRun]] = {
    "loadgen": run_loadgen,
    "inference-perf": run_inference_perf,
    "aiperf": run_aiperf,
}


# ---------------------------------------------------------------- analysis


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def _ks_exponential(gaps: list[float], rate: float) -> tuple[float, float]:
    """KS statistic D of the gaps against Exp(rate) and its 5% critical value."""
    import math

    s = sorted(gaps)
    n = len(s)
    d = 0.0
    for i, x in enumerate(s):
        cdf = 1.0 - math.exp(-rate * x)
        d = max(d, (i + 1) / n - cdf, cdf - i / n)
    return d, 1.358 / math.sqrt(n)


def analyse(
    exp: Experiment,
    srv: list[dict[str, Any]],
    trailers: list[dict[str, Any]],
    client: ClientRun,
    cpu: CpuSampler,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "requests_at_server": len(srv),
        "requests_reported": len(client.requests),
    }
    res.update(client.extra)
    if len(srv) < 10:
        return res
    arrivals = [r["am"] for r in srv]
    res["achieved_rate"] = (len(arrivals) - 1) / ((arrivals[-1] - arrivals[0]) / 1e9)
    if exp.rate:
        gaps = [(b - a) / 1e9 for a, b in zip(arrivals, arrivals[1:])]
        d, crit = _ks_exponential(gaps, exp.rate)
        res.update(
            ks_d=d,
            ks_crit=crit,
            ks_pass=d < crit,
            achieved_over_requested=res["achieved_rate"] / exp.rate,
        )
    # Steady window: the middle 90% of the arrivals.
    lo, hi = int(0.05 * len(arrivals)), int(0.95 * len(arrivals)) - 1
    t0, t1 = arrivals[lo], arrivals[hi]
    n = hi - lo
    client_cpu = cpu.cpu_between("client", t0, t1)
    server_cpu = cpu.cpu_between("server", t0, t1)
    if client_cpu is not None and n > 0:
        res["client_cpu_us_per_request"] = client_cpu / n * 1e6
        res["client_core_busy"] = client_cpu / ((t1 - t0) / 1e9)
        chunks = sum(len(r.get("ch") or []) for r in srv[lo:hi])
        if exp.stream and chunks:
            res["client_cpu_us_per_chunk_all"] = client_cpu / chunks * 1e6
    if server_cpu is not None:
        res["server_core_busy"] = server_cpu / ((t1 - t0) / 1e9) / max(1, exp.servers)
    res["window_rate"] = n / ((t1 - t0) / 1e9)
    if trailers:
        res["server_loop_lag_mean_ms"] = statistics.mean(t["lag_mean_ms"] for t in trailers)
        if all("user_read_after_arrival_us_mean" in t for t in trailers):  # native server
            res["server_read_after_arrival_us_mean"] = statistics.mean(
                t["user_read_after_arrival_us_mean"] for t in trailers
            )
    if exp.rate and client.monotonic and len(client.requests) == len(srv):
        # The way out (start stamp -> server's arrival stamp), paired in arrival order: with the
        # native server's kernel stamps, when the request reached the server's TCP.
        reqs = sorted(client.requests, key=lambda q: q.start_ns)
        out_us = [(r["am"] - q.start_ns) / 1e3 for r, q in zip(srv, reqs)]
        res.update(way_out_us_p50=_pct(out_us, 50), way_out_us_p99=_pct(out_us, 99))
    if exp.stream:
        res.update(_accuracy(srv, client.requests))
        if client.monotonic and res.get("paired"):
            res.update(_stamp_paths(srv, client.requests))
    return res


def _stamp_paths(srv: list[dict[str, Any]], reqs: list[ClientRequest]) -> dict[str, Any]:
    """With one clock on both sides, a TTFT error splits into the way out (client start stamp ->
    server arrival stamp: send lateness, loopback, the server's loop lag) and the way back
    (server's first-token send stamp -> client's first-token stamp: loopback, the client's
    wake-up and parsing). Only the way back is the client's measuring error proper."""
    reqs = sorted(reqs, key=lambda q: q.start_ns)
    out_us = [(r["am"] - q.start_ns) / 1e3 for r, q in zip(srv, reqs)]
    back_us = [
        ((q.start_ns + (q.ttft_s or 0) * 1e9) - (r["am"] + r["f"])) / 1e3
        for r, q in zip(srv, reqs)
        if q.ttft_s is not None
    ]
    end_us = [((q.start_ns + q.e2e_s * 1e9) - (r["am"] + r["e"])) / 1e3 for r, q in zip(srv, reqs)]
    return {
        "way_out_us_p50": _pct(out_us, 50),
        "way_out_us_p99": _pct(out_us, 99),
        "first_token_way_back_us_p50": _pct(back_us, 50),
        "first_token_way_back_us_p99": _pct(back_us, 99),
        "end_way_back_us_p50": _pct(end_us, 50),
        "end_way_back_us_p99": _pct(end_us, 99),
    }


def _accuracy(srv: list[dict[str, Any]], reqs: list[ClientRequest]) -> dict[str, Any]:
    """Client minus server, per request paired in arrival order (when the counts agree), else
    the difference of the distributions' quantiles."""
    truth: dict[str, list[float | None]] = {
        "ttft": [r["f"] / 1e9 for r in srv],
        "e2e": [r["e"] / 1e9 for r in srv],
        "itl": [_mean_itl([c / 1e9 for c in r["ch"]]) for r in srv],
    }
    reqs = sorted(reqs, key=lambda q: q.start_ns)
    claims: dict[str, list[float | None]] = {
        "ttft": [q.ttft_s for q in reqs],
        "e2e": [q.e2e_s for q in reqs],
        "itl": [q.itl_s for q in reqs],
    }
    out: dict[str, Any] = {"paired": len(reqs) == len(srv)}
    for k, truth_k in truth.items():
        t = [x for x in truth_k if x is not None]
        c = [x for x in claims[k] if x is not None]
        if not c:
            continue
        if out["paired"] and len(c) == len(t):
            errs = [(a - b) * 1e6 for a, b in zip(c, t)]
            out[f"{k}_err_us_p50"] = _pct(errs, 50)
            out[f"{k}_err_us_p99"] = _pct(errs, 99)
        else:
            out[f"{k}_err_us_p50"] = ((_pct(c, 50) or 0) - (_pct(t, 50) or 0)) * 1e6
            out[f"{k}_err_us_p99"] = ((_pct(c, 99) or 0) - (_pct(t, 99) or 0)) * 1e6
        out[f"{k}_truth_ms_p50"] = (_pct(t, 50) or 0) * 1e3
    return out


# ---------------------------------------------------------------- driver


def run_one(args: argparse.Namespace, exp: Experiment, client: str, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    niceness = ["nice", "-n", str(args.nice)] if args.nice else []
    program = (
        [str(args.native_server)]
        if args.server == "native"
        else [args.server_python, str(TRUTH_SERVER)]
    )
    servers = TruthServers(program, args.server_cpus, exp, out, args.base_port, niceness)
    cpu = CpuSampler()
    cpu.watch("server", servers.procs[0].pid)
    cpu.start()
    rc: dict[str, int] = {}

    def launch(cmd: list[str]) -> int:
        env = dict(os.environ)
        if client == "inference-perf":  # no network here: do not look for the tokenizer on the Hub
            env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        # (AIPerf 0.13's offline mode cannot load a tokenizer from a local path: leave it online)
        with open(out / f"{client}.log", "wb") as log:
            p = subprocess.Popen(
                [*niceness, "taskset", "-c", str(args.client_cpu), *cmd],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=out,
                start_new_session=True,
            )
            cpu.watch("client", p.pid)
            try:
                rc["rc"] = p.wait(timeout=args.run_timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
                rc["rc"] = -999
        return rc["rc"]

    t_start = time.monotonic()
    try:
        result = CLIENTS[client](args, exp, servers.urls, out, launch)
        error = None
    except Exception as e:  # noqa: BLE001 -- a peer that failed: keep the server-side figures
        result, error = ClientRun(), f"{type(e).__name__}: {e}"
    finally:
        time.sleep(0.1)
        try:
            cpu.stop()
        finally:
            servers.stop()
    srv, trailers = servers.records()
    res = analyse(exp, srv, trailers, result, cpu)
    res.update(
        experiment=exp.name,
        client=client,
        server=args.server,
        rc=rc.get("rc"),
        wall_s=time.monotonic() - t_start,
    )
    if error:
        res["error"] = error
    return res


FIGURES = [  # (label, experiment, key, better: "low" | "high" | "abs" (|x| low) | "" (no ratio), unit)
    ("Poisson 20/s: KS D (5% critical value)", "poisson-20", "ks_d", "low", ""),
    ("Poisson 100/s: KS D (5% critical value)", "poisson-100", "ks_d", "low", ""),
    (
        "loadgen's own stamps, Poisson 100/s: KS D of IssueQuery entries / of requests written",
        "poisson-100",
        "issue_ks_d",
        "",
        "",
    ),
    (
        "loadgen's own stamps, Poisson 1000/s: KS D of IssueQuery entries / of requests written",
        "poisson-1000",
        "issue_ks_d",
        "",
        "",
    ),
    ("Poisson 1000/s: achieved/requested", "poisson-1000", "achieved_over_requested", "high", ""),
    ("Poisson 1000/s: KS D (5% critical value)", "poisson-1000", "ks_d", "low", ""),
    (
        "Poisson 1000/s: send lateness p50 (IssueQuery to request written)",
        "poisson-1000",
        "lateness_us_p50",
        "",
        "µs",
    ),
    ("Poisson 1000/s: send lateness p99", "poisson-1000", "lateness_us_p99", "", "µs"),
    (
        "Poisson 1000/s: way out p50 / p99 (start stamp → server's arrival stamp)",
        "poisson-1000",
        "way_out_us_p50",
        "",
        "µs",
    ),
    (
        "client CPU per request, Poisson 20/s",
        "poisson-20",
        "client_cpu_us_per_request",
        "low",
        "µs",
    ),
    (
        "client CPU per request, Poisson 100/s",
        "poisson-100",
        "client_cpu_us_per_request",
        "low",
        "µs",
    ),
    (
        "client CPU per request, Poisson 1000/s",
        "poisson-1000",
        "client_cpu_us_per_request",
        "low",
        "µs",
    ),
    ("closed loop, 64 in flight, non-streamed: req/s", "closed-64", "window_rate", "high", ""),
    ("closed loop: client CPU per request", "closed-64", "client_cpu_us_per_request", "low", "µs"),
    ("closed loop: client core busy / server core busy", "closed-64", "client_core_busy", "", ""),
    (
        "streamed, 32 chunks 10 ms apart, Poisson 20/s: client CPU per chunk, all costs",
        "stream-32",
        "client_cpu_us_per_chunk_all",
        "low",
        "µs",
    ),
    (
        "streamed, 32 chunks back to back, Poisson 100/s: client CPU per chunk, all costs",
        "stream-burst",
        "client_cpu_us_per_chunk_all",
        "low",
        "µs",
    ),
    ("TTFT error p50 / p99 (TTFT 50 ms)", "stream-32", "ttft_err_us_p50", "abs", "µs"),
    ("ITL error p50 / p99 (ITL 10 ms)", "stream-32", "itl_err_us_p50", "abs", "µs"),
    ("E2E error p50 / p99 (E2E 360 ms)", "stream-32", "e2e_err_us_p50", "abs", "µs"),
]


def _median(results: list[dict[str, Any]], exp: str, client: str, key: str) -> float | None:
    xs = [
        r[key]
        for r in results
        if r["experiment"] == exp and r["client"] == client and r.get(key) is not None
    ]
    return statistics.median(xs) if xs else None


def _fmt(x: float | None) -> str:
    if x is None:
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def _ratio(ours: float | None, peers: list[float | None], better: str) -> str:
    """loadgen over the best peer's figure (for "high": the best peer over loadgen), so that
    below 1 is always better."""
    vals = [p for p in peers if p is not None]
    if not better or ours is None or not vals:
        return ""
    if better == "high":
        best = max(vals)
        return f"{best / ours:.3g}" if ours else ""
    if better == "abs":
        ours, best = abs(ours), min(abs(v) for v in vals)
    else:
        best = min(vals)
    return f"{ours / best:.3g}" if best else ""


def summary(results: list[dict[str, Any]], clients: list[str]) -> str:
    ratio = clients[:1] == ["loadgen"] and len(clients) > 1
    # Runs from before the native server existed were all against truth_server.py.
    kinds = sorted({r.get("server", "python") for r in results})
    intro = "Truth server: " + "; ".join(f"{k}, {SERVER_KINDS[k]}" for k in kinds)
    if len(kinds) > 1:
        intro += " (**mixed**: the medians pool both servers' runs)"
    head = (
        "| figure | "
        + " | ".join(clients)
        + (" | ratio to best peer (< 1: loadgen better) |" if ratio else " |")
    )
    lines = [intro, "", head, "|---" * (len(clients) + 1 + ratio) + "|"]
    for label, exp, key, better, unit in FIGURES:
        cells = []
        for c in clients:
            v = _median(results, exp, c, key)
            if key == "ks_d":
                crit = _median(results, exp, c, "ks_crit")
                cell = f"{_fmt(v)} ({_fmt(crit)})" if v is not None else "–"
            elif key == "issue_ks_d":
                cell = (
                    f"{_fmt(v)} / {_fmt(_median(results, exp, c, 'written_ks_d'))}"
                    if v is not None
                    else "–"
                )
            elif key == "client_core_busy":
                cell = f"{_fmt(v)} / {_fmt(_median(results, exp, c, 'server_core_busy'))}"
            elif key.endswith("_err_us_p50") or key == "way_out_us_p50":
                cell = f"{_fmt(v)} / {_fmt(_median(results, exp, c, key.replace('p50', 'p99')))}"
            else:
                cell = _fmt(v)
            cells.append(cell + (f" {unit}" if unit and v is not None else ""))
        if ratio:
            vals = [_median(results, exp, c, key) for c in clients]
            cells.append(_ratio(vals[0], vals[1:], better))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for label, key in (
        (
            "streamed: way back, server's first-token send → client's stamp, p50 / p99",
            "first_token_way_back_us_p50",
        ),
        (
            "streamed: way out, client's start stamp → server's arrival stamp, p50 / p99",
            "way_out_us_p50",
        ),
    ):
        cells = []
        for c in clients:
            v = _median(results, "stream-32", c, key)
            cells.append(
                f"{_fmt(v)} / {_fmt(_median(results, 'stream-32', c, key.replace('p50', 'p99')))} µs"
                if v is not None
                else "– (no shared clock)"
            )
        lines.append(f"| {label} | " + " | ".join(cells) + (" |  |" if ratio else " |"))
    # What a chunk adds to a request: streamed burst minus non-streamed, same rate, per chunk.
    cells, vals = [], []
    for c in clients:
        burst = _median(results, "stream-burst", c, "client_cpu_us_per_request")
        plain = _median(results, "poisson-100", c, "client_cpu_us_per_request")
        v = (burst - plain) / 32 if burst is not None and plain is not None else None
        vals.append(v)
        cells.append(f"{_fmt(v)} µs" if v is not None else "–")
    if ratio:
        cells.append(_ratio(vals[0], vals[1:], "low"))
    lines.append(
        "| CPU a chunk adds: (back-to-back streamed − non-streamed) per request / 32, Poisson 100/s | "
        + " | ".join(cells)
        + " |"
    )
    return "\n".join(lines) + "\n"


def _backfill(results: list[dict[str, Any]], out: Path) -> bool:
    """Figures added to the analysis after a run, computed from the run's saved files (the
    client's records and the server's log); True if any was added."""
    exps = {e.name: e for e in experiments(False, 1)}
    changed = False
    for res in results:
        d = out / f"{res['experiment']}-{res['client']}-{res['repeat']}"
        exp = exps.get(res["experiment"])
        if exp is None or not (d / "server0.jsonl").exists():
            continue
        if res["client"] == "loadgen" and exp.rate and "written_ks_d" not in res:
            r = json.loads((d / "loadgen_records.json").read_text())["records"]
            res.update(_issue_timing(r, exp.rate))
            changed = True
        if (
            exp.stream
            and res.get("paired")
            and "way_out_us_p50" not in res
            and res["client"] != "aiperf"
        ):
            run = (
                parse_loadgen(d / "loadgen_records.json", exp)
                if res["client"] == "loadgen"
                else parse_inference_perf(d / "ip-report", exp)
            )
            srv = sorted(
                (
                    json.loads(line)
                    for line in (d / "server0.jsonl").read_text().splitlines()
                    if '"p":"/v1/completions"' in line
                ),
                key=lambda r: r["am"],
            )
            srv = [r for r in srv if r.get("s") == 200]
            if len(srv) == len(run.requests):
                res.update(_stamp_paths(srv, run.requests))
                changed = True
    return changed


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--inference-perf-venv", help="venv with inference-perf 0.7.0 (bin/inference-perf)"
    )
    ap.add_argument("--aiperf-venv", help="venv with aiperf 0.13.0 (bin/aiperf)")
    ap.add_argument(
        "--loadgen-python", default=sys.executable, help="a python with loadgen installed"
    )
    ap.add_argument(
        "--server",
        choices=sorted(SERVER_KINDS),
        default="python",
        help="the truth server: python (truth_server.py) or native (truth_server.cc, arrival "
        "and sends stamped by the kernel)",
    )
    ap.add_argument(
        "--native-server",
        help="the native truth server's binary (default: the first of "
        + ", ".join(str(p.relative_to(HERE.parents[1])) for p in NATIVE_SERVER_BUILDS)
        + " that exists)",
    )
    ap.add_argument(
        "--server-python",
        default=sys.executable,
        help="a python with httptools, uvloop and orjson for the truth server",
    )
    ap.add_argument("--clients", default="loadgen,inference-perf,aiperf")
    ap.add_argument(
        "--experiments",
        default="poisson-20,poisson-100,poisson-1000,closed-64,stream-32,stream-burst",
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="half the request counts")
    ap.add_argument("--count-scale", type=float, default=1.0, help="multiply every request count")
    ap.add_argument(
        "--servers", type=int, default=1, help="truth-server instances for the closed loop"
    )
    ap.add_argument(
        "--client-cpu", default="0", help='core(s) of the client, a taskset list ("0" or "0,1")'
    )
    ap.add_argument(
        "--server-cpus", default="1", help="comma-separated cores for the server instances"
    )
    ap.add_argument("--base-port", type=int, default=18300)
    ap.add_argument("--run-timeout-s", type=float, default=240.0, help="bound of each client run")
    ap.add_argument(
        "--nice",
        type=int,
        default=-10,
        help="niceness of the server and the client (on a shared machine, so that other work "
        "preempts them less; 0 = unchanged)",
    )
    ap.add_argument(
        "--peer-count-cap",
        type=int,
        default=2000,
        help="at most this many requests per peer run (they run below 1k req/s: bounds the run time)",
    )
    ap.add_argument(
        "--summarize", action="store_true", help="only rebuild summary.md from OUT/results.json"
    )
    args = ap.parse_args()
    args.server_cpus = [int(c) for c in args.server_cpus.split(",")]
    if args.server == "native" and not args.summarize:
        args.native_server = native_server(args.native_server)
    clients = [c for c in args.clients.split(",") if c]
    for c in clients:
        if c not in CLIENTS:
            ap.error(f"unknown client {c}")
    if "inference-perf" in clients and not args.summarize and not args.inference_perf_venv:
        ap.error("--inference-perf-venv is required to run inference-perf")
    if "aiperf" in clients and not args.summarize and not args.aiperf_venv:
        ap.error("--aiperf-venv is required to run aiperf")
    args.out.mkdir(parents=True, exist_ok=True)
    args.tokenizer = str(args.out / "tokenizer")
    wanted = set(args.experiments.split(","))
    exps = []
    for e in experiments(args.quick, args.servers):
        if e.name in wanted:
            exps.append(
                Experiment(**{**e.__dict__, "count": max(10, int(e.count * args.count_scale))})
            )
    results_path = args.out / "results.json"
    results: list[dict[str, Any]] = (
        json.loads(results_path.read_text()) if results_path.exists() else []
    )
    if args.summarize:
        if _backfill(results, args.out):
            results_path.write_text(json.dumps(results, indent=1))
        table = summary(results, clients)
        (args.out / "summary.md").write_text(table)
        print(table)
        return 0
    peer_venv = args.inference_perf_venv or args.aiperf_venv
    if peer_venv and not Path(args.tokenizer, "tokenizer.json").exists():
        subprocess.run(
            [str(Path(peer_venv) / "bin" / "python"), "-c", MAKE_TOKENIZER, args.tokenizer],
            check=True,
            env=dict(os.environ, HF_HUB_OFFLINE="1"),
        )
    meta = {"loadavg_start": os.getloadavg(), "nproc": os.cpu_count(), "argv": sys.argv}
    for rep in range(args.repeats):
        for exp in exps:
            for client in clients:  # interleaved, so the machine's load hits every client alike
                run_exp = exp
                if client != "loadgen":
                    run_exp = Experiment(
                        **{**exp.__dict__, "count": min(exp.count, args.peer_count_cap)}
                    )
                res = run_one(args, run_exp, client, args.out / f"{exp.name}-{client}-{rep}")
                res.update(repeat=rep, loadavg=os.getloadavg()[0])
                results.append(res)
                results_path.write_text(json.dumps(results, indent=1))
                print(
                    json.dumps(
                        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}
                    ),
                    flush=True,
                )
    meta["loadavg_end"] = os.getloadavg()
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1))
    table = summary(results, clients)
    (args.out / "summary.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
