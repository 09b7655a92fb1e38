#![no_main]

#[path = "../../tests/it/properties/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::check_file_name(data));
