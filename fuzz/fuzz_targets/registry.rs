//! Thin wrapper: the body lives in `tachymeter::fuzz::registry` so stable CI can replay the corpus.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tachymeter::fuzz::registry(data));
