//! The command line: `samlab run` on the shipped specs, the JSON result format, `samlab data`,
//! and bad input — each malformed or impossible spec or data file gets exit code 2, a one-line
//! error naming the file and the field, and no output file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn samlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samlab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run samlab")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn run_reproduces_the_reference_from_the_shipped_spec() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = samlab(&[
        "run",
        "specs/af22_fig14.toml",
        "--json",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("data/diag_net_seed0_reference.json")).unwrap(),
    )
    .unwrap();
    let r = reference["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["phases"][0]["method"] == "nsam" && r["phases"][0]["rho"] == 0.1)
        .unwrap();
    let rel = |a: &Value, b: &Value| {
        (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() / b.as_f64().unwrap().abs()
    };
    assert!(rel(&v["final"]["train_loss"], &r["train_loss"]) <= 1e-8);
    assert!(rel(&v["final"]["test_mse"], &r["test_mse"]) <= 1e-8);
    assert_eq!(v["final"]["beta"].as_array().unwrap().len(), 30);
    assert_eq!(v["steps"], 10001);
    assert_eq!(v["grad_evals"], 20002);
    assert_eq!(v["trajectory"].as_array().unwrap().len(), 12); // steps 0, 1000, …, 10000, 10001
    assert!(v["diverged_at"].is_null());
}

#[test]
fn every_shipped_spec_runs_and_json_dash_prints_json() {
    for entry in std::fs::read_dir(root().join("specs")).unwrap() {
        let path = entry.unwrap().path();
        let o = samlab(&["run", path.to_str().unwrap(), "--json", "-", "--quiet"]);
        assert!(
            o.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let v: Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
        assert!(
            v["final"]["train_loss"].as_f64().unwrap().is_finite(),
            "{}",
            path.display()
        );
    }
}

#[test]
fn data_generation_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("d.json");
    let args = [
        "data", "diag-net", "--d", "12", "--n", "5", "--kappa", "2", "--n-test", "7", "--seed", "4",
    ];
    let o = samlab(&[&args[..], &["--out", f.to_str().unwrap()]].concat());
    assert!(o.status.success());
    let a = samlab::data::RegressionData::load(&f).unwrap();
    assert_eq!((a.n(), a.d(), a.x_test.nrows()), (5, 12, 7));
    let bs = a.beta_star.clone().unwrap();
    assert_eq!(bs.iter().filter(|b| **b != 0.0).count(), 2);
    assert!((samlab::problem::norm(&bs) - 1.0).abs() < 1e-15);
    // Same seed, same bits.
    let f2 = dir.path().join("d2.json");
    samlab(&[&args[..], &["--out", f2.to_str().unwrap()]].concat());
    assert_eq!(std::fs::read(&f).unwrap(), std::fs::read(&f2).unwrap());
}

const GOOD_PHASE: &str = "[[phase]]\nmethod = \"gd\"\nlr = 0.1\nsteps = 10\n";

fn diag_spec(data: &str, phase: &str) -> String {
    format!("[problem]\nkind = \"diag-net\"\ndata = \"{data}\"\nalpha = 0.1\n\n{phase}")
}

/// Write `spec` (and optionally a data file) in a temp dir, run it with `--json`, and return
/// (exit code, stderr, whether the JSON output exists).
fn bad_run(spec: &str, data: Option<&str>) -> (i32, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let sp = dir.path().join("spec.toml");
    std::fs::write(&sp, spec).unwrap();
    if let Some(d) = data {
        std::fs::write(dir.path().join("data.json"), d).unwrap();
    } else {
        std::fs::copy(
            root().join("data/diag_net_seed0.json"),
            dir.path().join("data.json"),
        )
        .unwrap();
    }
    let out = dir.path().join("out.json");
    let o = samlab(&["run", sp.to_str().unwrap(), "--json", out.to_str().unwrap()]);
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count() > 2;
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        out.exists() || leftovers,
    )
}

