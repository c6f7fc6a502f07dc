//! Extra routes for [`MetricsServer`](crate::MetricsServer): see [`Routes`].
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fmt;

/// What a [`Routes`] value is asked: the request's path and query string. The method is
/// checked by the server: a path the routes answer gets 405 for anything but `GET` and `HEAD`
/// (and hyper leaves the body out for `HEAD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRequest<'a> {
    /// The path, as sent (not percent-decoded), e.g. `/api/v1/dashboard`.
    pub path: &'a str,
    /// The query string after `?`, as sent (not percent-decoded); `None` without `?`.
    pub query: Option<&'a str>,
}

/// A response of a [`Routes`] value. The server adds `Content-Type` from
/// [`content_type`](Self::content_type), and `Cache-Control: no-store` and
/// `X-Content-Type-Options: nosniff` unless the response sets them itself.
#[derive(Clone, PartialEq, Eq)]
pub struct RouteResponse {
    status: u16,
    content_type: Cow<'static, str>,
    body: Cow<'static, [u8]>,
    headers: Vec<(Cow<'static, str>, String)>,
}

impl fmt::Debug for RouteResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteResponse")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .field("headers", &self.headers)
            .finish()
    }
}

/// Why [`RouteResponse::status_code`] or [`RouteResponse::header`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteError {
    /// Not a status code from 100 to 599: use one of those.
    Status(u16),
    /// Not an HTTP header name (RFC 9110 token characters only): fix the name.
    HeaderName(String),
    /// Not a valid header value (control characters such as CR or LF, or non-ASCII): remove
    /// them.
    HeaderValue(String),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::Status(s) => write!(f, "{s} is not an HTTP status code (100..=599)"),
            RouteError::HeaderName(n) => write!(f, "{n:?} is not an HTTP header name"),
            RouteError::HeaderValue(v) => write!(f, "{v:?} is not a valid HTTP header value"),
        }
    }
}

impl std::error::Error for RouteError {}

impl RouteResponse {
    /// A `200 OK` response with `body` of `content_type`. A `&'static [u8]` body (a page or
    /// script compiled into the binary) is served without a copy.
    pub fn new(
        content_type: impl Into<Cow<'static, str>>,
        body: impl Into<Cow<'static, [u8]>>,
    ) -> RouteResponse {
        RouteResponse {
            status: 200,
            content_type: content_type.into(),
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// A plain-text response with `status` (for example 400 with what was wrong).
    ///
    /// # Errors
    /// [`RouteError::Status`] when `status` is not in `100..=599`.
    pub fn text(status: u16, message: impl Into<String>) -> Result<RouteResponse, RouteError> {
        RouteResponse::new("text/plain; charset=utf-8", message.into().into_bytes())
            .status_code(status)
    }

    /// Sets the status code.
    ///
    /// # Errors
    /// [`RouteError::Status`] when `status` is not in `100..=599`.
    pub fn status_code(mut self, status: u16) -> Result<RouteResponse, RouteError> {
        if !(100..=599).contains(&status) {
            return Err(RouteError::Status(status));
        }
        self.status = status;
        Ok(self)
    }

    /// Adds a header (for example `Content-Security-Policy`). Setting `cache-control` or
    /// `x-content-type-options` replaces the server's default for them.
    ///
    /// # Errors
    /// [`RouteError::HeaderName`] or [`RouteError::HeaderValue`] for something that is not
    /// valid HTTP.
    pub fn header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Result<RouteResponse, RouteError> {
        let (name, value) = (name.into(), value.into());
        // RFC 9110 `token`; checked here so that the server never meets an invalid header.
        let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty() || !name.bytes().all(tchar) {
            return Err(RouteError::HeaderName(name.into_owned()));
        }
        // Visible ASCII, space and tab (obsolete non-ASCII text is refused too).
        if !value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        {
            return Err(RouteError::HeaderValue(value));
        }
        self.headers.push((name, value));
        Ok(self)
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The content type.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The extra headers, in the order they were added.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (&**n, v.as_str()))
    }

    /// Takes the parts apart (for the server).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn into_parts(self) -> RouteParts {
        RouteParts {
            status: self.status,
            content_type: self.content_type,
            body: self.body,
            headers: self.headers,
        }
    }
}

