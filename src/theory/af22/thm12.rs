//! af22 Theorem 12 ((A1), (A2′), stochastic n-SAM, Eq. 21, batches of size b):
//! with γ_t = 1/(√T β), ρ_t = 1/(T^{1/4} β),
//! (1/T) E Σ_{t<T} ‖∇L(w_t)‖² ≤ 4(L(w₀) − L*)/(β√T) + 8σ²/(b√T) (as printed);
//! with (A3) and γ_t = min{(8t+4)/(3µ(t+1)²), 1/(2β)}, ρ_t = √(γ_t/β):
//! E L(w_T) − L* ≤ 3β²(L(w₀) − L*)/(µ²T²) + 22βσ²/(bµ²T).
//!
//! The first part is Theorem 15 (summed Lemma 14, without the printed factor T in its noise term)
//! at γ = 1/(√T β), ρ = 1/(T^{1/4} β): 4(L(w₀) − L*)/(Tγ) = 4β(L(w₀) − L*)/√T, and
//! 4σ²β(γ + ρ²β)/b = 8σ²/(b√T). The printed 4(L(w₀) − L*)/(β√T) has β in the wrong place (Theorem 2,
//! the same statement for m-SAM, prints 4β(L(w₀) − L*)/√T): already at T = 1 the left side is
//! ‖∇L(w₀)‖², which is 2β(L(w₀) − L*) on an isotropic quadratic of curvature β, above
//! 4(L(w₀) − L*)/β whenever β² > 2 and the noise term is small. `af22.thm12.corrected` checks
//! 4β(L(w₀) − L*)/√T + 8σ²/(b√T). Expectations are Monte Carlo (see af22.thm15).

use super::thm15::{
    StochCase, T_MAX, gap_estimate, grad_avg_estimate, mc_scale, method, start_point, stoch_case,
};
use crate::optim::StepSizes;
use crate::theory::{Check, Instance, Observation, Sense};

/// The thm12 / thm2 first part: schedule γ_t = 1/(√T β), ρ_t = 1/(T^{1/4} β), horizon T ∈
/// 1..=100, the bound a·(L(w₀) − L*)/√T + 8σ²/(b√T) with a = `first(β)`.
pub(super) fn sqrt_t_eval(inst: &Instance, name: &str, first: impl Fn(f64) -> f64) -> Observation {
    let t = &inst.theta;
    let c = stoch_case(&t[2..8], inst.seed, false);
    let big_t = 1 + ((t[0] * (T_MAX - 1) as f64).round() as usize).min(T_MAX - 1);
    let w0 = start_point(&c, t[1], inst.seed);
    let l0 = c.prob.loss(&w0);
    let m = method(name, c.b);
    let sizes = StepSizes::Thm12 { beta: c.beta };
    let est = grad_avg_estimate(&c, &m, sizes, &w0, big_t, 0.0, 0.0, inst.seed);
    let st = (big_t as f64).sqrt();
    let a = first(c.beta);
    let rhs = a * (l0 - c.lstar) / st + 8.0 * c.sigma2 / (c.b as f64 * st);
    let scale = mc_scale(
        &c,
        big_t,
        est.mean.abs() + est.sd + rhs.abs() + a * (l0.abs() + c.lstar.abs()),
    );
    let (lr, rho) = sizes.at(0, big_t);
    Observation::monte_carlo(
        est,
        Sense::Le,
        rhs,
        scale,
        c.constants(false),
        format!(
            "{}; T = {big_t}, gamma*beta = {:.6}, rho*beta = {:.6}, L(w0) - L* = {:.6e}, |grad L(w0)|^2 = {:.6e}, lhs = (1/T) sum_(t<T) |grad L(w_t)|^2",
            c.what,
            lr * c.beta,
            rho * c.beta,
            l0 - c.lstar,
            grad_sq0(&c, &w0),
        ),
    )
}

fn grad_sq0(c: &StochCase, w0: &[f64]) -> f64 {
    let mut g = vec![0.0; w0.len()];
    c.prob.grad(w0, &mut g);
    g.iter().map(|x| x * x).sum()
}

