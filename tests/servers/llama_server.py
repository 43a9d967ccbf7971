"""llama.cpp's OpenAI-compatible server (the real llama-server front end) from the ``xllamacpp``
wheel, in this process; ends on SIGTERM or SIGINT.

Usage: python llama_server.py --model tiny.gguf --port P [--alias tiny] [--parallel 4]
       [--ctx 4096] [--threads 1]

Ready when ``GET /health`` answers 200. One thread: with two, ggml's threads wait on each other
when the machine is busy (stalls of ~200 ms). Like llama-server, it closes the connection after
every streamed response while advertising keep-alive.
"""

from __future__ import annotations

import argparse
import signal

import xllamacpp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--alias", default="tiny")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument(
        "--ctx", type=int, default=4096, help="total KV context, split over the slots"
    )
    parser.add_argument("--threads", type=int, default=1)
    a = parser.parse_args()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # for sigwait
    params = xllamacpp.CommonParams()
    params.model.path = a.model
    params.model_alias = {a.alias}  # the binding takes a set: the names clients send as "model"
    params.hostnames = [a.host]
    params.port = a.port
    params.n_parallel = a.parallel
    params.n_ctx = a.ctx
    params.cpuparams.n_threads = a.threads
    params.cpuparams_batch.n_threads = a.threads
    params.endpoint_metrics = True
    server = xllamacpp.Server(params)  # loads the model and starts the HTTP threads
    print(f"listening on {server.listening_address}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    main()