fn assert_bad(spec: &str, data: Option<&str>, needles: &[&str]) {
    let (code, err, wrote) = bad_run(spec, data);
    assert_eq!(code, 2, "exit code for {spec}: {err}");
    assert!(!wrote, "an output file was written for {spec}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
}

#[test]
fn bad_specs_get_typed_errors() {
    let data = "data.json";
    // Missing field.
    assert_bad(
        &diag_spec(data, "[[phase]]\nmethod = \"gd\"\nlr = 0.1\n"),
        None,
        &["spec.toml", "steps"],
    );
    // Unknown method, with the valid names.
    assert_bad(
        &diag_spec(data, "[[phase]]\nmethod = \"adam\"\nlr = 0.1\nsteps = 5\n"),
        None,
        &["phase[0].method", "adam", "1sam", "ssam"],
    );
    // NaN and negative step size.
    assert_bad(
        &diag_spec(data, "[[phase]]\nmethod = \"gd\"\nlr = nan\nsteps = 5\n"),
        None,
        &["phase[0].lr", "finite"],
    );
    assert_bad(
        &diag_spec(data, "[[phase]]\nmethod = \"gd\"\nlr = -0.1\nsteps = 5\n"),
        None,
        &["phase[0].lr", "> 0"],
    );
    assert_bad(
        &diag_spec(
            data,
            "[[phase]]\nmethod = \"nsam\"\nlr = 0.1\nrho = -1\nsteps = 5\n",
        ),
        None,
        &["phase[0].rho"],
    );
    // Unknown field (a typo).
    assert_bad(
        &diag_spec(data, "[[phase]]\nmethod = \"gd\"\nlrr = 0.1\nsteps = 5\n"),
        None,
        &["lrr"],
    );
    // Unknown problem kind; missing data file; negative alpha; wrong alpha length.
    assert_bad(
        &format!("[problem]\nkind = \"resnet\"\n\n{GOOD_PHASE}"),
        None,
        &["resnet", "diag-net"],
    );
    assert_bad(
        &diag_spec("nope.json", GOOD_PHASE),
        None,
        &["nope.json", "cannot read"],
    );
    assert_bad(
        &diag_spec(data, GOOD_PHASE).replace("alpha = 0.1", "alpha = -0.1"),
        None,
        &["problem.alpha[0]"],
    );
    assert_bad(
        &diag_spec(data, GOOD_PHASE).replace("alpha = 0.1", "alpha = [0.1, 0.2]"),
        None,
        &["problem.alpha", "d = 30"],
    );
    // Batch larger than n; batch on a full-batch method.
    assert_bad(
        &diag_spec(
            data,
            "[[phase]]\nmethod = \"sgd\"\nlr = 0.1\nbatch = 50\nsteps = 5\n",
        ),
        None,
        &["phase[0].batch", "n = 20"],
    );
    assert_bad(
        &diag_spec(
            data,
            "[[phase]]\nmethod = \"gd\"\nlr = 0.1\nbatch = 5\nsteps = 5\n",
        ),
        None,
        &["phase[0].batch", "sgd"],
    );
    // A schedule that needs constants the problem does not have.
    assert_bad(
        &diag_spec(
            data,
            "[[phase]]\nmethod = \"nsam\"\nschedule = \"thm12\"\nsteps = 5\n",
        ),
        None,
        &["phase[0].beta"],
    );
    // No phase; init of the wrong length; malformed TOML.
    assert_bad("[problem]\nkind = \"quartic-saddle\"\n", None, &["phase"]);
    assert_bad(
        &format!("[problem]\nkind = \"quartic-saddle\"\n\n{GOOD_PHASE}\n[run]\ninit = [1.0]\n"),
        None,
        &["run.init", "2 parameters"],
    );
    assert_bad("[problem\nkind = 3", None, &["spec.toml", "TOML"]);
}

#[test]
fn bad_data_files_get_typed_errors() {
    let good: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("data/diag_net_seed0.json")).unwrap(),
    )
    .unwrap();
    let spec = diag_spec("data.json", GOOD_PHASE);
    // A row of the wrong length.
    let mut v = good.clone();
    v["x"][3].as_array_mut().unwrap().pop();
    assert_bad(
        &spec,
        Some(&v.to_string()),
        &["data.json", "x[3]", "d = 30"],
    );
    // y of the wrong length.
    let mut v = good.clone();
    v["y"].as_array_mut().unwrap().pop();
    assert_bad(&spec, Some(&v.to_string()), &["data.json", "`y`", "n"]);
    // A missing field, a wrong format tag, not JSON at all.
    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("y");
    assert_bad(&spec, Some(&v.to_string()), &["data.json", "y"]);
    let mut v = good.clone();
    v["format"] = "csv".into();
    assert_bad(&spec, Some(&v.to_string()), &["data.json", "format"]);
    assert_bad(&spec, Some("{not json"), &["data.json", "JSON"]);
    // A non-finite value: JSON has no NaN, and a literal that overflows is rejected where it stands.
    let text = good.to_string().replacen("1.764052345967664", "1e999", 1);
    assert_bad(&spec, Some(&text), &["data.json", "out of range", "column"]);
    assert_bad(
        &spec,
        Some(&good.to_string().replacen("1.764052345967664", "NaN", 1)),
        &["data.json", "column"],
    );
}

