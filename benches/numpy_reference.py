#!/usr/bin/env python3
"""NumPy baseline for the cost of one optimizer step on the af22 diagonal network and the ssam24 problems.

Written in the style of the af22 authors' code (tml-epfl/understanding-sam,
diagonal_linear_nets/diag_nets.py), not copied from it: parameters u, v with beta = u * v,
u0 = 2 alpha, v0 = 0, loss ||X beta - y||^2 / (2n), the gradient recomputed with numpy vector
operations every step, and 1-SAM as a Python loop over the n examples with a per-example ascent
along grad(r_k^2). SSAM is n-SAM with its descent gradient rescaled by ||g|| / ||g_asc||.

In these units GD and n-SAM give the same iterates as samlab's (paper units) with the same lr and
rho; the 1-SAM radius is half of samlab's (ascent along grad(r_k^2) instead of grad(r_k^2 / 4) in
w coordinates), so rho_repo = rho / 2 for 1-SAM (see /work/shared/EXPERIMENTS.md, "Units").

Each timing runs a loop of `--steps` updates (default 1000) from the initialization inside one
function call, like the authors' GD / n_SAM_GD / one_SAM_GD loops, minus their per-iteration loss
logging (`if i in iters_loss`), which would only add cost to the numpy side. The reported number
is the best of `--repeat` such calls divided by the number of steps, in ns per step.

ssam24 (gradient noise N(0, s^2 I) added at every gradient evaluation, drawn with numpy's
default generator): the quartic saddle of Fig 2 vectorized over `--starts` starts (arrays of shape
(2, starts), one numpy expression per operation and step, diverging starts left to overflow, as a
vectorized numpy script would), reported in ns per trajectory-step; and the d = 20 quadratic of
Fig 6, one run at a time (a `H @ x` per gradient), `--qsteps` steps per call, reported in ns per
step (a 10^6-step run costs 10^6 times that).

The diagonal network is also run vectorized over `--trajectories` trajectories (u, v of shape
(d, K), all from the initialization; what a numpy script sweeping many runs would do), reported in
ns per trajectory-step as "batched_<m>" (m in gd, nsam, 1sam, ssam).

Prints one JSON object: {"gd": ns_per_step, "nsam": ..., "1sam": ..., "ssam": ...,
"sgd_b5": ..., "msam_b5": ..., "batched_<m>": ns per trajectory-step, "quartic_<m>": ns per trajectory-step, "quadratic_<m>": ns per
step (m in gd, sam, sam-star, ssam), "numpy_version": ..., "blas": ..., ...}.
"""

import argparse
import json
import os
import platform
import sys
import timeit
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ALPHA = 0.05
LR = 0.5
RHO = 0.05  # paper units (samlab); converted to the authors' units below where they differ
BATCH = 5


def load(path):
    with open(path) as f:
        data = json.load(f)
    return np.array(data["x"], dtype=np.float64), np.array(data["y"], dtype=np.float64)


# ----- update rules: each runs `num_iter` steps from (u0, v0) and returns (u, v) ------------------

def gd(X, y, gamma, u0, v0, num_iter):
    n = X.shape[0]
    u, v = u0, v0
    for _ in range(num_iter):
        res = X @ (u * v) - y
        Xr = X.T @ res
        g_u, g_v = Xr * v / n, Xr * u / n
        u = u - gamma * g_u
        v = v - gamma * g_v
    return u, v


def n_sam(X, y, gamma, u0, v0, num_iter, rho):
    n = X.shape[0]
    u, v = u0, v0
    for _ in range(num_iter):
        Xr = X.T @ (X @ (u * v) - y)
        u_a = u + rho * Xr * v / n
        v_a = v + rho * Xr * u / n
        Xr_a = X.T @ (X @ (u_a * v_a) - y)
        u = u - gamma * Xr_a * v_a / n
        v = v - gamma * Xr_a * u_a / n
    return u, v


