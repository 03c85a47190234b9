//! Coupled runs for algorithmic stability (ssam24 Section 4, after Hardt et al.): two runs of one
//! update rule on neighbouring data sets S and S′ (the same n, differing in one example), from the
//! same start, with the SAME index sequence — one example zₜ per step, drawn uniformly from one
//! random stream and used by both runs, for the ascent and the descent alike. Per step the runs
//! report ‖wₜ − vₜ‖ and, for each run, ‖∇f(w, z)‖, ‖∇f(w_asc, z)‖ and SSAM's ratio
//! γₜ = ‖∇f(w, z)‖/‖∇f(w_asc, z)‖. The rules are the ssam24 ones: SGD, SAM with the unnormalized
//! ascent w + ρ∇f(w, z), SAM* (ascent w + ρ∇f/‖∇f‖), and SSAM over either (descent scaled by γₜ).
//! [`example_step`] is the one-example step they share (also used by single runs); no step
//! allocates.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result, finite, non_negative};
use crate::problem::{Problem, Quadratic, norm};

/// An update rule on one example z (the same example for ascent and descent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// w ← w − η∇f(w, z).
    Sgd,
    /// w ← w − η∇f(w + ρ∇f(w, z), z) (unnormalized ascent, as ssam24 analyses SAM).
    Sam,
    /// w ← w − η∇f(w + ρ∇f(w, z)/‖∇f(w, z)‖, z) (Foret et al.).
    SamStar,
    /// SAM's descent scaled by γ = ‖∇f(w, z)‖/‖∇f(w_asc, z)‖ (ssam24 Alg. 1).
    Ssam,
    /// SAM*'s descent scaled by γ.
    SsamStar,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 5] = [
        Rule::Sgd,
        Rule::Sam,
        Rule::SamStar,
        Rule::Ssam,
        Rule::SsamStar,
    ];

    /// The rule's name (the method names of `samlab run`: `sgd`, `sam`, `sam-star`, `ssam`,
    /// `ssam-star`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::Sgd => "sgd",
            Rule::Sam => "sam",
            Rule::SamStar => "sam-star",
            Rule::Ssam => "ssam",
            Rule::SsamStar => "ssam-star",
        }
    }

    /// The rule called `name`.
    pub fn from_name(name: &str) -> Result<Rule> {
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| {
                let valid: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
                Error::invalid(
                    "rule",
                    format!("unknown rule `{name}`; valid: {}", valid.join(", ")),
                )
            })
    }

    fn normalized(self) -> bool {
        matches!(self, Rule::SamStar | Rule::SsamStar)
    }

    fn renormalized(self) -> bool {
        matches!(self, Rule::Ssam | Rule::SsamStar)
    }
}

/// Buffers of one run (allocated once).
#[derive(Clone, Debug)]
pub struct ExampleBuffers {
    g: Vec<f64>,
    asc: Vec<f64>,
    g_asc: Vec<f64>,
}

impl ExampleBuffers {
    /// Buffers for dimension `dim`.
    pub fn new(dim: usize) -> Self {
        ExampleBuffers {
            g: vec![0.0; dim],
            asc: vec![0.0; dim],
            g_asc: vec![0.0; dim],
        }
    }

    /// The ascent point of the last step (w itself for SGD).
    pub fn ascent_point(&self) -> &[f64] {
        &self.asc
    }

    /// ∇f(w, z) of the last step.
    pub fn grad(&self) -> &[f64] {
        &self.g
    }

    /// ∇f(w_asc, z) of the last step (not computed by SGD).
    pub fn ascent_grad(&self) -> &[f64] {
        &self.g_asc
    }
}

/// What one step on one example saw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExampleStep {
    /// ‖∇f(w, z)‖.
    pub grad_norm: f64,
    /// ‖∇f(w_asc, z)‖ (= `grad_norm` for SGD).
    pub asc_grad_norm: f64,
    /// γ = ‖∇f(w, z)‖/‖∇f(w_asc, z)‖, computed for every rule (1 where ‖∇f(w_asc, z)‖ = 0, and
    /// for SGD).
    pub gamma: f64,
}

