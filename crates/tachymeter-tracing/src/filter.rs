//! Which spans the layer times: a per-layer [`Filter`] decided from a callsite's metadata
//! alone, so a callsite it never times is cached as `Interest::never`.
#![forbid(unsafe_code)]

use tracing_core::{subscriber::Interest, Metadata};
use tracing_subscriber::layer::{Context, Filter};

/// The per-layer filter of a [`TachymeterLayer`](crate::TachymeterLayer): selects span
/// callsites by target, name or declared field (see the crate docs' *Selection and interest*);
/// never selects events.
#[derive(Debug, Clone, Default)]
pub struct SpanFilter {
    pub(crate) targets: Box<[Box<str>]>,
    pub(crate) names: Box<[Box<str>]>,
    pub(crate) fields: Box<[Box<str>]>,
}

impl SpanFilter {
    /// True if the layer times spans of this callsite.
    pub fn selects(&self, meta: &Metadata<'_>) -> bool {
        if !meta.is_span() {
            return false;
        }
        let no_rule = self.targets.is_empty() && self.names.is_empty() && self.fields.is_empty();
        no_rule
            || self.targets.iter().any(|t| under(meta.target(), t))
            || self.names.iter().any(|n| **n == *meta.name())
            || self
                .fields
                .iter()
                .any(|f| meta.fields().field(&**f).is_some())
    }
}

/// True if `target` is the module path `prefix` or lies below it (`a::b` is under `a`, `ab`
/// is not).
fn under(target: &str, prefix: &str) -> bool {
    match target.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with("::"),
        None => false,
    }
}

impl<S> Filter<S> for SpanFilter {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.selects(meta)
    }

    /// `never` for a callsite the layer does not time: with every layer of the subscriber
    /// filtered, a callsite nobody wants is disabled for good; otherwise tracing asks each
    /// layer per span, and other layers still see it. `sometimes` (not `always`) for a
    /// callsite it times, so that [`enabled`](Filter::enabled) runs before each of its spans:
    /// tracing-subscriber 0.3 carries a filter's verdict from `enabled` to `on_new_span` in a
    /// thread-local bitmap, and a callsite cached as `always` would skip `enabled` and read a
    /// bit left by an unrelated `Dispatch::enabled` query (such as `log_enabled!` through
    /// tracing-log), silently losing the span (tokio-rs/tracing#2519).
    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.selects(meta) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::under;

    #[test]
    fn targets_match_whole_module_path_segments() {
        assert!(under("app", "app"));
        assert!(under("app::db::pool", "app"));
        assert!(under("app::db", "app::db"));
        assert!(!under("application", "app"));
        assert!(!under("lib::app", "app"));
    }
}