/// A [`RouteResponse`] taken apart.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) struct RouteParts {
    pub(crate) status: u16,
    pub(crate) content_type: Cow<'static, str>,
    pub(crate) body: Cow<'static, [u8]>,
    pub(crate) headers: Vec<(Cow<'static, str>, String)>,
}

/// Extra routes of a [`MetricsServer`](crate::MetricsServer): the extension point through which
/// a layer above this crate serves more than the exposition formats on the same endpoint (the
/// web dashboard of `tachymeter-report` uses it for `/` and `/api/v1/...`).
///
/// A [`Routes`] value answers a path with a [`RouteResponse`] (status, content type, body, a
/// few headers) or declines it with `None` (the server then answers 404). It is called on the
/// server's own thread, one request at a time, never on a recording thread; it must not block
/// for long, since the other connections wait meanwhile (read published snapshots, cache what
/// is expensive). Every limit and timeout of [`ServerConfig`](crate::ServerConfig) applies to
/// these routes as to the built-in ones, which always take precedence (`/metrics`,
/// `/snapshot.json`, `/snapshot.csv`, `/healthz`).
///
/// ```
/// use tachymeter_export::{RouteRequest, RouteResponse, Routes};
///
/// let routes = |req: &RouteRequest<'_>| match req.path {
///     "/hello" => Some(RouteResponse::new("text/plain; charset=utf-8", b"hi\n".to_vec())),
///     _ => None,
/// };
/// let resp = routes.respond(&RouteRequest { path: "/hello", query: None }).unwrap();
/// assert_eq!((resp.status(), resp.body()), (200, &b"hi\n"[..]));
/// assert!(routes.respond(&RouteRequest { path: "/", query: None }).is_none());
/// ```
///
/// Implemented for closures `Fn(&RouteRequest) -> Option<RouteResponse>`.
pub trait Routes: Send + Sync + 'static {
    /// Answers `request`, or `None` when the path is not one of these routes (the server
    /// answers 404). Called on the server thread: must not block for long.
    fn respond(&self, request: &RouteRequest<'_>) -> Option<RouteResponse>;
}

impl<F> Routes for F
where
    F: Fn(&RouteRequest<'_>) -> Option<RouteResponse> + Send + Sync + 'static,
{
    fn respond(&self, request: &RouteRequest<'_>) -> Option<RouteResponse> {
        self(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_status_are_checked() {
        let r = RouteResponse::new("text/html", &b"x"[..]);
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.clone().status_code(99).unwrap_err(),
            RouteError::Status(99)
        );
        assert_eq!(
            r.clone().status_code(600).unwrap_err(),
            RouteError::Status(600)
        );
        assert_eq!(r.clone().status_code(404).unwrap().status(), 404);
        assert!(matches!(
            r.clone().header("bad name", "v"),
            Err(RouteError::HeaderName(_))
        ));
        assert!(matches!(
            r.clone().header("", "v"),
            Err(RouteError::HeaderName(_))
        ));
        assert!(matches!(
            r.clone().header("x-a", "v\r\nx-b: injected"),
            Err(RouteError::HeaderValue(_))
        ));
        assert!(matches!(
            r.clone().header("x-a", "caf\u{e9}"),
            Err(RouteError::HeaderValue(_))
        ));
        let ok = r
            .header("Content-Security-Policy", "default-src 'self'")
            .unwrap();
        assert_eq!(
            ok.headers().collect::<Vec<_>>(),
            [("Content-Security-Policy", "default-src 'self'")]
        );
        let t = RouteResponse::text(400, "bad series").unwrap();
        assert_eq!((t.status(), t.body()), (400, &b"bad series"[..]));
        assert!(RouteResponse::text(1000, "x").is_err());
    }
}
