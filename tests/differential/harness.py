"""Runs one differential case with whatever `mlperf_loadgen` this interpreter imports.

    python harness.py <case.json> <outdir>

Run it with the working directory set to a fresh, empty directory: config files named in the
case are written there, LoadGen reads `audit.config` from there and writes its logs there (or
under the case's log outdir). Writes <outdir>/record.json with every callback LoadGen made, the
texts of the log files, the list of files produced and what LoadGen printed to stdout.

Standalone and stdlib-only on purpose: the same file runs under the official wheel's venv and
under ours. The case format is documented in cases.py.
"""

import array
import ctypes
import glob
import heapq
import json
import os
import sys
import tempfile
import threading
import time
import traceback

import mlperf_loadgen as lg

LOG_KINDS = (("summary", ".txt"), ("detail", ".txt"), ("accuracy", ".json"), ("trace", ".json"))


# ---------------------------------------------------------------------------------------------
# Deterministic payloads: everything LoadGen copies into the accuracy log is a function of the
# sample index, so the accuracy logs of two runs can be compared exactly.


def token_ids(index):
    """The "tokens_int32" payload: token_count(index) int32 token ids, the first one first."""
    return [index * 100 + j for j in range(token_count(index))]


def response_bytes(index, kind):
    if kind == "empty":
        return b""
    if kind == "tokens_int32":
        return array.array("i", token_ids(index)).tobytes()
    # 4..12 bytes: little-endian index, then a tail whose length varies with the index.
    tail = bytes(((index * 37 + j * 11) & 0xFF) for j in range(4 * (index % 3)))
    return (index * 2654435761 % (1 << 32)).to_bytes(4, "little") + tail


def first_token_bytes(index, kind):
    if kind == "tokens_int32":
        return array.array("i", token_ids(index)[:1]).tobytes()
    return ((index ^ 0x5A5A) & 0xFFFF).to_bytes(2, "little")


def token_count(index):
    return 2 + index % 7


# ---------------------------------------------------------------------------------------------


class Recorder:
    """Everything observable from the callbacks, in call order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []  # [name, payload]: load/unload/issue/flush/name
        self.off_main_thread = []  # callback names that LoadGen invoked on another thread
        self.response_cb_indices = []
        self.first_token_calls = 0
        self.complete_calls = 0
        self.main_ident = threading.get_ident()

    def call(self, name, payload=None):
        with self.lock:
            self.calls.append([name, payload])
            if threading.get_ident() != self.main_ident:
                self.off_main_thread.append(name)


class Completer:
    """Builds responses and hands them to LoadGen, the way the case's SUT does it."""

    def __init__(self, case, recorder):
        self.rec = recorder
        self.payload = case.get("payload", "index")
        self.tokens = bool(case.get("tokens", False))
        default_first = self.tokens and case["scenario"] != "Offline"
        self.first_token = bool(case.get("first_token", default_first))
        self.use_cb = bool(case.get("response_cb", False))
        self.id_to_index = {}
        self.id_lock = threading.Lock()

    def remember(self, samples):
        if self.use_cb:
            with self.id_lock:
                for sid, index in samples:
                    self.id_to_index[sid] = index

    def _response_cb(self, response):
        with self.id_lock:
            index = self.id_to_index.get(response.id, -1)
        with self.rec.lock:
            self.rec.response_cb_indices.append(index)

    def complete(self, samples, again=False):
        """Completes `samples` ([(id, index)]) in one FirstTokenComplete + QuerySamplesComplete.

        `again`: a duplicate completion (QuerySamplesComplete only).
        """
        keep = []  # buffers must stay alive until LoadGen has copied them
        if self.first_token and not again:
            firsts = []
            for sid, index in samples:
                buf = array.array("B", first_token_bytes(index, self.payload))
                keep.append(buf)
                firsts.append(lg.QuerySampleResponse(sid, buf.buffer_info()[0], len(buf)))
            lg.FirstTokenComplete(firsts)
            with self.rec.lock:
                self.rec.first_token_calls += 1
        responses = []
        for sid, index in samples:
            buf = array.array("B", response_bytes(index, self.payload))
            keep.append(buf)
            address, size = buf.buffer_info()[0], len(buf)
            if self.tokens:
                responses.append(lg.QuerySampleResponse(sid, address, size, token_count(index)))
            else:
                responses.append(lg.QuerySampleResponse(sid, address, size))
        if self.use_cb:
            lg.QuerySamplesComplete(responses, self._response_cb)
        else:
            lg.QuerySamplesComplete(responses)
        with self.rec.lock:
            self.rec.complete_calls += 1
        del keep