#[test]
fn unwritable_output_is_an_error_and_leaves_nothing() {
    let o = samlab(&[
        "run",
        "specs/af22_fig14.toml",
        "--json",
        "/nonexistent-dir/out.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent-dir/out.json"));
    assert!(!Path::new("/nonexistent-dir").exists());
}

#[test]
fn divergence_is_reported_not_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let sp = dir.path().join("s.toml");
    std::fs::write(&sp, "[problem]\nkind = \"quartic-saddle\"\n\n[[phase]]\nmethod = \"gd\"\nlr = 1.5\nsteps = 1000\n\n[run]\ninit = [3.0, 0.0]\n").unwrap();
    let o = samlab(&["run", sp.to_str().unwrap(), "--json", "-", "--quiet"]);
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = v["diverged_at"].as_u64().expect("diverged");
    assert!((1..1000).contains(&t));
    assert_eq!(v["steps"].as_u64().unwrap(), t - 1);
    assert!(
        v["final"]["params"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x.as_f64().unwrap().is_finite())
    );
}

#[test]
fn verify_reports_json_and_rejects_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.json");
    let o = samlab(&[
        "verify",
        "af22.lem7",
        "--json",
        out.to_str().unwrap(),
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("af22.lem7") && text.contains("Holds"),
        "{text}"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let c = &v["checks"][0];
    assert_eq!(c["id"], "af22.lem7");
    assert_eq!(c["verdict"], "holds");
    for key in [
        "lhs",
        "rhs",
        "ratio",
        "instances",
        "constants",
        "worst",
        "details",
        "seconds",
    ] {
        assert!(!c[key].is_null(), "missing {key}");
    }
    // `--json -` prints the report alone on stdout and writes no file named `-`.
    let o = Command::new(env!("CARGO_BIN_EXE_samlab"))
        .args(["verify", "af22.lem7", "--json", "-", "--threads", "1"])
        .current_dir(dir.path())
        .output()
        .expect("run samlab");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("stdout is the JSON report");
    assert_eq!(v["checks"][0]["id"], "af22.lem7");
    assert!(!dir.path().join("-").exists());
    let o = samlab(&["verify", "af22.nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("af22.lem7"));
}

#[test]
fn replay_of_a_tampered_counter_example_fails() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cx.json");
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("findings/af22.thm9.json")).unwrap(),
    )
    .unwrap();
    let o = samlab(&["verify", "--replay", "findings/af22.thm9.json"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("Violated"));
    v["observation"]["lhs"] = Value::from(0.0);
    std::fs::write(&f, v.to_string()).unwrap();
    let o = samlab(&["verify", "--replay", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    v["id"] = "af22.nope".into();
    std::fs::write(&f, v.to_string()).unwrap();
    let o = samlab(&["verify", "--replay", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown check"));
}