/// One step of `rule` on example `z` with step size `lr` and radius `rho`, in place on `w`:
/// g = ∇f(w, z), w_asc = w + ρg (SAM*: w + (ρ/‖g‖)g; w when g = 0), w ← w − lr·∇f(w_asc, z)
/// (SSAM: lr·γ). ρ = 0 gives exactly SGD's step for every rule.
pub fn example_step<P: Problem + ?Sized>(
    p: &P,
    rule: Rule,
    z: usize,
    w: &mut [f64],
    lr: f64,
    rho: f64,
    buf: &mut ExampleBuffers,
) -> ExampleStep {
    p.example_grad(z, w, &mut buf.g);
    let ng = norm(&buf.g);
    if rule == Rule::Sgd {
        buf.asc.copy_from_slice(w);
        for (x, d) in w.iter_mut().zip(&buf.g) {
            *x -= lr * d;
        }
        return ExampleStep {
            grad_norm: ng,
            asc_grad_norm: ng,
            gamma: 1.0,
        };
    }
    let s = if rule.normalized() {
        if ng > 0.0 { rho / ng } else { 0.0 }
    } else {
        rho
    };
    for ((a, x), d) in buf.asc.iter_mut().zip(w.iter()).zip(&buf.g) {
        *a = x + s * d;
    }
    p.example_grad(z, &buf.asc, &mut buf.g_asc);
    let na = norm(&buf.g_asc);
    let gamma = if na > 0.0 { ng / na } else { 1.0 };
    let lr = if rule.renormalized() { lr * gamma } else { lr };
    for (x, d) in w.iter_mut().zip(&buf.g_asc) {
        *x -= lr * d;
    }
    ExampleStep {
        grad_norm: ng,
        asc_grad_norm: na,
        gamma,
    }
}

/// The index of the next step: uniform on 0..n from `rng` (the draw every one-example run uses).
pub fn draw_index(rng: &mut ChaCha8Rng, n: usize) -> usize {
    rng.random_range(0..n)
}

/// ‖a − b‖.
pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// What one coupled step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CoupledStep {
    /// The example index zₜ both runs used.
    pub index: usize,
    /// The run on S.
    pub w: ExampleStep,
    /// The run on S′.
    pub v: ExampleStep,
}

/// Two runs of one rule on neighbouring data sets with a shared index sequence.
#[derive(Clone, Debug)]
pub struct Coupled<'a, P: Problem + ?Sized> {
    s: &'a P,
    s2: &'a P,
    rule: Rule,
    lr: f64,
    rho: f64,
    w: Vec<f64>,
    v: Vec<f64>,
    bw: ExampleBuffers,
    bv: ExampleBuffers,
    rng: ChaCha8Rng,
    steps: usize,
}

impl<'a, P: Problem + ?Sized> Coupled<'a, P> {
    /// Runs of `rule` on `s` (S) and `s2` (S′) from `w0`, the indices drawn from `rng`. S and S′
    /// must have the same dimension and number of examples (`neighbour`), `w0` that dimension;
    /// `lr` and `rho` finite and ≥ 0.
    pub fn new(
        s: &'a P,
        s2: &'a P,
        w0: &[f64],
        rule: Rule,
        lr: f64,
        rho: f64,
        rng: ChaCha8Rng,
    ) -> Result<Self> {
        if s.dim() != s2.dim() || s.n_examples() != s2.n_examples() {
            return Err(Error::invalid(
                "neighbour",
                format!(
                    "S has p = {}, n = {} but S' has p = {}, n = {}",
                    s.dim(),
                    s.n_examples(),
                    s2.dim(),
                    s2.n_examples()
                ),
            ));
        }
        if w0.len() != s.dim() {
            return Err(Error::invalid(
                "init",
                format!("has {} entries, expected p = {}", w0.len(), s.dim()),
            ));
        }
        for (j, x) in w0.iter().enumerate() {
            finite(&format!("init[{j}]"), *x)?;
        }
        non_negative("lr", lr)?;
        non_negative("rho", rho)?;
        let p = s.dim();
        Ok(Coupled {
            s,
            s2,
            rule,
            lr,
            rho,
            w: w0.to_vec(),
            v: w0.to_vec(),
            bw: ExampleBuffers::new(p),
            bv: ExampleBuffers::new(p),
            rng,
            steps: 0,
        })
    }

