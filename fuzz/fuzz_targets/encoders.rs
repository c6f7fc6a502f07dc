//! Thin wrapper: the body lives in `tachymeter_export::fuzz::encoders` so stable CI can replay
//! the corpus.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tachymeter_export::fuzz::encoders(data));
