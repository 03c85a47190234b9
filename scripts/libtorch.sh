#!/usr/bin/env bash
# Set up libtorch 2.11.0 for the `torch` feature from the Python registry (PyPI), no system
# package needed: the torch wheel (libtorch headers and libraries) plus the two small CUDA
# runtime wheels that libtorch_cpu.so links against (libcudart, libcupti; they load fine on a
# machine without a GPU). Wheels are cached in $SAMLAB_CACHE (default ~/.cache/samlab) and
# unpacked into target/libtorch:
#
#   target/libtorch/include   headers
#   target/libtorch/lib       libc10, libtorch_cpu, libgomp, libcudart, libcupti and
#                             libtorch.so -> libtorch_cpu.so (a CPU-only link; on a GPU machine
#                             samlab loads libtorch_cuda.so at run time, see README)
#
# It also unpacks scikit-learn's 8×8 digits (sklearn/datasets/data/digits.csv.gz, 1797 real
# images) from the scikit-learn wheel into target/data/digits.csv.gz for an end-to-end run on real
# data.
#
# Usage:  eval "$(bash scripts/libtorch.sh)"     # prints the `export` lines it needs
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${SAMLAB_CACHE:-$HOME/.cache/samlab}
dest=$root/target/libtorch
mkdir -p "$cache"

torch_whl=torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl
cudart_whl=nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
cupti_whl=nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl

sklearn_whl=scikit_learn-1.7.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl

unzip_py() { # unzip_py WHEEL DEST MEMBER_PREFIX... : extract members by prefix (python3's zipfile)
  python3 - "$@" <<'PY'
import sys, zipfile
wheel, dest, prefixes = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if any(name.startswith(p) for p in prefixes) and not name.endswith("/"):
            z.extract(name, dest)
PY
}

fetch() { # fetch WHEEL REQUIREMENT: download once into the cache (pip checks the index hash)
  if [ ! -f "$cache/$1" ]; then
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_25_x86_64 \
      --platform manylinux_2_17_x86_64 \
      -d "$cache" "$2" >&2
  fi
  [ -f "$cache/$1" ] || { echo "libtorch.sh: $1 was not downloaded" >&2; exit 1; }
}
fetch "$torch_whl" torch==2.11.0
fetch "$cudart_whl" nvidia-cuda-runtime==13.0.96
fetch "$cupti_whl" nvidia-cuda-cupti==13.0.85
fetch "$sklearn_whl" scikit-learn==1.7.2

if [ ! -f "$dest/.complete" ]; then
  rm -rf "$dest" "$dest.tmp"
  mkdir -p "$dest.tmp/unpack"
  unzip_py "$cache/$torch_whl" "$dest.tmp/unpack" torch/include/ torch/lib/libc10.so \
    torch/lib/libtorch_cpu.so torch/lib/libgomp.so.1
  unzip_py "$cache/$cudart_whl" "$dest.tmp/unpack" nvidia/cu13/lib/libcudart.so.13
  unzip_py "$cache/$cupti_whl" "$dest.tmp/unpack" nvidia/cu13/lib/libcupti.so.13
  chmod +x "$dest.tmp/unpack/torch/lib/"*.so* "$dest.tmp/unpack/nvidia/cu13/lib/"*
  mv "$dest.tmp/unpack/torch/include" "$dest.tmp/include"
  mkdir -p "$dest.tmp/lib"
  mv "$dest.tmp/unpack/torch/lib/"* "$dest.tmp/unpack/nvidia/cu13/lib/"* "$dest.tmp/lib/"
  ln -s libtorch_cpu.so "$dest.tmp/lib/libtorch.so"
  rm -rf "$dest.tmp/unpack"
  touch "$dest.tmp/.complete"
  mv "$dest.tmp" "$dest"
fi
if [ ! -f "$root/target/data/digits.csv.gz" ]; then
  mkdir -p "$root/target/data"
  rm -rf "$root/target/data/digits.tmp"
  unzip_py "$cache/$sklearn_whl" "$root/target/data/digits.tmp" sklearn/datasets/data/digits.csv.gz
  mv "$root/target/data/digits.tmp/sklearn/datasets/data/digits.csv.gz" "$root/target/data/digits.csv.gz"
  rm -rf "$root/target/data/digits.tmp"
fi
echo "export LIBTORCH=$dest"
echo "export SAMLAB_DIGITS=$root/target/data/digits.csv.gz"
echo "export LD_LIBRARY_PATH=$dest/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
