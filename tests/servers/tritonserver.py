"""Runs the real ``tritonserver`` binary bundled in the ``nvidia-pytriton`` wheel on a plain
model repository (python backend, CPU), without PyTriton's proxy. Run it with the Python of the
venv that has ``nvidia-pytriton==0.7.0`` (its backend stub needs numpy<2 there).

Usage: python tritonserver.py --http P1 --grpc P2 --metrics P3 --workdir DIR [--repo DIR]

It execs tritonserver (same pid). Ready when ``GET /v2/health/ready`` answers 200. Errors about
NVML, DCGM or CUDA at start-up are harmless on a CPU machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import sysconfig
from pathlib import Path

import pytriton

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=HERE / "triton_model_repo")
    parser.add_argument("--http", type=int, required=True)
    parser.add_argument("--grpc", type=int, required=True)
    parser.add_argument("--metrics", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    a = parser.parse_args()

    package = Path(pytriton.__file__).resolve().parent
    shipped = package / "tritonserver"
    server_dir = a.workdir / "tritonserver"
    if not (server_dir / "bin" / "tritonserver").exists():
        shutil.copytree(shipped, server_dir, ignore=shutil.ignore_patterns("python_backend_stubs"))
    # The python backend looks for its stub next to itself; the wheel ships one per Python version.
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    shutil.copy(
        shipped / "python_backend_stubs" / version / "triton_python_backend_stub",
        server_dir / "backends" / "python" / "triton_python_backend_stub",
    )

    env = dict(os.environ)
    # The copied stub's $ORIGIN rpath no longer reaches nvidia_pytriton.libs; this interpreter's
    # LIBDIR goes first so the stub loads this Python's libpython, not the system's.
    libs = [
        sysconfig.get_config_var("LIBDIR"),
        str(package.parent / "nvidia_pytriton.libs"),
        env.get("LD_LIBRARY_PATH"),
    ]
    env["LD_LIBRARY_PATH"] = ":".join(p for p in libs if p)
    site_packages = sysconfig.get_paths()["purelib"]  # numpy for the stub
    env["PYTHONPATH"] = ":".join(p for p in (site_packages, env.get("PYTHONPATH")) if p)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"

    command = [
        str(server_dir / "bin" / "tritonserver"),
        f"--model-repository={a.repo}",
        f"--backend-directory={server_dir / 'backends'}",
        f"--cache-directory={server_dir / 'caches'}",
        "--http-address=127.0.0.1",
        f"--http-port={a.http}",
        "--grpc-address=127.0.0.1",
        f"--grpc-port={a.grpc}",
        "--metrics-address=127.0.0.1",
        f"--metrics-port={a.metrics}",
        "--allow-gpu-metrics=false",
        # A shared-memory prefix of our own, so several servers can run side by side.
        f"--backend-config=python,shm-region-prefix-name=loadgen{os.getpid()}_",
        "--log-verbose=0",
    ]
    print("exec:", " ".join(command), flush=True)
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main()
