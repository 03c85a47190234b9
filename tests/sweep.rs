//! `samlab sweep`: grid expansion and override errors; the merged `cells.csv` is the same bytes for
//! 1 or 4 threads, for 3 shard processes plus a merge, and for a run killed mid-way (SIGKILL, a
//! torn last line) and resumed; a resumed sweep whose spec changed, a fresh run into a used folder
//! and a merge of incomplete shards are errors; a row equals `samlab run` of its cell's spec.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use samlab::Error;
use samlab::sweep::{SweepSpec, grid::spaced};
use serde_json::Value;

/// A stochastic sweep (m-SAM with gradient noise, 2 replicates a cell): 8 cells of ~0.2 s.
const SPEC: &str = r#"
[problem]
kind = "shared-linear"
h = "sin"
p = 20
n = 50
seed = 1

[[phase]]
method = "msam"
lr = 0.05
rho = 0.05
steps = STEPS
batch = 5
noise = 0.001

[run]
seed = 3

[sweep]
replicates = 2
"phase.0.rho" = { linspace = [0.0, 0.1, 4] }
"phase[0].lr" = [0.02, 0.05]
"#;

fn spec_text(steps: usize) -> String {
    SPEC.replace("STEPS", &steps.to_string())
}

fn write_spec(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("spec.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn samlab(args: &[&str], threads: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_samlab"));
    c.args(args)
        .env("RAYON_NUM_THREADS", threads)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "samlab failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn fails(o: Output) -> String {
    assert_eq!(o.status.code(), Some(2), "expected exit code 2");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sweep(spec: &Path, out: &Path, extra: &[&str], threads: &str) -> Output {
    let mut args = vec![
        "sweep",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    samlab(&args, threads).output().unwrap()
}

fn merged(out: &Path) -> Vec<u8> {
    std::fs::read(out.join("cells.csv")).unwrap()
}

/// The merged CSV of one uninterrupted single-thread run, made once for all tests.
fn reference() -> &'static [u8] {
    static REF: OnceLock<Vec<u8>> = OnceLock::new();
    REF.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let spec = write_spec(dir.path(), &spec_text(60_000));
        let out = dir.path().join("out");
        ok(sweep(&spec, &out, &[], "1"));
        let bytes = merged(&out);
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 9);
        bytes
    })
}

