#!/usr/bin/env bash
# Per-step cost of samlab's optimizers on the af22 diagonal network versus a NumPy implementation in
# the style of the authors' code; writes BENCHMARKS.md (atomically) at the repository root.
#
#   bash benches/run_benchmarks.sh
#
# (a) creates target/bench-venv with numpy (only if missing), (b) runs the criterion benchmark
# `benches/steps.rs` and reads target/criterion/diag_net_step/<method>/new/estimates.json,
# (c) runs benches/numpy_reference.py with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, twice (before
# and after (b); the faster pass per method is kept), (d) writes
# BENCHMARKS.md: table, machine, roofline.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=$ROOT/target/bench-venv
PY=$VENV/bin/python
CRIT=$TARGET/criterion/diag_net_step
NUMPY_JSON=$TARGET/bench-numpy.json
OUT=$ROOT/BENCHMARKS.md

# (a) the virtual environment
if ! { [ -x "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null; }; then
    echo "== creating $VENV with numpy" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet numpy
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# (c) numpy, without the OpenBLAS overrides of this environment. It runs twice, before and after
# the criterion run, and the report keeps the faster of the two per method: on a shared machine
# a slow phase during a single NumPy run would otherwise inflate the ratios.
numpy_env_note="run as \`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benches/numpy_reference.py\`"
numpy_env_note+=" (values in the calling environment: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>},"
numpy_env_note+=" OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>})"
run_numpy() {
    echo "== numpy reference (env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE), pass $1" >&2
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" benches/numpy_reference.py $2 > "$NUMPY_JSON.$1.tmp"
    mv "$NUMPY_JSON.$1.tmp" "$NUMPY_JSON.$1"
}
run_numpy 1 --no-check

# (b) samlab (criterion); stale results must not be read
echo "== cargo bench --bench steps -- --noplot" >&2
rm -rf "$CRIT"
cargo bench --bench steps -- --noplot >&2

run_numpy 2 ""

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# (d) the report
export CRIT NUMPY_JSON OUT load_before load_after numpy_env_note
export NPROC=$(nproc)
export CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
export CPU_MHZ=$(grep -m1 'cpu MHz' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
export CPU_FLAGS=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'sse2|avx|avx2|fma|avx512f' | tr '\n' ' ')
export RUSTC_VERSION=$(rustc --version)
export RUSTFLAGS_NOTE=${RUSTFLAGS-<unset>}
export GIT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
export GIT_DIRTY=$(git status --porcelain -- src Cargo.toml benches 2>/dev/null | wc -l)
export DATE=$(date -u '+%Y-%m-%d %H:%M UTC')

"$PY" - <<'PYEOF'
import json, os

crit, out = os.environ["CRIT"], os.environ["OUT"]
np_runs = [json.load(open(os.environ["NUMPY_JSON"] + f".{k}")) for k in (1, 2)]
np_res = dict(np_runs[1])  # metadata and the units check from the second pass
n, d, b = np_res["n"], np_res["d"], np_res["batch"]

# Floating-point operations of one step as samlab's code performs them (src/problem/diag_net.rs
# `batch_grad` and `example_grad`, src/optim/mod.rs `step`, as of git e9ef1ce); a multiply, add,
# subtract, divide or sqrt counts 1. Update these counts when those functions change.
def G(m):  # batch_grad over m examples: beta (3d) + per example dot, -y, s += r x (4d + 1)
    return 3 * d + m * (4 * d + 1) + 1 + 3 * d  # + 1/m + final scaling (3d)
E1 = 3 * d + 2 * d + 1 + 3 * d  # example_grad: beta (3d), dot and -y (2d + 1), r x_j w+-_j (3d)
UPD = ASC = 4 * d          # w -= lr * g, w_asc = w + s * g over 2d entries
NORM = 2 * (2 * d) + 1     # dot over 2d entries + sqrt
flops = {
    "gd": G(n) + UPD,
    "nsam": 2 * G(n) + ASC + UPD,
    "1sam": n * (2 * E1 + ASC + 2 * d) + 1 + 2 * d + UPD,
    "ssam": 2 * G(n) + ASC + UPD + 2 * NORM + 2 + 2 * (2 * d),
    "sgd_b5": G(b) + UPD,
    "msam_b5": 2 * G(b) + ASC + UPD,
}
formula = {
    "gd": "4nd + n + 6d + 1 + 4d",
    "nsam": "2(4nd + n + 6d + 1) + 8d",
    "1sam": "n(2(8d + 1) + 6d) + 6d + 1",
    "ssam": "n-SAM + 2(4d + 1) + 4d + 2",
    "sgd_b5": "4bd + b + 6d + 1 + 4d",
    "msam_b5": "2(4bd + b + 6d + 1) + 8d",
}
minimal = {  # passes over the design that any implementation needs: 2 per gradient (X beta, X^T r)
    "gd": 4 * n * d, "nsam": 8 * n * d, "1sam": n * 8 * d, "ssam": 8 * n * d,
    "sgd_b5": 4 * b * d, "msam_b5": 8 * b * d,
}
label = {"gd": "gd", "nsam": "nsam", "1sam": "1sam", "ssam": "ssam",
         "sgd_b5": "sgd (batch 5)", "msam_b5": "msam (batch 5)"}

GOAL = 100.0
mhz = float(os.environ["CPU_MHZ"])
peak = 4 * mhz / 1000  # GFLOP/s: SSE2, 2 f64 lanes x 2 vector FP ops per cycle

rows, roof, missed, need = [], [], [], {}
for m in flops:
    est = json.load(open(f"{crit}/{m}/new/estimates.json"))
    mean = est["mean"]["point_estimate"]
    lo, hi = est["mean"]["confidence_interval"]["lower_bound"], est["mean"]["confidence_interval"]["upper_bound"]
    smp = json.load(open(f"{crit}/{m}/new/sample.json"))
    best = min(t / i for t, i in zip(smp["times"], smp["iters"]))
    ref = min(r[m] for r in np_runs)
    np_res[m] = ref
    ratio = ref / mean
    met = ratio >= GOAL
    if not met:
        missed.append(m)
    rows.append(f"| {label[m]} | {mean:,.0f} ({lo:,.0f}–{hi:,.0f}) | {best:,.0f} | {ref:,.0f} | {ratio:.1f}× | {ref / best:.1f}× | ≥ {GOAL:.0f}× | {'yes' if met else '**no**'} |")
    gf = flops[m] / mean
    need_ns = ref / GOAL
    need_gf = flops[m] / need_ns
    need[m] = need_gf
    roof.append(f"| {label[m]} | {formula[m]} | {flops[m]:,} | {minimal[m]:,} | {gf:.2f} | {100 * gf / peak:.0f}% | {need_ns:,.0f} | {need_gf:.1f} ({need_gf / peak:.1f}× peak) |")

np_blas = np_res.get("blas", {})
check = np_res.get("reference_check_max_abs_beta_err")
md = f"""# Benchmarks: one optimizer step on the af22 diagonal network

Generated by `benches/run_benchmarks.sh` on {os.environ['DATE']} (git `{os.environ['GIT_REV']}`,
{os.environ['GIT_DIRTY']} uncommitted change(s) under src/, benches/, Cargo.toml at run time).

Reproduce: `bash benches/run_benchmarks.sh` (from the repository root).

Problem: `data/diag_net_seed0.json` (d = {d}, n = {n}), α = {np_res['alpha']}, lr = {np_res['lr']},
ρ = {np_res['rho']} (paper units; the NumPy 1-SAM uses the authors' ρ = {np_res['rho_repo_1sam']}, the
same step), full batch except the batch-{b} rows (without replacement). Both sides time steps in
place from the initialization, restarting every 1000 steps. samlab: criterion mean over
`step()` calls with a preallocated `Workspace` (95% CI in parentheses). NumPy: best of
2 × {np_res['repeat']} calls of a {np_res['steps']}-step loop, one pass of {np_res['repeat']} before and one after the
criterion run (per pass: {', '.join(f"{m} {np_runs[0][m]:,.0f} / {np_runs[1][m]:,.0f}" for m in ("gd", "nsam", "1sam", "ssam"))} ns); `benches/numpy_reference.py` is written in the style
of the authors' `diag_nets.py`: β = u⊙v, numpy vector ops per step, 1-SAM looping in Python over
the examples; their per-iteration loss logging is left out, which only favours NumPy.

"met?" is judged on the conservative ratio numpy best / samlab mean. "samlab best" is the fastest
criterion sample (ns per step), for a like-for-like best-vs-best ratio. The machine has
{os.environ['NPROC']} cores and may be shared (load averages below): absolute times can move by up to 2× between
runs on a shared VM, well beyond the criterion intervals; compare the ratios within one run.

| method | samlab mean ns/step (95% CI) | samlab best | numpy ns/step | ratio (numpy / samlab mean) | ratio (best / best) | goal | met? |
|---|---:|---:|---:|---:|---:|---:|:---:|
""" + "\n".join(rows) + "\n"

if missed:
    over = [m for m in missed if need[m] > peak]
    under = [m for m in missed if need[m] <= peak]
    md += f"""
**The 100× goal is missed** (on the mean) for: {', '.join(label[m] for m in missed)}; the ratios
above are the measured ones.
"""
    if over:
        md += f"""For {', '.join(label[m] for m in over)}, 100× the NumPy speed would need more floating-point
throughput than the peak assumed below for the instruction set samlab is compiled for, at the
flop count of the current code (see the roofline table): only fewer flops per step or a wider
instruction set could close that gap, and NumPy's cost here is mostly per-call dispatch overhead
(about 1 µs per array operation at n = {n}, d = {d}), not arithmetic.
"""
    if under:
        md += f"""For {', '.join(label[m] for m in under)}, the needed throughput is below that peak, so the gap is
in the implementation, not a hardware bound"""
        why = []
        if "1sam" in under:
            why.append("1-SAM performs about 2.8× the minimal flops, recomputing β(w) or β(w_asc) "
                       "in each of its 2n single-example gradients, and its short per-example "
                       "dot products are serial")
        if any(m.endswith("_b5") for m in under):
            why.append("the batch methods pay a fixed cost per step that the flop count leaves "
                       "out: drawing the batch (partial Fisher–Yates with the ChaCha8 stream) "
                       "and the O(d) work of each gradient call")
        md += (": " + "; ".join(why) if why else "") + ".\n"
else:
    md += "\nEvery method meets the 100× goal.\n"

md += f"""
## Roofline

Flops per step are counted from samlab's code (`DiagNet::batch_grad`: β = w₊² − w₋² (3d), per
example a dot product, the residual and the accumulation s += rᵢxᵢ (4d + 1), the final scaling
(3d + 1); `example_grad`: β (3d), the residual (2d + 1), rᵢxᵢ⊙w± (3d); `step`: ascent and update
2 flops per entry of the 2d-vector, norms 4d + 1). 1-SAM calls the single-example gradient twice
per example (at w and at the ascent point), so it recomputes β 2n times and the residual at w once
per example instead of in one shared pass. "minimal" counts only the passes over the design that every
implementation needs (two per gradient evaluation: Xβ and Xᵀr; for 1-SAM two dot products and two
axpys per example). Peak assumption: samlab is built for the default x86-64 target (SSE2, no
`-C target-cpu`; RUSTFLAGS={os.environ['RUSTFLAGS_NOTE']}), so 2 f64 lanes × 2 vector FP
instructions per cycle (one add + one multiply, no FMA) = 4 flop/cycle at the {mhz:.0f} MHz of
/proc/cpuinfo = **{peak:.1f} GFLOP/s per core**. (The CPU has {os.environ['CPU_FLAGS'].strip()}; an AVX-512 FMA
build would have a nominal peak 8× higher, but at d = {d} the work is a chain of short dot products
whose reductions are latency-bound, and 1-SAM is sequential over examples.)

| method | flops/step (formula) | flops/step | minimal | achieved GFLOP/s | of peak | ns/step for 100× | GFLOP/s needed for 100× |
|---|---|---:|---:|---:|---:|---:|---:|
""" + "\n".join(roof) + f"""

## Machine and versions

- CPU: {os.environ['CPU_MODEL']}, {os.environ['CPU_MHZ']} MHz, `nproc` = {os.environ['NPROC']}; flags: {os.environ['CPU_FLAGS'].strip()}
- load average (1/5/15 min) before: {os.environ['load_before']}, after: {os.environ['load_after']}
- {os.environ['RUSTC_VERSION']}; `cargo bench` profile `bench` (opt-level 3), criterion 0.8
- Python {np_res['python_version']}, NumPy {np_res['numpy_version']}, BLAS: {np_blas.get('name', '?')} {np_blas.get('version', '')} ({np_blas.get('openblas configuration', '')})
- NumPy {os.environ['numpy_env_note']}; inside the run: {json.dumps(np_res['env'])}
- NumPy units check (max |β − β_ref| after 10001 steps vs `data/diag_net_seed0_reference.json`): {json.dumps(check)}
"""
tmp = out + ".tmp"
with open(tmp, "w") as f:
    f.write(md)
os.replace(tmp, out)
print(md)
PYEOF
echo "== wrote $OUT" >&2
