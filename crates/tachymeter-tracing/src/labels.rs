//! Label values from a span's attributes: a `field::Visit` that copies the chosen fields'
//! values into fixed stack buffers, so reading them allocates nothing.
#![forbid(unsafe_code)]

use std::fmt::{self, Write as _};
use tracing_core::field::{Field, Visit};

/// Span fields a layer may turn into labels (each one multiplies the number of series).
pub const MAX_LABEL_FIELDS: usize = 4;

/// Bytes kept of a label value; a longer value is cut at the last whole character that fits.
pub const MAX_LABEL_VALUE_LEN: usize = 64;

/// One label value: up to [`MAX_LABEL_VALUE_LEN`] bytes of UTF-8, written through `fmt::Write`.
#[derive(Clone, Copy)]
pub(crate) struct ValueBuf {
    bytes: [u8; MAX_LABEL_VALUE_LEN],
    len: usize,
    /// Set once a write did not fit: later writes are dropped too, so the value is a prefix.
    full: bool,
}

impl ValueBuf {
    const EMPTY: ValueBuf = ValueBuf {
        bytes: [0; MAX_LABEL_VALUE_LEN],
        len: 0,
        full: false,
    };

    pub(crate) fn as_str(&self) -> &str {
        // Only whole characters are copied in, so the prefix is valid UTF-8.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }

    fn clear(&mut self) {
        *self = ValueBuf::EMPTY;
    }
}

impl fmt::Write for ValueBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.full {
            return Ok(());
        }
        let room = MAX_LABEL_VALUE_LEN - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        self.full = take < s.len();
        // Never an error: a value that does not fit is cut, not refused.
        Ok(())
    }
}

/// Visits a span's attributes: copies the values of the label fields (in the order of
/// `names`) and notes whether a selecting field is `false` (the span opted out).
pub(crate) struct LabelVisitor<'a> {
    names: &'a [Box<str>],
    opt_out_fields: &'a [Box<str>],
    values: [ValueBuf; MAX_LABEL_FIELDS],
    pub(crate) opted_out: bool,
}

impl<'a> LabelVisitor<'a> {
    pub(crate) fn new(names: &'a [Box<str>], opt_out_fields: &'a [Box<str>]) -> Self {
        LabelVisitor {
            names,
            opt_out_fields,
            values: [ValueBuf::EMPTY; MAX_LABEL_FIELDS],
            opted_out: false,
        }
    }

    /// The buffer of `field` if it is a label field (a field recorded twice keeps the last).
    fn slot(&mut self, field: &Field) -> Option<&mut ValueBuf> {
        let i = self.names.iter().position(|n| **n == *field.name())?;
        let buf = &mut self.values[i];
        buf.clear();
        Some(buf)
    }

    /// The label values, in the order of the label fields; "" for a field the span lacks.
    pub(crate) fn values(&self) -> impl Iterator<Item = &str> {
        self.values[..self.names.len()].iter().map(ValueBuf::as_str)
    }
}

impl Visit for LabelVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(buf) = self.slot(field) {
            let _ = buf.write_str(value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if !value && self.opt_out_fields.iter().any(|n| **n == *field.name()) {
            self.opted_out = true;
        }
        if let Some(buf) = self.slot(field) {
            let _ = buf.write_str(if value { "true" } else { "false" });
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // Integers, floats and `%display` values arrive here too; `Debug` of a number is its
        // decimal form.
        if let Some(buf) = self.slot(field) {
            let _ = write!(buf, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let mut b = ValueBuf::EMPTY;
        let s = "é".repeat(40); // 80 bytes
        b.write_str(&s).unwrap();
        assert_eq!(b.as_str(), "é".repeat(32));
        b.write_str("x").unwrap(); // full: dropped
        assert_eq!(b.as_str().len(), 64);
        let mut b = ValueBuf::EMPTY;
        b.write_str(&"a".repeat(63)).unwrap();
        b.write_str("é").unwrap(); // does not fit: the value stays a prefix
        b.write_str("b").unwrap();
        assert_eq!(b.as_str(), "a".repeat(63));
    }
}
