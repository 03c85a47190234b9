//! The experiment spec (TOML) of `samlab run`: parsed with serde (unknown fields are errors), then
//! validated once, at the edge, into an [`Experiment`] — a built problem, its initial point and a
//! [`RunConfig`]. Every error names the spec file and the field. Paths inside a spec are relative
//! to the spec file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::data::RegressionData;
use crate::error::{Error, Result, finite, positive};
use crate::optim::{Method, Phase, RunConfig, Schedule, StepSizes};
use crate::problem::{
    DiagNet, LinearAutoencoder, Logistic, Problem, Quadratic, QuarticSaddle, Relu1d, SharedLinear,
    SharedPart,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    problem: ProblemSpec,
    #[serde(rename = "phase")]
    phases: Vec<PhaseSpec>,
    #[serde(default)]
    run: RunSpec,
    /// The grid of `samlab sweep` (read by [`crate::sweep`]); a plain run runs the base spec.
    #[serde(default, rename = "sweep")]
    _sweep: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalars {
    One(f64),
    Many(Vec<f64>),
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum ProblemSpec {
    DiagNet {
        data: PathBuf,
        alpha: Scalars,
    },
    Quadratic {
        a: Vec<Vec<f64>>,
        centers: Vec<Vec<f64>>,
    },
    Ssam24Quadratic {
        d: usize,
        #[serde(default = "default_delta")]
        delta: f64,
        #[serde(default)]
        seed: u64,
    },
    QuarticSaddle {},
    Autoencoder {
        d: usize,
        #[serde(default = "default_ae_std")]
        init_std: f64,
        #[serde(default)]
        init_seed: u64,
    },
    Relu1d {
        #[serde(default = "default_hidden")]
        hidden: usize,
        #[serde(default)]
        init_seed: u64,
    },
    Logistic {
        data: PathBuf,
        lambda: f64,
    },
    SharedLinear {
        h: String,
        p: usize,
        n: usize,
        #[serde(default = "one")]
        scale: f64,
        #[serde(default)]
        seed: u64,
    },
}

fn default_delta() -> f64 {
    0.01
}
fn default_ae_std() -> f64 {
    0.01
}
fn default_hidden() -> usize {
    100
}
fn one() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScheduleSpec {
    Value(f64),
    Table(ScheduleTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleTable {
    schedule: String,
    start: f64,
    #[serde(default)]
    end: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseSpec {
    method: String,
    lr: Option<ScheduleSpec>,
    rho: Option<ScheduleSpec>,
    schedule: Option<String>,
    beta: Option<f64>,
    mu: Option<f64>,
    steps: usize,
    batch: Option<usize>,
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    noise: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunSpec {
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    stream: u64,
    #[serde(default = "default_record")]
    record_every: usize,
    #[serde(default)]
    record_params: bool,
    #[serde(default = "default_bound")]
    diverge_above: f64,
    init: Option<Vec<f64>>,
}

fn default_record() -> usize {
    100
}
fn default_bound() -> f64 {
    1e100
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            seed: 0,
            stream: 0,
            record_every: default_record(),
            record_params: false,
            diverge_above: default_bound(),
            init: None,
        }
    }
}

/// A validated experiment: the problem, its initial point and the run settings.
pub struct Experiment {
    /// The built problem.
    pub problem: Box<dyn Problem>,
    /// The initial point.
    pub init: Vec<f64>,
    /// Phases, seed, recording.
    pub config: RunConfig,
}

impl Experiment {
    /// Read, parse and validate a spec file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            file: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|e| in_spec_file(e, path))
    }

    /// Parse and validate spec text; relative data paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self> {
        let spec: SpecFile = toml::from_str(text).map_err(spec_error)?;
        Self::build(spec, base)
    }

    /// Validate a spec given as a TOML table (e.g. one cell of a sweep: the base spec with some
    /// values replaced); relative data paths are resolved against `base`.
    pub fn from_table(table: toml::Table, base: &Path) -> Result<Self> {
        let spec: SpecFile = toml::Value::Table(table).try_into().map_err(spec_error)?;
        Self::build(spec, base)
    }

    fn build(spec: SpecFile, base: &Path) -> Result<Self> {
        let (problem, default_init) =
            build_problem(spec.problem, base).map_err(|e| e.under("problem"))?;
        let exact = problem.constants();
        let mut phases = Vec::with_capacity(spec.phases.len());
        for (k, ph) in spec.phases.into_iter().enumerate() {
            let at = format!("phase[{k}]");
            phases.push(build_phase(ph, &exact).map_err(|e| e.under(&at))?);
        }
        let r = spec.run;
        let init = match r.init {
            Some(v) => {
                if v.len() != problem.dim() {
                    return Err(Error::invalid(
                        "run.init",
                        format!(
                            "has {} entries, the problem has {} parameters",
                            v.len(),
                            problem.dim()
                        ),
                    ));
                }
                for (j, x) in v.iter().enumerate() {
                    finite(&format!("run.init[{j}]"), *x)?;
                }
                v
            }
            None => default_init,
        };
        let config = RunConfig {
            phases,
            seed: r.seed,
            stream: r.stream,
            record_every: r.record_every,
            record_params: r.record_params,
            diverge_above: positive("run.diverge_above", r.diverge_above)?,
        };
        config.check(problem.as_ref())?;
        Ok(Experiment {
            problem,
            init,
            config,
        })
    }
}

/// Name the spec file in an error about spec text (parsed with the `<spec>` placeholder).
pub(crate) fn in_spec_file(e: Error, path: &Path) -> Error {
    match e {
        Error::Parse {
            file,
            format,
            message,
        } if file.as_os_str() == "<spec>" => Error::Parse {
            file: path.to_path_buf(),
            format,
            message,
        },
        other => other.in_file(path),
    }
}

/// A TOML error in spec text, with the `<spec>` placeholder for the file.
pub(crate) fn spec_error(e: toml::de::Error) -> Error {
    Error::Parse {
        file: "<spec>".into(),
        format: "experiment spec (TOML)",
        message: e.to_string(),
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// The built problem and its initial point (the problem's default unless the spec seeds one).
fn build_problem(spec: ProblemSpec, base: &Path) -> Result<(Box<dyn Problem>, Vec<f64>)> {
    let boxed = |p: Box<dyn Problem>| {
        let init = p.init();
        (p, init)
    };
    Ok(match spec {
        ProblemSpec::DiagNet { data, alpha } => {
            let data = RegressionData::load(&resolve(base, &data))?;
            let alpha = match alpha {
                Scalars::One(a) => vec![a],
                Scalars::Many(v) => v,
            };
            boxed(Box::new(DiagNet::new(&data, &alpha)?))
        }
        ProblemSpec::Quadratic { a, centers } => {
            let p = a.len();
            let flat = crate::data::matrix("a", &a, p)?.into_raw_vec_and_offset().0;
            boxed(Box::new(Quadratic::new(flat, p, centers)?))
        }
        ProblemSpec::Ssam24Quadratic { d, delta, seed } => {
            boxed(Box::new(Quadratic::ssam24(d, delta, seed)?))
        }
        ProblemSpec::QuarticSaddle {} => boxed(Box::new(QuarticSaddle)),
        ProblemSpec::Autoencoder {
            d,
            init_std,
            init_seed,
        } => {
            if d == 0 {
                return Err(Error::invalid("d", "must be >= 1"));
            }
            positive("init_std", init_std)?;
            let ae = LinearAutoencoder::new(d);
            let init = ae.init_random(init_std, init_seed);
            (Box::new(ae), init)
        }
        ProblemSpec::Relu1d { hidden, init_seed } => {
            if hidden == 0 {
                return Err(Error::invalid("hidden", "must be >= 1"));
            }
            let net = Relu1d::af22_fig7(hidden);
            let init = net.init_random(init_seed);
            (Box::new(net), init)
        }
        ProblemSpec::Logistic { data, lambda } => {
            let data = RegressionData::load(&resolve(base, &data))?;
            let l = Logistic::new(data.x.clone(), data.y.clone(), lambda)?;
            boxed(Box::new(if data.x_test.nrows() > 0 {
                l.with_test(data.x_test.clone(), data.y_test.clone())?
            } else {
                l
            }))
        }
        ProblemSpec::SharedLinear {
            h,
            p,
            n,
            scale,
            seed,
        } => {
            let part = match h.as_str() {
                "log" => SharedPart::LogOnePlusSq,
                "sin" => SharedPart::SqPlusSin,
                other => {
                    return Err(Error::invalid(
                        "h",
                        format!(
                            "unknown shared part `{other}`; valid: log (Σ log(1+w²)), sin (Σ w² + 3 sin² w)"
                        ),
                    ));
                }
            };
            boxed(Box::new(SharedLinear::random(part, p, n, scale, seed)?))
        }
    })
}

fn schedule(field: &str, s: ScheduleSpec) -> Result<Schedule> {
    match s {
        ScheduleSpec::Value(v) => Ok(Schedule::Constant(v)),
        ScheduleSpec::Table(t) => match t.schedule.as_str() {
            "constant" => Ok(Schedule::Constant(t.start)),
            "linear" => Ok(Schedule::Linear {
                start: t.start,
                end: t.end,
            }),
            other => Err(Error::invalid(
                format!("{field}.schedule"),
                format!("unknown schedule `{other}`; valid: constant, linear"),
            )),
        },
    }
}

fn exact_or(given: Option<f64>, exact: Option<f64>, field: &str, what: &str) -> Result<f64> {
    match given.or(exact) {
        Some(v) => positive(field, v),
        None => Err(Error::invalid(
            field,
            format!("the problem has no exact {what}: give `{field}` in the phase"),
        )),
    }
}

fn build_phase(ph: PhaseSpec, exact: &crate::problem::Constants) -> Result<Phase> {
    let method = Method::from_name(&ph.method, ph.batch, ph.replace)?.with_noise(ph.noise)?;
    let sizes = match ph.schedule.as_deref() {
        None => StepSizes::Separate {
            lr: schedule(
                "lr",
                ph.lr.ok_or_else(|| {
                    Error::invalid("lr", "missing (or give `schedule = \"thm12\"|\"pl\"`)")
                })?,
            )?,
            rho: match ph.rho {
                Some(r) => schedule("rho", r)?,
                None => Schedule::Constant(0.0),
            },
        },
        Some(name @ ("thm12" | "pl")) => {
            if ph.lr.is_some() || ph.rho.is_some() {
                return Err(Error::invalid(
                    "schedule",
                    format!("`{name}` sets lr and rho itself; remove `lr` and `rho`"),
                ));
            }
            let beta = exact_or(ph.beta, exact.smoothness.exact(), "beta", "smoothness β")?;
            if name == "thm12" {
                StepSizes::Thm12 { beta }
            } else {
                let mu = exact_or(ph.mu, exact.mu.exact(), "mu", "PL constant µ")?;
                StepSizes::Pl { mu, beta }
            }
        }
        Some(other) => {
            return Err(Error::invalid(
                "schedule",
                format!("unknown schedule `{other}`; valid: thm12, pl (or give lr/rho)"),
            ));
        }
    };
    sizes.check()?;
    Ok(Phase {
        method,
        sizes,
        steps: ph.steps,
    })
}
