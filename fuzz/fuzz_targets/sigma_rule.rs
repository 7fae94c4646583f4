#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| trailscan_fuzz_targets::sigma_rule(data));