#[test]
fn grid_is_the_product_in_path_order_last_axis_fastest() {
    let text = spec_text(10).replace(
        "replicates = 2",
        "\"run.seed\" = [7, 8, 9]\n\"problem.scale\" = [1.0, 2.0]",
    );
    let s = SweepSpec::parse(&text, Path::new(".")).unwrap();
    let paths: Vec<&str> = s.axes().iter().map(|a| a.path.as_str()).collect();
    assert_eq!(
        paths,
        ["phase.0.lr", "phase.0.rho", "problem.scale", "run.seed"]
    );
    assert_eq!((s.len(), s.replicates()), (2 * 4 * 2 * 3, 1));
    let show = |k| {
        s.cell(k)
            .iter()
            .map(|v| samlab::sweep::grid::show(v))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(show(0), "0.02 0.0 1.0 7");
    assert_eq!(show(1), "0.02 0.0 1.0 8");
    assert_eq!(show(3), "0.02 0.0 2.0 7");
    assert_eq!(show(6), "0.02 0.03333333333333333 1.0 7");
    assert_eq!(show(47), "0.05 0.1 2.0 9");
    let e = s.experiment(47).unwrap();
    assert_eq!((e.config.seed, e.config.stream), (9, 0));
    // The same spec written differently (comments, key order, `phase[0]` or `phase.0`) hashes
    // the same; a changed value does not.
    let again = format!("# a comment\n{}", text.replace("phase[0].lr", "phase.0.lr"));
    let t = SweepSpec::parse(&again, Path::new(".")).unwrap();
    assert_ne!(s.canonical(), t.canonical());
    let u = SweepSpec::parse(&text.replace("seed = 3", "seed = 4"), Path::new(".")).unwrap();
    assert_ne!(s.hash(), u.hash());
    let v = SweepSpec::parse(&format!("# x\n{text}"), Path::new(".")).unwrap();
    assert_eq!(s.hash(), v.hash());

    let lin = spaced(0.0, 0.1, 4, false);
    assert_eq!(lin, [0.0, 0.1 / 3.0, 0.2 / 3.0, 0.1]);
    let log = spaced(1e-3, 0.3, 100, true);
    assert_eq!((log[0], log[99], log.len()), (1e-3, 0.3, 100));
    assert!(log.windows(2).all(|w| w[0] < w[1]));
    assert!((log[50] / log[49] - (300f64).powf(1.0 / 99.0)).abs() < 1e-12);
}

#[test]
fn bad_axes_are_errors_naming_the_path() {
    let cases = [
        (
            "\"phase.3.lr\" = [0.1]",
            "sweep.phase.3.lr",
            "index 3 is out of range",
        ),
        (
            "\"phase.0.lr\" = [\"fast\"]",
            "sweep.phase.0.lr",
            "value 0 (fast)",
        ),
        (
            "\"phase.0.lr\" = [0.1, -1.0]",
            "sweep.phase.0.lr",
            "must be > 0",
        ),
        (
            "\"phase.0.lrr\" = [0.1]",
            "sweep.phase.0.lrr",
            "unknown field `lrr`",
        ),
        (
            "\"phase.x.lr\" = [0.1]",
            "sweep.phase.x.lr",
            "expected an index",
        ),
        ("\"run.seed.x\" = [1]", "sweep.run.seed.x", "is a integer"),
        ("\"phase.0.lr\" = []", "sweep.phase.0.lr", "empty"),
        ("\"phase.0.lr\" = 0.1", "sweep.phase.0.lr", "must be a list"),
        ("\"phase..lr\" = [1]", "sweep.phase..lr", "dotted path"),
        (
            "\"phase.0.lr\" = { logspace = [0, 1, 3] }",
            "sweep.phase.0.lr.logspace",
            "a, b > 0",
        ),
        (
            "\"phase.0.lr\" = { linspace = [0.1, 1, 0] }",
            "sweep.phase.0.lr.linspace",
            "k >= 1",
        ),
        (
            "\"phase.0.lr\" = { range = [0.1, 1, 2] }",
            "sweep.phase.0.lr",
            "unknown `range`",
        ),
        ("replicates = 0", "sweep.replicates", ">= 1"),
    ];
    let base = spec_text(10).split("[sweep]").next().unwrap().to_string();
    for (line, field, msg) in cases {
        let text = format!("{base}[sweep]\n\"phase.0.rho\" = [0.1]\n{line}\n");
        let e = SweepSpec::parse(&text, Path::new(".")).unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, Error::Invalid { .. }), "{line}: {s}");
        assert!(s.contains(&format!("`{field}`")), "{line}: {s}");
        assert!(s.contains(msg), "{line}: {s}");
    }
    let dup = format!("{base}[sweep]\n\"phase.0.rho\" = [0.1]\n\"phase[0].rho\" = [0.2]\n");
    let e = SweepSpec::parse(&dup, Path::new(".")).unwrap_err();
    assert!(
        e.to_string()
            .contains("the path `phase.0.rho` is given twice"),
        "{e}"
    );
    let e = SweepSpec::parse(&base, Path::new(".")).unwrap_err();
    assert!(e.to_string().contains("field `sweep`: missing"), "{e}");
}

#[test]
fn an_invalid_combination_is_an_error_before_any_cell_runs() {
    // batch 100 > n = 50 is fine with replacement, not without: only cell 3 is invalid.
    let dir = tempfile::tempdir().unwrap();
    let text = spec_text(10).replace(
        "replicates = 2\n\"phase.0.rho\" = { linspace = [0.0, 0.1, 4] }\n\"phase[0].lr\" = [0.02, 0.05]",
        "\"phase.0.batch\" = [5, 100]\n\"phase.0.replace\" = [true, false]",
    );
    let spec = write_spec(dir.path(), &text);
    let out = dir.path().join("out");
    let err = fails(sweep(&spec, &out, &[], "2"));
    assert!(
        err.contains(
            "spec.toml: field `sweep`: cell 3 (phase.0.batch = 100, phase.0.replace = false)"
        ),
        "{err}"
    );
    assert!(err.contains("batch 100 exceeds n = 50"), "{err}");
    assert!(!out.join("cells-0-of-1.csv").exists());
}

#[test]
fn one_and_four_threads_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), &spec_text(60_000));
    let out = dir.path().join("out");
    ok(sweep(&spec, &out, &[], "4"));
    assert_eq!(merged(&out), reference());
    let csv = String::from_utf8(merged(&out)).unwrap();
    assert!(csv.starts_with(
        "cell,phase.0.lr,phase.0.rho,diverged,train_loss_mean,train_loss_ci95,test_metric_mean,"
    ));
    // Stochastic: replicates differ, so every interval has a positive width.
    for row in csv.lines().skip(1) {
        let ci: f64 = row.split(',').nth(5).unwrap().parse().unwrap();
        assert!(ci > 0.0, "{row}");
    }
}

