"""pytest fixtures that start the real servers once per test session (tests/conftest.py exposes
them to every test folder).

- ``llama_server``: llama.cpp's server (``xllamacpp`` wheel) on a tiny generated GGUF;
- ``triton_server``: the real tritonserver (``nvidia-pytriton`` wheel in its own venv, by default
  build/triton-venv; ``LOADGEN_TRITON_PYTHON`` names another interpreter) on triton_model_repo/;
- ``fault_server``: our fault-injecting OpenAI-compatible server (fault_server.py).

A missing server package skips the tests that need it, unless ``LOADGEN_REQUIRE_SERVERS=1``
(tests/run_all.sh sets it after installing everything): then it is a failure.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .fault_server import FaultServer
from .process import ServerProcess, free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _unavailable(what: str, how: str) -> None:
    message = f"{what} is not available ({how}; tests/run_all.sh installs it)"
    if os.environ.get("LOADGEN_REQUIRE_SERVERS") == "1":
        pytest.fail(message + " [LOADGEN_REQUIRE_SERVERS=1]", pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class LlamaServer:
    url: str  # base URL, http://127.0.0.1:PORT
    model: str  # the name /v1/models lists
    vocab_size: int
    first_printable_id: int  # prompt token ids from here up decode to plain text
    pgid: int


@dataclass(frozen=True)
class TritonServer:
    url: str  # HTTP base URL
    grpc: str  # host:port of the gRPC endpoint
    metrics_url: str
    pgid: int


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        from .tiny_gguf import write_tiny_gguf
    except ImportError:
        _unavailable("the gguf package", "pip install gguf")
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(scope="session")
def llama_server(
    tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        _unavailable("llama.cpp's server (xllamacpp)", "pip install xllamacpp")
    from .tiny_gguf import FIRST_PRINTABLE_ID, MODEL_NAME, vocab_size

    port = free_port()
    command = [
        sys.executable,
        str(HERE / "llama_server.py"),
        "--model",
        str(tiny_gguf),
        "--port",
        str(port),
        "--alias",
        MODEL_NAME,
        "--parallel",
        "4",
        "--ctx",
        "4096",
        "--threads",
        "1",
    ]
    server = ServerProcess(
        command,
        f"http://127.0.0.1:{port}/health",
        tmp_path_factory.mktemp("llama") / "server.log",
        timeout_s=60,
    )
    yield LlamaServer(
        f"http://127.0.0.1:{port}", MODEL_NAME, vocab_size(), FIRST_PRINTABLE_ID, server.pgid
    )
    server.stop()


def triton_python() -> Path:
    configured = os.environ.get("LOADGEN_TRITON_PYTHON")
    return Path(configured) if configured else ROOT / "build" / "triton-venv" / "bin" / "python"


def start_tritonserver(work: Path) -> tuple[ServerProcess, TritonServer]:
    """A tritonserver on the test model repository, its files in ``work`` (made if needed)."""
    python = triton_python()
    if not python.exists():
        _unavailable(f"tritonserver ({python})", "a venv with nvidia-pytriton==0.7.0")
    http, grpc, metrics = free_port(), free_port(), free_port()
    work.mkdir(parents=True, exist_ok=True)
    command = [
        str(python),
        str(HERE / "tritonserver.py"),
        "--http",
        str(http),
        "--grpc",
        str(grpc),
        "--metrics",
        str(metrics),
        "--workdir",
        str(work),
    ]
    server = ServerProcess(
        command, f"http://127.0.0.1:{http}/v2/health/ready", work / "server.log", timeout_s=120
    )
    return server, TritonServer(
        f"http://127.0.0.1:{http}",
        f"127.0.0.1:{grpc}",
        f"http://127.0.0.1:{metrics}/metrics",
        server.pgid,
    )


@pytest.fixture(scope="session")
def triton_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    server, triton = start_tritonserver(tmp_path_factory.mktemp("triton"))
    yield triton
    server.stop()


@pytest.fixture(scope="session")
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer(stall_s=30.0).start()
    yield server
    server.stop()