class Sut:
    """The SUT behaviours the cases combine (see cases.py for the `sut` options)."""

    def __init__(self, case, recorder):
        opts = case.get("sut", {})
        self.rec = recorder
        self.done = Completer(case, recorder)
        self.how = opts.get("complete", "inline")
        self.issue_sleep_s = float(opts.get("issue_sleep_s", 0.0))
        self.work_s = float(opts.get("work_s", 0.0))
        self.batch = int(opts.get("batch", 1))
        self.window_s = float(opts.get("window_s", 0.002))
        self.delay_s = float(opts.get("delay_s", 0.0))
        self.slow_every = int(opts.get("slow_every", 0))
        self.slow_from = int(opts.get("slow_from", 0))
        self.slow_delay_s = float(opts.get("slow_delay_s", 0.0))
        self.double_first = int(opts.get("double_complete_first", 0))
        self.series_count = 0  # samples received since the last flush
        self.cond = threading.Condition()
        self.queue = []  # pool/reversed/batches: FIFO of (id, index); timed: heap (due, n, sample)
        self.stopping = False
        self.threads = []
        workers = int(opts.get("workers", 1)) if self.how == "pool" else 1
        if self.how != "inline":
            for _ in range(workers):
                t = threading.Thread(target=self._worker, daemon=True)
                t.start()
                self.threads.append(t)

    # LoadGen callbacks ---------------------------------------------------------------------

    def issue(self, samples):
        self.rec.call("issue", [index for _, index in samples])
        self.done.remember(samples)
        if self.issue_sleep_s:
            time.sleep(self.issue_sleep_s)
        if self.how == "inline":
            first = self.series_count
            self.series_count += len(samples)
            self.done.complete(samples)
            again = [s for k, s in enumerate(samples, first) if k < self.double_first]
            if again:
                self.done.complete(again, again=True)
            return
        now = time.monotonic()
        with self.cond:
            for sample in samples:
                if self.how == "timed":
                    k = self.series_count
                    slow = (self.slow_every and k % self.slow_every == self.slow_every - 1) or (
                        self.slow_from and k >= self.slow_from
                    )
                    due = now + (self.slow_delay_s if slow else self.delay_s)
                    heapq.heappush(self.queue, (due, k, sample))
                else:
                    self.queue.append(sample)
                self.series_count += 1
            self.cond.notify_all()

    def flush(self):
        self.rec.call("flush")
        with self.cond:
            self.series_count = 0

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        for t in self.threads:
            t.join()

    # Workers --------------------------------------------------------------------------------

    def _take(self):
        """Blocks for the next unit of work; None when stopping and drained."""
        with self.cond:
            while True:
                if self.how == "timed" and self.queue:
                    due = self.queue[0][0]
                    wait = due - time.monotonic()
                    if wait <= 0:
                        return [heapq.heappop(self.queue)[2]]
                    self.cond.wait(wait)
                    continue
                if self.queue:
                    if self.how == "pool":
                        return [self.queue.pop(0)]
                    if self.how == "batches":
                        unit, self.queue = self.queue[: self.batch], self.queue[self.batch :]
                        return unit
                    break  # reversed: gather a window below
                if self.stopping:
                    return None
                self.cond.wait()
        # reversed: keep collecting until the queue stays empty for one window
        while True:
            with self.cond:
                count = len(self.queue)
            time.sleep(self.window_s)
            with self.cond:
                if len(self.queue) == count:
                    unit, self.queue = self.queue, []
                    return unit

    def _worker(self):
        while True:
            unit = self._take()
            if unit is None:
                return
            if self.work_s:
                time.sleep(self.work_s * len(unit))
            if self.how == "reversed":
                for sample in reversed(unit):
                    self.done.complete([sample])
            else:
                self.done.complete(unit)


# ---------------------------------------------------------------------------------------------


def enum_value(enum_type, name):
    return enum_type.__members__[name]


def build_settings(case):
    settings = lg.TestSettings()
    for args in case.get("from_config", []):
        rc = settings.FromConfig(*args)
        case.setdefault("_from_config_rc", []).append(rc)
    settings.scenario = enum_value(lg.TestScenario, case["scenario"])
    if "mode" in case:
        settings.mode = enum_value(lg.TestMode, case["mode"])
    for name, value in sorted(case.get("settings", {}).items()):
        setattr(settings, name, value)
    return settings


def build_log_settings(case):
    spec = case.get("log")
    if spec is None:
        return None
    log_settings = lg.LogSettings()
    for name in (
        "outdir",
        "prefix",
        "suffix",
        "prefix_with_datetime",
        "copy_detail_to_stdout",
        "copy_summary_to_stdout",
    ):
        if name in spec:
            setattr(log_settings.log_output, name, spec[name])
    if "enable_trace" in spec:
        log_settings.enable_trace = spec["enable_trace"]
    if "log_mode" in spec:
        log_settings.log_mode = enum_value(lg.LoggingMode, spec["log_mode"])
    if "log_mode_async_poll_interval_ms" in spec:
        log_settings.log_mode_async_poll_interval_ms = spec["log_mode_async_poll_interval_ms"]
    return log_settings


def log_file_paths(case):
    """kind -> path of each LoadGen output file (globbed when names carry a date-time)."""
    spec = case.get("log") or {}
    outdir = spec.get("outdir", ".")
    prefix = spec.get("prefix", "mlperf_log_")
    suffix = spec.get("suffix", "")
    paths = {}
    for kind, ext in LOG_KINDS:
        if spec.get("prefix_with_datetime"):
            found = sorted(
                glob.glob(
                    os.path.join(
                        glob.escape(outdir),
                        glob.escape(prefix) + "*_" + kind + glob.escape(suffix) + ext,
                    )
                )
            )
            paths[kind] = found[0] if found else None
        else:
            paths[kind] = os.path.join(outdir, prefix + kind + suffix + ext)
    return paths