/// Every cell of the Parquet file at `path` is the CSV's field: integers and doubles bitwise
/// (doubles printed back in the CSV's shortest form), strings verbatim, nulls where it is empty.
fn assert_parquet_matches_csv(path: &Path, csv: &[u8]) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    use samlab::sweep::parquet::split_csv_line;
    let text = String::from_utf8(csv.to_vec()).unwrap();
    let mut lines = text.lines();
    let header = split_csv_line(lines.next().unwrap());
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let rows: Vec<_> = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let lines: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), lines.len());
    for (row, line) in rows.iter().zip(lines) {
        let fields = split_csv_line(line);
        let cols: Vec<_> = row.get_column_iter().collect();
        assert_eq!(cols.len(), header.len());
        for ((name, value), (want, col)) in cols.iter().zip(fields.iter().zip(&header)) {
            assert_eq!(*name, col);
            let got = match value {
                Field::Null => String::new(),
                Field::Long(v) => v.to_string(),
                Field::Double(v) => format!("{v:?}"),
                Field::Str(v) => v.clone(),
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!(&got, want, "column {col}");
        }
    }
}

#[test]
fn three_shard_processes_and_a_merge_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), &spec_text(60_000));
    let out = dir.path().join("out");
    let shards: Vec<_> = (0..3)
        .map(|i| {
            let s = format!("{i}/3");
            let mut c = samlab(
                &[
                    "sweep",
                    spec.to_str().unwrap(),
                    "--out",
                    out.to_str().unwrap(),
                    "--shard",
                    &s,
                    "--resume",
                    "--parquet",
                ],
                "1",
            );
            c.stdout(Stdio::null()).spawn().unwrap()
        })
        .collect();
    for mut c in shards {
        assert!(c.wait().unwrap().success());
    }
    assert!(!out.join("cells.csv").exists());
    ok(
        samlab(&["sweep", "merge", out.to_str().unwrap(), "--parquet"], "1")
            .output()
            .unwrap(),
    );
    assert_eq!(merged(&out), reference());
    for i in 0..3 {
        assert!(out.join(format!("cells-{i}-of-3.parquet")).exists());
    }
    // The Parquet copy: the same bytes as that of one single-shard run, and the CSV's values.
    let single = dir.path().join("single");
    ok(sweep(&spec, &single, &["--parquet"], "2"));
    let pq = std::fs::read(out.join("cells.parquet")).unwrap();
    assert_eq!(pq, std::fs::read(single.join("cells.parquet")).unwrap());
    assert_parquet_matches_csv(&out.join("cells.parquet"), reference());
    // Shard 1 of 3 holds cells 1, 4, 7.
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest-1-of-3.json")).unwrap())
            .unwrap();
    assert_eq!(
        (m["shard_cells"].as_u64(), m["completed"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(m["format"], "samlab-sweep-v1");
}

#[test]
fn a_killed_sweep_resumes_without_losing_a_finished_cell() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), &spec_text(60_000));
    let out = dir.path().join("out");
    let csv = out.join("cells-0-of-1.csv");
    let rows = || {
        std::fs::read_to_string(&csv)
            .map(|t| t.lines().count().saturating_sub(1))
            .unwrap_or(0)
    };
    let mut child = samlab(
        &[
            "sweep",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--threads",
            "1",
        ],
        "1",
    )
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    let t0 = Instant::now();
    while rows() == 0 {
        assert!(t0.elapsed() < Duration::from_secs(60), "no row written");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let finished = std::fs::read_to_string(&csv).unwrap();
    let kept = rows();
    assert!((1..8).contains(&kept), "{kept} rows at the kill");
    // A write cut short leaves a torn last line; resuming drops it.
    let torn = format!("{finished}7,0.05,0.1,0,0.1");
    std::fs::write(&csv, torn).unwrap();
    // Without --resume the used folder is an error.
    let err = fails(sweep(&spec, &out, &[], "2"));
    assert!(
        err.contains("already holds shard 0/1; continue it with --resume"),
        "{err}"
    );
    ok(sweep(&spec, &out, &["--resume"], "2"));
    let after = std::fs::read_to_string(&csv).unwrap();
    assert!(
        after.starts_with(&finished),
        "finished rows are kept as they were"
    );
    assert_eq!(after.lines().count(), 9);
    assert_eq!(merged(&out), reference());
    // Resuming a complete sweep runs nothing and changes nothing.
    ok(sweep(&spec, &out, &["--resume"], "2"));
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), after);
}

