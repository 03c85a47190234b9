//! The check engine and the verdicts: every registered check has an expected quick-mode verdict
//! (a change of verdict fails CI), saved counter-examples replay bit-for-bit and stay violated,
//! verdicts do not depend on the thread count, and README's theorem table is current.

use std::path::Path;

use samlab::theory::{self, Ctx, Instance, Mode, Saved, Status, Verdict};

/// The expected quick-mode verdict of every check. A printed statement that fails is `Violated`
/// here and has its finding in FINDINGS.md and a `.corrected` check that holds.
const EXPECTED: &[(&str, Status)] = &[
    ("af22.lem7", Status::Holds),
    ("af22.lem8", Status::Holds),
    ("af22.lem8.pl", Status::Violated),
    ("af22.lem8.pl.corrected", Status::Holds),
    ("af22.thm6", Status::Holds),
    ("af22.thm6.pl", Status::Holds),
    ("af22.thm6.remark", Status::Holds),
    ("af22.thm9", Status::Violated),
    ("af22.thm9.corrected", Status::Holds),
    ("af22.thm10", Status::Holds),
    ("af22.thm11", Status::Holds),
    ("af22.thm11.strong", Status::Holds),
    ("af22.lem13", Status::Holds),
    ("af22.lem14", Status::Holds),
    ("af22.lem16", Status::Holds),
    ("af22.lem17", Status::Holds),
    ("af22.thm15", Status::Holds),
    ("af22.thm12", Status::Violated),
    ("af22.thm12.corrected", Status::Holds),
    ("af22.thm12.pl", Status::Holds),
    ("af22.thm18", Status::Holds),
    ("af22.thm18.pl", Status::Holds),
    ("af22.thm2", Status::Holds),
    ("af22.thm2.pl", Status::Holds),
    ("af22.thm3", Status::Holds),
    ("af22.thm4", Status::Violated),
    ("af22.thm4.corrected", Status::Holds),
    ("af22.thm4.eq14", Status::Violated),
    ("af22.thm4.eq14.corrected", Status::Holds),
    ("af22.thm5", Status::Violated),
    ("af22.thm5.corrected", Status::Holds),
    ("af22.thm5.eq15", Status::Violated),
    ("af22.thm5.eq15.corrected", Status::Holds),
    ("af22.thm5.part2", Status::Holds),
    ("af22.thm1", Status::Holds),
    ("af22.appB3", Status::Holds),
    ("ssam24.lem2", Status::Holds),
    ("ssam24.rem3", Status::Holds),
    ("ssam24.rem3.b", Status::Violated),
    ("ssam24.rem3.b.corrected", Status::Holds),
    ("ssam24.lem4", Status::Holds),
    ("ssam24.thm5", Status::Holds),
    ("ssam24.cor6", Status::Holds),
    ("ssam24.lem7", Status::Holds),
    ("ssam24.thm8", Status::Violated),
    ("ssam24.thm8.corrected", Status::Holds),
    ("ssam24.lem11", Status::Holds),
    ("ssam24.lem12", Status::Violated),
    ("ssam24.lem12.corrected", Status::Holds),
    ("ssam24.lem13", Status::Holds),
    ("ssam24.thm14", Status::Holds),
    ("ssam24.thm16", Status::Holds),
    ("ssam24.assumption1", Status::Holds),
    ("ssam24.lem20", Status::Holds),
    ("ssam24.thm1", Status::Holds),
    ("ssam24.thm10", Status::Holds),
    ("ssam24.thm18", Status::Holds),
    ("ssam24.rem9", Status::Violated),
    ("ssam24.rem9.corrected", Status::Holds),
];

fn quick() -> Ctx {
    Ctx {
        mode: Mode::Quick,
        seed: 0,
    }
}

fn run_all(threads: usize) -> Vec<Verdict> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    theory::registry()
        .iter()
        .map(|c| pool.install(|| theory::run_check(c.as_ref(), &quick())))
        .collect()
}

#[test]
fn every_check_has_its_expected_quick_verdict() {
    let verdicts = run_all(2);
    for v in &verdicts {
        let want = EXPECTED
            .iter()
            .find(|(id, _)| *id == v.id)
            .unwrap_or_else(|| panic!("check {} has no expected verdict in tests/theory.rs", v.id));
        assert_eq!(
            v.verdict, want.1,
            "{}: {} (lhs {}, rhs {})",
            v.id, v.details, v.lhs, v.rhs
        );
        if v.verdict == Status::Violated {
            assert!(
                v.finding.is_some(),
                "{} is violated but names no finding",
                v.id
            );
            let corrected = format!("{}.corrected", v.id);
            assert!(
                verdicts
                    .iter()
                    .any(|c| c.id == corrected && c.verdict == Status::Holds),
                "{} is violated but {corrected} does not hold",
                v.id
            );
        }
        assert!(v.instances > 0);
    }
    assert_eq!(
        verdicts.len(),
        EXPECTED.len(),
        "a check in EXPECTED is not registered"
    );
}

#[test]
fn verdicts_do_not_depend_on_the_thread_count() {
    let strip = |mut v: Vec<Verdict>| {
        v.iter_mut().for_each(|x| x.seconds = 0.0);
        v
    };
    assert_eq!(strip(run_all(1)), strip(run_all(3)));
}

#[test]
fn saved_counter_examples_replay_bit_for_bit() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("findings");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let saved: Saved = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let (o, s) = theory::replay(&saved).unwrap();
        assert_eq!(o, saved.observation, "{}", path.display());
        assert_eq!(s, Status::Violated, "{}", path.display());
        n += 1;
    }
    assert!(n >= 1);
}

#[test]
fn lem8_part_2_fails_on_a_strongly_convex_quadratic_too() {
    // θ: case 3 (strongly convex quadratic), γβ = 2 (θ1 = 1 with ρβ = 1: γβ(2 − ρβ) = 2, the
    // boundary of the printed condition), ρβ = 1 (θ2 = 1/3), µ/β = 1e-3·… small.
    let check = theory::registry()
        .into_iter()
        .find(|c| c.id() == "af22.lem8.pl")
        .unwrap();
    let o = check.evaluate(&Instance {
        theta: vec![0.9, 1.0, 1.0 / 3.0, 0.5, 0.5, 0.1],
        seed: 3,
    });
    assert!(o.note.contains("strongly convex quadratic"), "{}", o.note);
    assert_eq!(o.status(), Status::Violated, "{o:?}");
}

#[test]
fn readme_theorem_table_is_current() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_samlab"))
        .args(["verify", "--markdown"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("<!-- theorem-table -->\n")
        .expect("README has the table marker")
        + 23;
    let end = readme
        .find("<!-- /theorem-table -->")
        .expect("README has the end marker");
    assert_eq!(
        &readme[start..end],
        table,
        "README's theorem table is stale: regenerate it with `cargo run --release -- verify --markdown`"
    );
}