def read_text(path):
    if path is None or not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def list_files(root, skip):
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if rel not in skip:
                files[rel] = os.path.getsize(full)
    return files


class StdoutCapture:
    """Redirects file descriptor 1 (C++ `std::cout` included) into a temporary file."""

    def __enter__(self):
        sys.stdout.flush()
        self.libc = ctypes.CDLL(None)
        self.saved = os.dup(1)
        self.file = tempfile.TemporaryFile()
        os.dup2(self.file.fileno(), 1)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        self.libc.fflush(None)
        os.dup2(self.saved, 1)
        os.close(self.saved)
        self.file.seek(0)
        self.text = self.file.read().decode("utf-8", errors="replace")
        self.file.close()
        return False


def run(case, outdir):
    for name, text in case.get("files", {}).items():
        with open(name, "w") as f:
            f.write(text)
    spec = case.get("log") or {}
    if spec.get("outdir", ".") != ".":
        os.makedirs(spec["outdir"], exist_ok=True)

    rec = Recorder()
    sut_impl = Sut(case, rec)
    qsl_spec = case.get("qsl", {})
    total = int(qsl_spec.get("total", 1024))
    performance = int(qsl_spec.get("performance", 128))

    def load(indices):
        rec.call("load", list(indices))

    def unload(indices):
        rec.call("unload", list(indices))

    def issue_query(samples):
        sut_impl.issue([(s.id, s.index) for s in samples])

    def fast_issue(ids, indices):
        sut_impl.issue(list(zip(ids, indices)))

    qdl_name = case.get("qdl_name", "QDL")

    def name():
        rec.call("name")
        return qdl_name

    api = case.get("api", "sut")
    if api == "fast":
        sut = lg.ConstructFastSUT(fast_issue, sut_impl.flush)
    elif api == "qdl":
        sut = lg.ConstructQDL(issue_query, sut_impl.flush, name)
    else:
        sut = lg.ConstructSUT(issue_query, sut_impl.flush)
    qsl = lg.ConstructQSL(total, performance, load, unload)

    extra = [case["audit_config_filename"]] if "audit_config_filename" in case else []

    def start_test():
        """One StartTest with settings built anew (so FromConfig runs again); its exception."""
        settings = build_settings(case)
        log_settings = build_log_settings(case)
        try:
            if log_settings is None:
                lg.StartTest(sut, qsl, settings, *extra)
            else:
                lg.StartTestWithLogSettings(sut, qsl, settings, log_settings, *extra)
        except BaseException as e:  # noqa: BLE001 - recorded and compared, never hidden
            return {
                "type": type(e).__name__,
                "message": str(e),
                "traceback": traceback.format_exc(),
            }
        return None

    # `repeat`: StartTest calls in this process; the logs of all but the last are read before
    # the next test overwrites them.
    earlier_tests = []
    started = time.monotonic()
    with StdoutCapture() as captured:
        for _ in range(int(case.get("repeat", 1)) - 1):
            earlier_exception = start_test()
            earlier_paths = log_file_paths(case)
            earlier_tests.append(
                {
                    "exception": earlier_exception,
                    **{
                        kind: read_text(earlier_paths[kind])
                        for kind in ("summary", "detail", "accuracy")
                    },
                }
            )
        exception = start_test()
    elapsed = time.monotonic() - started
    sut_impl.stop()

    if api == "fast":
        lg.DestroyFastSUT(sut)
    elif api == "qdl":
        lg.DestroyQDL(sut)
    else:
        lg.DestroySUT(sut)
    lg.DestroyQSL(qsl)

    paths = log_file_paths(case)
    record = {
        "case": case["name"],
        "python": sys.version.split()[0],
        "module": getattr(lg, "__file__", None),
        "elapsed_s": round(elapsed, 3),
        "exception": exception,
        "from_config_rc": case.get("_from_config_rc", []),
        "calls": rec.calls,
        "off_main_thread": sorted(set(rec.off_main_thread)),
        "first_token_calls": rec.first_token_calls,
        "complete_calls": rec.complete_calls,
        "response_cb_indices": sorted(rec.response_cb_indices),
        "stdout": captured.text,
        "log_paths": {k: (os.path.relpath(v, ".") if v else None) for k, v in paths.items()},
        "summary": read_text(paths["summary"]),
        "detail": read_text(paths["detail"]),
        "accuracy": read_text(paths["accuracy"]),
        "trace_size": (
            os.path.getsize(paths["trace"])
            if paths["trace"] and os.path.exists(paths["trace"])
            else None
        ),
        "files": list_files(".", skip={"case.json", "record.json"}),
        "earlier_tests": earlier_tests,
    }
    with open(os.path.join(outdir, "record.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1]) as f:
        case = json.load(f)
    run(case, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