#[test]
fn resuming_with_a_changed_spec_or_merging_an_incomplete_split_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), &spec_text(200));
    let out = dir.path().join("out");
    ok(sweep(&spec, &out, &["--shard", "0/2"], "2"));
    let err = fails(
        samlab(&["sweep", "merge", out.to_str().unwrap()], "1")
            .output()
            .unwrap(),
    );
    assert!(err.contains("field `shard`: 1/2 has no output"), "{err}");
    write_spec(dir.path(), &spec_text(300));
    let err = fails(sweep(&spec, &out, &["--shard", "0/2", "--resume"], "2"));
    assert!(
        err.contains("manifest-0-of-2.json: field `spec_hash`"),
        "{err}"
    );
    assert!(err.contains("the spec changed"), "{err}");
    let err = fails(sweep(&spec, &out, &["--shard", "1/3", "--resume"], "2"));
    assert!(err.contains("holds a sweep split into 2 shards"), "{err}");
    let err = fails(sweep(&spec, &out, &["--shard", "2/2"], "2"));
    assert!(
        err.contains("field `shard`: `2/2`: needs 0 <= i < N"),
        "{err}"
    );
}

#[test]
fn a_row_is_samlab_run_of_its_cells_spec() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = root.join("specs/af22_fig14_rho_sweep.toml");
    let out = dir.path().join("out");
    ok(sweep(&shipped, &out, &[], "2"));
    let csv = String::from_utf8(merged(&out)).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "cell,phase.0.method,phase.0.rho,train_loss,test_mse,grad_norm,steps,diverged_at,grad_evals,example_grads"
    );
    assert_eq!(lines.len(), 19);
    let s = SweepSpec::load(&shipped).unwrap();
    for k in [4, 15] {
        let mut cell = s.cell_table(k).unwrap();
        let data = root.join("data/diag_net_seed0.json");
        cell["problem"]["data"] = toml::Value::String(data.to_str().unwrap().into());
        let f = dir.path().join(format!("cell{k}.toml"));
        std::fs::write(&f, toml::to_string(&cell).unwrap()).unwrap();
        let o = ok(samlab(&["run", f.to_str().unwrap(), "--json", "-"], "1")
            .output()
            .unwrap());
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let row: Vec<&str> = lines[k + 1].split(',').collect();
        let num = |i: usize| row[i].parse::<f64>().unwrap();
        assert_eq!(
            num(3),
            v["final"]["train_loss"].as_f64().unwrap(),
            "cell {k}"
        );
        assert_eq!(num(4), v["final"]["test_mse"].as_f64().unwrap(), "cell {k}");
        assert_eq!(
            num(5),
            v["final"]["grad_norm"].as_f64().unwrap(),
            "cell {k}"
        );
        assert_eq!(row[6], v["steps"].to_string());
    }
}

#[test]
fn a_data_file_that_changed_under_a_sweep_stops_resume_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = dir.path().join("data.json");
    std::fs::copy(root.join("data/diag_net_seed0.json"), &data).unwrap();
    let spec = write_spec(
        dir.path(),
        r#"
[problem]
kind = "diag-net"
data = "data.json"
alpha = 0.05

[[phase]]
method = "gd"
lr = 0.5
rho = 0.0
steps = 50

[sweep]
"phase.0.lr" = [0.1, 0.2, 0.3]
"#,
    );
    let out = dir.path().join("out");
    ok(sweep(&spec, &out, &["--shard", "0/2"], "1"));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest-0-of-2.json")).unwrap()).unwrap();
    let hash = manifest["data_files"]["data.json"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(hash.len(), 16);
    // The same bytes resume; one more byte (still valid JSON) does not.
    ok(sweep(&spec, &out, &["--shard", "0/2", "--resume"], "1"));
    let mut bytes = std::fs::read(&data).unwrap();
    bytes.push(b'\n');
    std::fs::write(&data, bytes).unwrap();
    let err = fails(sweep(&spec, &out, &["--shard", "0/2", "--resume"], "1"));
    assert!(
        err.contains("data_files") && err.contains("data.json"),
        "{err}"
    );
    // A shard run on the changed file cannot be merged with one run on the old file.
    ok(sweep(&spec, &out, &["--shard", "1/2"], "1"));
    let err = fails(
        samlab(&["sweep", "merge", out.to_str().unwrap()], "1")
            .output()
            .unwrap(),
    );
    assert!(err.contains("data_files"), "{err}");
}
