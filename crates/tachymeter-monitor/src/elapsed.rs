//! [`Elapsed`]: a duration given as `Duration` or as float seconds.

use std::time::Duration;

/// A duration: a [`Duration`], or float seconds (`f64`/`f32`, the seeds' convention).
///
/// Negative, NaN and infinite seconds are not durations: [`nanos`](Self::nanos) gives `None`
/// and monitors count them as rejected instead of recording them.
///
/// ```
/// use std::time::Duration;
/// use tachymeter_monitor::Elapsed;
/// assert_eq!(0.0123f64.nanos(), Some(12_300_000));
/// assert_eq!(Duration::from_micros(5).nanos(), Some(5_000));
/// assert_eq!(f64::NAN.nanos(), None);
/// ```
pub trait Elapsed: Copy {
    /// Whole nanoseconds (rounded), or `None` if this is not a valid duration.
    fn nanos(self) -> Option<u64>;
}

impl Elapsed for Duration {
    #[inline]
    fn nanos(self) -> Option<u64> {
        Some(u64::try_from(self.as_nanos()).unwrap_or(u64::MAX))
    }
}

impl Elapsed for f64 {
    #[inline]
    fn nanos(self) -> Option<u64> {
        // `as` saturates above u64::MAX; two compares reject NaN, infinities and negatives.
        (0.0..=f64::MAX)
            .contains(&self)
            .then_some((self * 1e9 + 0.5) as u64)
    }
}

impl Elapsed for f32 {
    #[inline]
    fn nanos(self) -> Option<u64> {
        f64::from(self).nanos()
    }
}