def ssam(X, y, gamma, u0, v0, num_iter, rho):
    # n-SAM whose descent gradient is rescaled to the length of the gradient at w.
    n = X.shape[0]
    u, v = u0, v0
    for _ in range(num_iter):
        Xr = X.T @ (X @ (u * v) - y)
        g_u, g_v = Xr * v / n, Xr * u / n
        u_a, v_a = u + rho * g_u, v + rho * g_v
        Xr_a = X.T @ (X @ (u_a * v_a) - y)
        ga_u, ga_v = Xr_a * v_a / n, Xr_a * u_a / n
        norm_g = np.sqrt(np.sum(g_u ** 2) + np.sum(g_v ** 2))
        norm_ga = np.sqrt(np.sum(ga_u ** 2) + np.sum(ga_v ** 2))
        scale = norm_g / norm_ga if norm_ga > 0 else 0.0
        u = u - gamma * scale * ga_u
        v = v - gamma * scale * ga_v
    return u, v


def one_sam(X, y, gamma, u0, v0, num_iter, rho):
    # rho in the authors' units: the ascent of example k is along grad(r_k^2).
    n = X.shape[0]
    u, v = u0, v0
    for _ in range(num_iter):
        res = X @ (u * v) - y
        d_u, d_v = np.zeros_like(u), np.zeros_like(v)
        for k in range(n):
            u_k = u + 2 * rho * res[k] * X[k] * v
            v_k = v + 2 * rho * res[k] * X[k] * u
            r_k = (X[k] * u_k * v_k).sum() - y[k]
            d_u += r_k * v_k * X[k] / n
            d_v += r_k * u_k * X[k] / n
        u = u - gamma * d_u
        v = v - gamma * d_v
    return u, v


def sgd(X, y, gamma, u0, v0, num_iter, batch):
    n = X.shape[0]
    u, v = u0, v0
    for _ in range(num_iter):
        idx = np.random.choice(n, batch, replace=False)
        Xb, yb = X[idx], y[idx]
        Xr = Xb.T @ (Xb @ (u * v) - yb)
        u, v = u - gamma * Xr * v / batch, v - gamma * Xr * u / batch
    return u, v


def m_sam(X, y, gamma, u0, v0, num_iter, rho, batch):
    n = X.shape[0]
    u, v = u0, v0
    for _ in range(num_iter):
        idx = np.random.choice(n, batch, replace=False)
        Xb, yb = X[idx], y[idx]
        Xr = Xb.T @ (Xb @ (u * v) - yb)
        u_a, v_a = u + rho * Xr * v / batch, v + rho * Xr * u / batch
        Xr_a = Xb.T @ (Xb @ (u_a * v_a) - yb)
        u, v = u - gamma * Xr_a * v_a / batch, v - gamma * Xr_a * u_a / batch
    return u, v


# ----- the same rules vectorized over K trajectories: u, v of shape (d, K), Y = y[:, None] -------
# gd and n_sam above broadcast as they are; SSAM's norms and 1-SAM's per-example ascent need an
# axis per trajectory.

def ssam_batched(X, Y, gamma, u0, v0, num_iter, rho):
    n = X.shape[0]
    u, v = u0, v0
    for _ in range(num_iter):
        Xr = X.T @ (X @ (u * v) - Y)
        g_u, g_v = Xr * v / n, Xr * u / n
        u_a, v_a = u + rho * g_u, v + rho * g_v
        Xr_a = X.T @ (X @ (u_a * v_a) - Y)
        ga_u, ga_v = Xr_a * v_a / n, Xr_a * u_a / n
        norm_g = np.sqrt(np.sum(g_u ** 2, axis=0) + np.sum(g_v ** 2, axis=0))
        norm_ga = np.sqrt(np.sum(ga_u ** 2, axis=0) + np.sum(ga_v ** 2, axis=0))
        scale = norm_g / np.where(norm_ga > 0, norm_ga, np.inf)
        u = u - gamma * scale * ga_u
        v = v - gamma * scale * ga_v
    return u, v


def one_sam_batched(X, Y, gamma, u0, v0, num_iter, rho):
    n = X.shape[0]
    u, v = u0, v0
    for _ in range(num_iter):
        res = X @ (u * v) - Y
        d_u, d_v = np.zeros_like(u), np.zeros_like(v)
        for k in range(n):
            xk = X[k][:, None]
            u_k = u + 2 * rho * res[k] * xk * v
            v_k = v + 2 * rho * res[k] * xk * u
            r_k = (xk * u_k * v_k).sum(axis=0) - Y[k]
            d_u += r_k * v_k * xk / n
            d_v += r_k * u_k * xk / n
        u = u - gamma * d_u
        v = v - gamma * d_v
    return u, v