    /// One step of both runs on the same freshly drawn index.
    pub fn step(&mut self) -> CoupledStep {
        let z = draw_index(&mut self.rng, self.s.n_examples());
        let (rule, lr, rho) = (self.rule, self.lr, self.rho);
        let w = example_step(self.s, rule, z, &mut self.w, lr, rho, &mut self.bw);
        let v = example_step(self.s2, rule, z, &mut self.v, lr, rho, &mut self.bv);
        self.steps += 1;
        CoupledStep { index: z, w, v }
    }

    /// The iterate on S.
    pub fn w(&self) -> &[f64] {
        &self.w
    }

    /// The iterate on S′.
    pub fn v(&self) -> &[f64] {
        &self.v
    }

    /// ‖wₜ − vₜ‖.
    pub fn distance(&self) -> f64 {
        distance(&self.w, &self.v)
    }

    /// Steps taken.
    pub fn steps(&self) -> usize {
        self.steps
    }
}

/// Settings of [`run_coupled`].
#[derive(Clone, Debug)]
pub struct CoupledConfig {
    /// The update rule.
    pub rule: Rule,
    /// Step size η.
    pub lr: f64,
    /// Radius ρ.
    pub rho: f64,
    /// Steps T.
    pub steps: usize,
    /// The index sequence is stream `stream` of `seed` ([`crate::rng::stream`]).
    pub seed: u64,
    /// See `seed`.
    pub stream: u64,
    /// Record every k ≥ 1 steps (and always steps 0 and T).
    pub record_every: usize,
    /// Also record F_S(wₜ) and F_S′(vₜ) (each costs a pass over the data).
    pub losses: bool,
}

/// One recorded step of a coupled run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CoupledRecord {
    /// t (the record after t steps).
    pub step: usize,
    /// ‖wₜ − vₜ‖.
    pub distance: f64,
    /// F_S(wₜ), when asked for.
    pub loss_s: Option<f64>,
    /// F_S′(vₜ), when asked for.
    pub loss_s2: Option<f64>,
    /// γ of step t on S (None at t = 0).
    pub gamma_w: Option<f64>,
    /// γ of step t on S′ (None at t = 0).
    pub gamma_v: Option<f64>,
}

/// The result of [`run_coupled`].
#[derive(Clone, Debug)]
pub struct CoupledRun {
    /// The records, step 0 first.
    pub records: Vec<CoupledRecord>,
    /// w_T (on S).
    pub w: Vec<f64>,
    /// v_T (on S′).
    pub v: Vec<f64>,
    /// max over steps and both runs of γₜ.
    pub gamma_max: f64,
}

/// Run `cfg.rule` on S = `s` and S′ = `s2` from `w0` with one shared index sequence and record
/// the distance trajectory (see [`Coupled`]).
pub fn run_coupled<P: Problem + ?Sized>(
    s: &P,
    s2: &P,
    w0: &[f64],
    cfg: &CoupledConfig,
) -> Result<CoupledRun> {
    if cfg.record_every == 0 {
        return Err(Error::invalid("record_every", "must be >= 1"));
    }
    let rng = crate::rng::stream(cfg.seed, cfg.stream);
    let mut c = Coupled::new(s, s2, w0, cfg.rule, cfg.lr, cfg.rho, rng)?;
    let record = |c: &Coupled<P>, st: Option<CoupledStep>| CoupledRecord {
        step: c.steps(),
        distance: c.distance(),
        loss_s: cfg.losses.then(|| s.loss(c.w())),
        loss_s2: cfg.losses.then(|| s2.loss(c.v())),
        gamma_w: st.map(|x| x.w.gamma),
        gamma_v: st.map(|x| x.v.gamma),
    };
    let mut records = Vec::with_capacity(cfg.steps / cfg.record_every + 2);
    records.push(record(&c, None));
    let mut gamma_max = 0.0f64;
    for t in 1..=cfg.steps {
        let st = c.step();
        gamma_max = gamma_max.max(st.w.gamma).max(st.v.gamma);
        if t % cfg.record_every == 0 || t == cfg.steps {
            records.push(record(&c, Some(st)));
        }
    }
    Ok(CoupledRun {
        records,
        w: c.w().to_vec(),
        v: c.v().to_vec(),
        gamma_max,
    })
}

