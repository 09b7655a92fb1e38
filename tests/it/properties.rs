//! The fuzz properties (`properties/fuzz_checks.rs`), run briefly on every CI run
//! with proptest: random bytes, and the committed seeds (`fuzz/seeds/`, the real
//! response shapes) mutated and cut short. The long runs are cargo-fuzz's
//! (`fuzz/`, see docs/robustness.md).

mod fuzz_checks;

use std::path::Path;

use proptest::prelude::*;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    seeds
}

/// A seed with random edits: overwritten bytes, an insertion, a cut.
fn mutated(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds(target);
    assert!(!seeds.is_empty(), "no seeds for {target}");
    (
        0..seeds.len(),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        proptest::collection::vec(any::<u8>(), 0..16),
        any::<usize>(),
        any::<bool>(),
    )
        .prop_map(move |(pick, edits, insert, at, cut)| {
            let mut data = seeds[pick].clone();
            for (position, byte) in edits {
                if !data.is_empty() {
                    let i = position % data.len();
                    data[i] = byte;
                }
            }
            let at = if data.is_empty() { 0 } else { at % data.len() };
            if cut {
                data.truncate(at);
            } else {
                data.splice(at..at, insert);
            }
            data
        })
}

fn inputs(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        mutated(target),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn soap_response(data in inputs("soap_response")) {
        fuzz_checks::check_soap(&data);
    }

    #[test]
    fn rest_response(data in inputs("rest_response")) {
        fuzz_checks::check_rest(&data);
    }

    #[test]
    fn www_authenticate(data in inputs("www_authenticate")) {
        fuzz_checks::check_challenges(&data);
    }

    #[test]
    fn ntlm_challenge(data in inputs("ntlm_challenge")) {
        fuzz_checks::check_ntlm_challenge(&data);
    }

    #[test]
    fn address_list(data in inputs("address_list")) {
        fuzz_checks::check_address_list(&data);
    }

    #[test]
    fn file_name(data in inputs("file_name"), text in any::<String>()) {
        fuzz_checks::check_file_name(&data);
        fuzz_checks::check_file_name(text.as_bytes());
    }
}

#[test]
fn every_seed_passes_unchanged() {
    for seed in seeds("soap_response") {
        fuzz_checks::check_soap(&seed);
    }
    for seed in seeds("rest_response") {
        fuzz_checks::check_rest(&seed);
    }
    for seed in seeds("www_authenticate") {
        fuzz_checks::check_challenges(&seed);
    }
    for seed in seeds("ntlm_challenge") {
        fuzz_checks::check_ntlm_challenge(&seed);
    }
    for seed in seeds("file_name") {
        fuzz_checks::check_file_name(&seed);
    }
    for seed in seeds("address_list") {
        fuzz_checks::check_address_list(&seed);
    }
}
