//! Thin wrapper: the body lives in `tachymeter::fuzz::ring` so stable CI can replay the corpus.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tachymeter::fuzz::ring(data));
