#!/usr/bin/env bash
# Installs what the tests need and runs every test: C++ (GoogleTest via CTest) and Python
# (pytest, including the differential tests against the official wheel in its own venv).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
PY=${PYTHON:-python3}

# GoogleTest for the C++ tests (Debian's package; the only system dependency).
if [ ! -f /usr/include/gtest/gtest.h ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get install -y -q libgtest-dev >/dev/null || { $SUDO apt-get update -q && $SUDO apt-get install -y -q libgtest-dev; }
  else
    echo "GoogleTest not found: install libgtest-dev (or gtest) and rerun" >&2; exit 1
  fi
fi

# Boost headers (Beast, Asio, JSON) for the native network client, cpp/src/net (header-only).
if [ ! -f /usr/include/boost/json/src.hpp ] || [ ! -f /usr/include/boost/beast.hpp ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    PKGS="libboost1.81-dev libboost-json1.81-dev"
    $SUDO apt-get install -y -q $PKGS >/dev/null || { $SUDO apt-get update -q && $SUDO apt-get install -y -q $PKGS; }
  else
    echo "Boost >= 1.75 headers (Beast, JSON) not found: install them and rerun" >&2; exit 1
  fi
fi

echo "== C++ tests"
cmake -S . -B build/cpp-tests -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOADGEN_BUILD_TESTS=ON \
  -DLOADGEN_BUILD_EXAMPLES=ON -DLOADGEN_NET=ON >/dev/null
cmake --build build/cpp-tests -j "$JOBS"
ctest --test-dir build/cpp-tests --output-on-failure -j "$JOBS"

echo "== Python package"
$PY -m pip install -q ".[test,net]"  # net: grpcio + tritonclient[grpc] for the kserve-grpc tests

# The official wheel, only as a test oracle, in a venv of its own (never a dependency).
ORACLE=build/oracle-venv
if [ ! -x "$ORACLE/bin/python" ] || ! "$ORACLE/bin/python" -c "import mlperf_loadgen" 2>/dev/null; then
  $PY -m venv "$ORACLE"
  "$ORACLE/bin/pip" install -q "mlcommons-loadgen==6.0.17" numpy
fi
export LOADGEN_ORACLE_PYTHON="$ROOT/$ORACLE/bin/python"
export LOADGEN_REQUIRE_ORACLE=1

# Real servers for the network tests (tests/servers/): llama.cpp's server from the xllamacpp
# wheel (+ gguf to write the tiny model) in the test env; tritonserver from the nvidia-pytriton
# wheel in a venv of its own, since it needs numpy<2.
$PY -m pip install -q xllamacpp gguf
TRITON=build/triton-venv
if [ ! -x "$TRITON/bin/python" ] || ! "$TRITON/bin/python" -c "import pytriton" 2>/dev/null; then
  $PY -m venv "$TRITON"
  "$TRITON/bin/pip" install -q "nvidia-pytriton==0.7.0" "numpy<2"
fi
export LOADGEN_TRITON_PYTHON="$ROOT/$TRITON/bin/python"
export LOADGEN_REQUIRE_SERVERS=1

echo "== Python tests"
$PY -m pytest -q "$@"