/// The PL part shared by thm12.pl (n-SAM-stoch), thm18.pl and thm2.pl (m-SAM): γ_t =
/// min{(8t+4)/(3µ(t+1)²), 1/(2β)}, ρ_t = √(γ_t/β), E L(w_T) − L* ≤ 3β²(L(w₀) − L*)/(µ²T²) +
/// 22βσ²/(bµ²T), on strongly convex quadratics and the sin family (µ exact).
pub(super) fn pl_eval(inst: &Instance, name: &str) -> Observation {
    let t = &inst.theta;
    let c = stoch_case(&t[2..8], inst.seed, true);
    let big_t = 1 + ((t[0] * (T_MAX - 1) as f64).round() as usize).min(T_MAX - 1);
    let w0 = start_point(&c, t[1], inst.seed);
    let l0 = c.prob.loss(&w0);
    let m = method(name, c.b);
    let sizes = StepSizes::Pl {
        mu: c.mu,
        beta: c.beta,
    };
    let est = gap_estimate(&c, &m, sizes, &w0, big_t, inst.seed);
    let tt = big_t as f64;
    let kappa = c.beta / c.mu;
    let rhs = 3.0 * kappa * kappa * (l0 - c.lstar) / (tt * tt)
        + 22.0 * kappa * c.sigma2 / (c.b as f64 * c.mu * tt);
    let scale = mc_scale(
        &c,
        big_t,
        est.mean.abs() + est.sd + rhs.abs() + l0.abs() + c.lstar.abs(),
    );
    Observation::monte_carlo(
        est,
        Sense::Le,
        rhs,
        scale,
        c.constants(true),
        format!(
            "{}; T = {big_t}, beta/mu = {kappa:.4}, L(w0) - L* = {:.6e}, lhs = L(w_T) - L*",
            c.what,
            l0 - c.lstar,
        ),
    )
}

/// af22.thm12 first part as printed: 4(L(w₀) − L*)/(β√T) + 8σ²/(b√T).
pub struct Thm12;

/// The finding on af22.thm12 (FINDINGS.md).
const THM12_FINDING: &str = "FINDINGS.md#af22thm12";

impl Check for Thm12 {
    fn id(&self) -> &'static str {
        "af22.thm12"
    }
    fn statement(&self) -> &'static str {
        "stoch. n-SAM, g = 1/(sqrt(T) b), r = 1/(T^(1/4) b): (1/T) E sum_{t<T} |grad L(w_t)|^2 <= 4(L(w0) - L*)/(b sqrt(T)) + 8 s^2/(batch sqrt(T))"
    }
    fn dims(&self) -> usize {
        8
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        sqrt_t_eval(inst, "nsam-stoch", |beta| 4.0 / beta)
    }
    fn finding(&self) -> Option<&'static str> {
        Some(THM12_FINDING)
    }
}

/// af22.thm12 first part as the proof (Theorem 15 at the given γ, ρ) supports it:
/// 4β(L(w₀) − L*)/√T + 8σ²/(b√T), the bound Theorem 2 prints for m-SAM.
pub struct Thm12Corrected;

impl Check for Thm12Corrected {
    fn id(&self) -> &'static str {
        "af22.thm12.corrected"
    }
    fn statement(&self) -> &'static str {
        "stoch. n-SAM, g = 1/(sqrt(T) b), r = 1/(T^(1/4) b): (1/T) E sum_{t<T} |grad L(w_t)|^2 <= 4 b (L(w0) - L*)/sqrt(T) + 8 s^2/(batch sqrt(T))"
    }
    fn dims(&self) -> usize {
        8
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        sqrt_t_eval(inst, "nsam-stoch", |beta| 4.0 * beta)
    }
}

/// af22.thm12 PL part as printed.
pub struct Thm12Pl;

impl Check for Thm12Pl {
    fn id(&self) -> &'static str {
        "af22.thm12.pl"
    }
    fn statement(&self) -> &'static str {
        "stoch. n-SAM, PL, g_t = min{(8t+4)/(3m(t+1)^2), 1/(2b)}, r_t = sqrt(g_t/b): E L(wT) - L* <= 3b^2(L(w0) - L*)/(m^2 T^2) + 22 b s^2/(batch m^2 T)"
    }
    fn dims(&self) -> usize {
        8
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        pl_eval(inst, "nsam-stoch")
    }
}