/// S′ for a per-example quadratic: `q` with the centre of example `index` replaced by `center`.
pub fn neighbour_quadratic(q: &Quadratic, index: usize, center: &[f64]) -> Result<Quadratic> {
    let n = q.n_examples();
    if index >= n {
        return Err(Error::invalid(
            "neighbour",
            format!("index {index} is out of range (n = {n})"),
        ));
    }
    let centers = (0..n)
        .map(|i| {
            if i == index {
                center.to_vec()
            } else {
                q.center(i).to_vec()
            }
        })
        .collect();
    Quadratic::new(q.a().to_vec(), q.dim(), centers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quad() -> Quadratic {
        Quadratic::new(
            vec![2.0, 0.5, 0.5, 1.0],
            2,
            vec![vec![1.0, 0.0], vec![-1.0, 2.0], vec![0.5, 0.5]],
        )
        .unwrap()
    }

    #[test]
    fn identical_data_sets_stay_together_and_a_neighbour_separates() {
        let q = quad();
        let cfg = CoupledConfig {
            rule: Rule::Ssam,
            lr: 0.1,
            rho: 0.2,
            steps: 50,
            seed: 3,
            stream: 0,
            record_every: 10,
            losses: true,
        };
        let same = run_coupled(&q, &q, &[0.0, 0.0], &cfg).unwrap();
        assert_eq!(same.records.len(), 6);
        assert!(same.records.iter().all(|r| r.distance == 0.0));
        let q2 = neighbour_quadratic(&q, 1, &[3.0, -1.0]).unwrap();
        let r = run_coupled(&q, &q2, &[0.0, 0.0], &cfg).unwrap();
        assert!(r.records.last().unwrap().distance > 0.0);
        // The run on S is the same run whatever S′ is (the index sequence is shared).
        assert_eq!(r.w, same.w);
        assert!(r.gamma_max > 0.0 && r.gamma_max < 1.0);
        let rec = r.records[1];
        assert!(rec.loss_s.is_some() && rec.gamma_v.is_some());
    }

    #[test]
    fn rho_zero_is_sgd_and_rules_parse() {
        let q = quad();
        for rule in Rule::ALL {
            assert_eq!(Rule::from_name(rule.name()).unwrap(), rule);
            let (mut w, mut v) = (vec![0.3, -0.2], vec![0.3, -0.2]);
            let mut b = ExampleBuffers::new(2);
            example_step(&q, rule, 1, &mut w, 0.1, 0.0, &mut b);
            example_step(&q, Rule::Sgd, 1, &mut v, 0.1, 0.0, &mut b);
            assert_eq!(w, v, "{}", rule.name());
        }
        assert!(Rule::from_name("adam").is_err());
    }

    #[test]
    fn rejects_bad_input() {
        let q = quad();
        let one = Quadratic::new(vec![1.0], 1, vec![vec![0.0]]).unwrap();
        let field = |e: Error| match e {
            Error::Invalid { field, .. } => field,
            other => panic!("{other}"),
        };
        let rng = || crate::rng::stream(0, 0);
        let p: &dyn Problem = &q;
        let o: &dyn Problem = &one;
        assert_eq!(
            field(
                Coupled::new(p, o, &[0.0, 0.0], Rule::Sam, 0.1, 0.1, rng())
                    .err()
                    .unwrap()
            ),
            "neighbour"
        );
        assert_eq!(
            field(
                Coupled::new(p, p, &[0.0], Rule::Sam, 0.1, 0.1, rng())
                    .err()
                    .unwrap()
            ),
            "init"
        );
        assert_eq!(
            field(
                Coupled::new(p, p, &[0.0, 0.0], Rule::Sam, -0.1, 0.1, rng())
                    .err()
                    .unwrap()
            ),
            "lr"
        );
        assert_eq!(
            field(
                Coupled::new(p, p, &[0.0, 0.0], Rule::Sam, 0.1, f64::NAN, rng())
                    .err()
                    .unwrap()
            ),
            "rho"
        );
        assert_eq!(
            field(neighbour_quadratic(&q, 3, &[0.0, 0.0]).err().unwrap()),
            "neighbour"
        );
    }
}