# ----- ssam24: SGD / SAM / SAM* / SSAM with gradient noise -------------------------------------

def noisy_sam(grad, x0, lr, rho, num_iter, s, rng, ascent="none", renorm=False):
    """`num_iter` steps from x0 (any shape; the first axis is the coordinate). ascent: "none"
    (SGD), "grad" (SAM, w + rho g) or "normalized" (SAM*, w + rho g / |g|); renorm: SSAM."""
    x = x0
    for _ in range(num_iter):
        g = grad(x) + s * rng.standard_normal(x.shape)
        if ascent == "none":
            x = x - lr * g
            continue
        if ascent == "normalized":
            ng = np.sqrt(np.sum(g * g, axis=0))
            x_a = x + rho * g / np.where(ng > 0, ng, np.inf)
        else:
            x_a = x + rho * g
        g_a = grad(x_a) + s * rng.standard_normal(x.shape)
        if renorm:
            ng = np.sqrt(np.sum(g * g, axis=0))
            na = np.sqrt(np.sum(g_a * g_a, axis=0))
            g_a = g_a * (ng / np.where(na > 0, na, np.inf))
        x = x - lr * g_a
    return x


def quartic_grad(x):
    return np.stack([x[0] ** 3 - x[1], x[1] - x[0]])


SSAM24_METHODS = {"gd": ("none", False), "sam": ("grad", False),
                  "sam-star": ("normalized", False), "ssam": ("grad", True)}


def ssam24_quadratic(d, delta, rng):
    a = rng.standard_normal((d, 2 * d))
    return a @ a.T / (2 * d) + delta * np.eye(d)


# ----- checks against the reference trajectories of data/diag_net_seed0_reference.json -----------

def reference_check(X, y, u0, v0):
    """Max |beta - beta_ref| over the reference runs of GD and n-SAM (validates the units)."""
    path = ROOT / "data" / "diag_net_seed0_reference.json"
    if not path.exists():
        return None
    with open(path) as f:
        ref = json.load(f)
    out = {}
    for run in ref["runs"]:
        if len(run["phases"]) != 1 or run.get("alpha") != ALPHA:
            continue
        ph = run["phases"][0]
        key = f"{ph['method']}_rho{ph['rho_repo']}"
        if ph["method"] == "gd":
            u, v = gd(X, y, ph["lr"], u0, v0, ph["steps"])
        elif ph["method"] == "nsam" and ph["rho_repo"] in (0.01, 0.1):
            u, v = n_sam(X, y, ph["lr"], u0, v0, ph["steps"], ph["rho_repo"])
        else:
            continue
        out[key] = float(np.max(np.abs(u * v - np.array(run["beta"]))))
    return out


