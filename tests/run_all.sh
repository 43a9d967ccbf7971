#!/usr/bin/env bash
# Installs what the tests need and runs every test: C++ (GoogleTest via CTest) and Python
# (pytest, including the differential tests against the official wheel in its own venv).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
PY=${PYTHON:-python3}

# System packages (Debian's): GoogleTest for the C++ tests, clang for the thread-safety check,
# the Boost headers for the network client, and a headless browser in which
# tests/python/test_report.py opens the report page.
# apt_install PACKAGE: installs it (updating the package lists once if needed), or says what to do.
apt_install() {
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get install -y -q --no-install-recommends "$1" >/dev/null \
      || { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends "$1"; }
  else
    echo "$1 not found: install it (or your system's equivalent) and rerun" >&2; exit 1
  fi
}
[ -f /usr/include/gtest/gtest.h ] || apt_install libgtest-dev
browser=""
for b in chromium-headless-shell chromium chromium-browser google-chrome; do
  command -v "$b" >/dev/null && browser="$b"
done
[ -n "$browser" ] || apt_install chromium-headless-shell

command -v clang++ >/dev/null || apt_install clang
# Boost headers (Beast, Asio, JSON) for the native network client, cpp/src/net (header-only).
if [ ! -f /usr/include/boost/json/src.hpp ] || [ ! -f /usr/include/boost/beast.hpp ]; then
  apt_install libboost1.81-dev
  apt_install libboost-json1.81-dev
fi
# gRPC C++ and protobuf for the native KServe v2 gRPC client, cpp/src/net/grpc (LOADGEN_GRPC).
if [ ! -f /usr/include/grpcpp/grpcpp.h ] || ! command -v grpc_cpp_plugin >/dev/null \
   || ! command -v protoc >/dev/null; then
  apt_install libgrpc++-dev
  apt_install protobuf-compiler-grpc
  apt_install libprotobuf-dev
  apt_install protobuf-compiler
fi

# Clang's thread-safety analysis (annotations: cpp/src/common/thread_annotations.h) over every
# file of the library, the network client and the extension: an access to mutex-guarded state
# without its mutex fails. Configured only, then each file parsed (tests/thread_safety_check.py).
echo "== Clang thread-safety check"
$PY -m pip install -q "pybind11>=3"  # the extension's build requirement (pyproject.toml)
CXX=clang++ cmake -S . -B build/clang-thread-safety -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DLOADGEN_BUILD_TESTS=OFF -DLOADGEN_INSTALL=OFF \
  -DLOADGEN_BUILD_PYTHON=ON -DLOADGEN_NET=ON "-Dpybind11_DIR=$($PY -m pybind11 --cmakedir)" >/dev/null
# The gRPC client's sources include protoc's headers: generate them (nothing is compiled).
if ninja -C build/clang-thread-safety -t targets all | grep -q "^loadgen_grpc_generated:"; then
  cmake --build build/clang-thread-safety --target loadgen_grpc_generated >/dev/null
fi
$PY tests/thread_safety_check.py build/clang-thread-safety "$JOBS"

echo "== C++ tests"
cmake -S . -B build/cpp-tests -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOADGEN_BUILD_TESTS=ON \
  -DLOADGEN_BUILD_EXAMPLES=ON -DLOADGEN_NET=ON >/dev/null
cmake --build build/cpp-tests -j "$JOBS"
ctest --test-dir build/cpp-tests --output-on-failure -j "$JOBS"

echo "== Python package"
$PY -m pip install -q ".[test,net]"  # net: grpcio + tritonclient[grpc] for the kserve-grpc tests

# Formatting and lint, with the versions the test extra pins: drift is the cheapest debt to stop.
echo "== Format and lint"
PYBIN=$(dirname "$($PY -c 'import sys; print(sys.executable)')")
CLANG_FORMAT="$PYBIN/clang-format"; [ -x "$CLANG_FORMAT" ] || CLANG_FORMAT=clang-format
git ls-files '*.cc' '*.h' | xargs "$CLANG_FORMAT" --dry-run --Werror
$PY -m ruff format --check --quiet .
$PY -m ruff check --quiet .

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
