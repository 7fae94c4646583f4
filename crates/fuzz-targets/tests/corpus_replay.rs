//! Every committed fuzz input, fed to its target on the stable toolchain: the minimized
//! corpus (`fuzz/corpus/TARGET/`) and every input that once crashed a target
//! (`fuzz/regressions/TARGET/`). A target that panics on any of them fails this test, so a
//! fixed crash stays fixed without a fuzzer on the machine.

use std::fs;
use std::panic;
use std::path::Path;

use trailscan_fuzz_targets::TARGETS;

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut inputs: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.display().to_string(),
                fs::read(&p).expect("a corpus file"),
            )
        })
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn every_committed_input_runs_clean() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut failures = Vec::new();
    for (name, target) in TARGETS {
        let corpus = inputs(&fuzz.join("corpus").join(name));
        assert!(
            corpus.len() >= 10,
            "fuzz/corpus/{name} has {} inputs; it is committed minimized, not empty",
            corpus.len()
        );
        let regressions = inputs(&fuzz.join("regressions").join(name));
        for (path, bytes) in corpus.iter().chain(&regressions) {
            if panic::catch_unwind(|| target(bytes)).is_err() {
                failures.push(path.clone());
            }
        }
        eprintln!(
            "{name}: {} corpus inputs, {} regressions",
            corpus.len(),
            regressions.len()
        );
    }
    assert!(failures.is_empty(), "targets panicked on: {failures:#?}");
}
