#!/usr/bin/env bash
# Training throughput of `samlab train` (feature `torch`) on a CUDA device: images per second of
# sgd, sam, ssam and m-SAM (m = 32) for each network, batch 128, f32, on synthetic images of the
# papers' shapes (CIFAR 3×32×32, MNIST 1×28×28), so that no data set is needed. The second epoch
# is reported (the first includes cuDNN's start-up). Prints a Markdown table for BENCHMARKS.md.
#
# Usage: bash benches/gpu_throughput.sh [OUT_DIR]
#   SAMLAB=path/to/samlab  N=images per epoch (10000)  DEVICE=cuda|cpu  MODELS="mlp resnet18"
set -euo pipefail
bin=${SAMLAB:-target/release/samlab}
out=${1:-target/gpu-throughput}
n=${N:-10000}
runs=(
  "mlp 1,28,28"
  "lenet 1,28,28"
  "resnet20 3,32,32"
  "resnet56 3,32,32"
  "resnet18 3,32,32"
  "wrn-28-10 3,32,32"
)
echo "| network | input | sgd | sam | ssam | m-SAM (m = 32) |"
echo "|---|---|---:|---:|---:|---:|"
for r in "${runs[@]}"; do
  set -- $r
  if [ -n "${MODELS:-}" ] && [[ " $MODELS " != *" $1 "* ]]; then continue; fi
  "$bin" train --data "synthetic:$2,10,$n" --model "$1" --methods sgd,sam,ssam,msam --m 32 \
    --epochs 2 --batch 128 --sharpness-examples 0 --device "${DEVICE:-cuda}" --out "$out/$1" --quiet
  row="| $1 | $2 |"
  for m in sgd sam ssam msam; do
    ips=$(grep -v '^#' "$out/$1/$m.csv" | awk -F, 'NR == 3 { printf "%.0f", $9 }')
    row="$row $ips |"
  done
  echo "$row"
done