def blas_info():
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return {k: blas.get(k) for k in ("name", "version", "openblas configuration") if k in blas}
    except Exception as exc:  # older numpy: no mode="dicts"
        return {"error": repr(exc)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "diag_net_seed0.json"))
    ap.add_argument("--steps", type=int, default=1000, help="steps per timed call (>= 1000)")
    ap.add_argument("--repeat", type=int, default=7, help="timed calls per method; best is kept")
    ap.add_argument("--no-check", action="store_true", help="skip the reference-trajectory check")
    ap.add_argument("--starts", type=int, default=10000, help="quartic: starts per vectorized run")
    ap.add_argument("--qsteps", type=int, default=20000, help="quadratic: steps per timed call")
    ap.add_argument("--trajectories", type=int, default=32,
                    help="diagonal net vectorized over this many trajectories (batched_<m>)")
    args = ap.parse_args()
    if args.steps < 1000:
        ap.error("--steps must be >= 1000")

    X, y = load(args.data)
    n, d = X.shape
    np.random.seed(0)
    u0, v0 = 2 * ALPHA * np.ones(d), np.zeros(d)
    rho_repo_1sam = RHO / 2

    cases = {
        "gd": lambda: gd(X, y, LR, u0, v0, args.steps),
        "nsam": lambda: n_sam(X, y, LR, u0, v0, args.steps, RHO),
        "1sam": lambda: one_sam(X, y, LR, u0, v0, args.steps, rho_repo_1sam),
        "ssam": lambda: ssam(X, y, LR, u0, v0, args.steps, RHO),
        "sgd_b5": lambda: sgd(X, y, LR, u0, v0, args.steps, BATCH),
        "msam_b5": lambda: m_sam(X, y, LR, u0, v0, args.steps, RHO, BATCH),
    }
    # K trajectories at once (the lanes of samlab's batched diagonal-net benchmark), all from the
    # initialization; reported per trajectory-step.
    K = args.trajectories
    U0, V0, Y = np.tile(u0[:, None], (1, K)), np.zeros((d, K)), y[:, None]
    cases.update({
        "batched_gd": lambda: gd(X, Y, LR, U0, V0, args.steps),
        "batched_nsam": lambda: n_sam(X, Y, LR, U0, V0, args.steps, RHO),
        "batched_1sam": lambda: one_sam_batched(X, Y, LR, U0, V0, args.steps, rho_repo_1sam),
        "batched_ssam": lambda: ssam_batched(X, Y, LR, U0, V0, args.steps, RHO),
    })
    rng = np.random.default_rng(0)
    x0_quartic = rng.uniform(-2, 2, size=(2, args.starts))
    h = ssam24_quadratic(20, 0.01, rng)
    x0_quad = rng.standard_normal(20)
    quartic_steps = 100
    for m, (asc, ren) in SSAM24_METHODS.items():
        cases[f"quartic_{m}"] = (lambda asc=asc, ren=ren: noisy_sam(
            quartic_grad, x0_quartic, 0.01, 0.2, quartic_steps, np.sqrt(0.005), rng, asc, ren))
        cases[f"quadratic_{m}"] = (lambda asc=asc, ren=ren: noisy_sam(
            lambda x: h @ x, x0_quad, 1e-3, 0.5, args.qsteps, np.sqrt(1e-4), rng, asc, ren))
    per = {k: args.steps for k in cases}
    per.update({f"quartic_{m}": quartic_steps * args.starts for m in SSAM24_METHODS})
    per.update({f"quadratic_{m}": args.qsteps for m in SSAM24_METHODS})
    per.update({f"batched_{m}": args.steps * K for m in ("gd", "nsam", "1sam", "ssam")})

    result = {}
    for name, fn in cases.items():
        with np.errstate(over="ignore", invalid="ignore"):  # diverging quartic starts overflow
            out = fn()  # warm-up; the diagonal-net iterate must stay finite
            if not name.startswith("quartic") and not all(np.all(np.isfinite(o)) for o in out):
                sys.exit(f"{name}: non-finite iterate after {per[name]} steps")
            repeat = args.repeat if name in ("gd", "nsam", "1sam", "ssam", "sgd_b5", "msam_b5") else 3
            best = min(timeit.repeat(fn, number=1, repeat=repeat))
        result[name] = best / per[name] * 1e9

    result.update({
        "unit": "ns per step (best of repeats; each repeat = one call of `steps` steps from init)",
        "steps": args.steps,
        "repeat": args.repeat,
        "n": n,
        "d": d,
        "alpha": ALPHA,
        "lr": LR,
        "rho": RHO,
        "rho_repo_1sam": rho_repo_1sam,
        "batch": BATCH,
        "trajectories": K,
        "quartic": {"starts": args.starts, "steps_per_call": quartic_steps, "lr": 0.01, "rho": 0.2,
                    "noise_variance": 0.005, "repeat": 3},
        "quadratic": {"d": 20, "delta": 0.01, "steps_per_call": args.qsteps, "lr": 1e-3, "rho": 0.5,
                      "noise_variance": 1e-4, "repeat": 3},
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "blas": blas_info(),
        "env": {k: os.environ.get(k) for k in
                ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
    })
    if not args.no_check:
        result["reference_check_max_abs_beta_err"] = reference_check(X, y, u0, v0)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
