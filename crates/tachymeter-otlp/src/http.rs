//! A minimal blocking HTTP/1.1 client for `POST`ing one export: `http://` only, one connection
//! per request (`Connection: close`), connect/read/write timeouts.
//!
//! An exporter sends one request per interval from its own thread, so connection reuse and
//! pipelining buy nothing worth a dependency; `https://` would need a TLS stack (rustls and its
//! crypto provider, or a system OpenSSL), which is why it is refused at start
//! ([`StartError::UnsupportedScheme`]): put a local collector (or a TLS-terminating proxy) on
//! loopback and point the exporter at it.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::StartError;

/// The most of a response body we read (and discard) before closing.
const MAX_BODY: u64 = 64 * 1024;

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Host name or address (IPv6 without brackets), for resolution.
    host: String,
    port: u16,
    /// `Host` header value (`host:port` as written).
    authority: String,
    /// Request target, starting with `/`.
    pub(crate) path: String,
}

impl Endpoint {
    /// Parses `http://host[:port][/path]`; an empty path or `/` becomes `/v1/metrics` (the
    /// OTLP/HTTP default, as for `OTEL_EXPORTER_OTLP_ENDPOINT`), any other path is kept (as
    /// for `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`). The port defaults to 80.
    pub(crate) fn parse(url: &str) -> Result<Endpoint, StartError> {
        let invalid = |why: &str| StartError::InvalidEndpoint(format!("{url:?}: {why}"));
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(invalid("expected http://host[:port][/path]"));
        };
        if scheme.eq_ignore_ascii_case("https") {
            return Err(StartError::UnsupportedScheme(url.to_owned()));
        }
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(invalid("the scheme must be http"));
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        let path = match path {
            "" | "/" => "/v1/metrics".to_owned(),
            p => p.to_owned(),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let Some((host, after)) = v6.split_once(']') else {
                return Err(invalid("unclosed [ in the host"));
            };
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| invalid("bad port"))?),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || authority.contains('@') {
            return Err(invalid("expected a host (and no user info)"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| invalid("bad port"))?,
            None => 80,
        };
        Ok(Endpoint {
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            path,
        })
    }
}

/// The parts of a response the exporter acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// `Retry-After` in seconds (the HTTP-date form is ignored).
    pub(crate) retry_after: Option<Duration>,
}

/// Sends `body` (already gzip-compressed when `gzip`) and reads the response head.
pub(crate) fn post(
    endpoint: &Endpoint,
    body: &[u8],
    gzip: bool,
    timeout: Duration,
) -> io::Result<Response> {
    let stream = connect(endpoint, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let _ = stream.set_nodelay(true);
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: tachymeter-otlp/{}\r\n\
         Content-Type: application/x-protobuf\r\nContent-Length: {}\r\nConnection: close\r\n",
        endpoint.path,
        endpoint.authority,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    if gzip {
        head.push_str("Content-Encoding: gzip\r\n");
    }
    head.push_str("\r\n");
    let mut writer = &stream;
    writer.write_all(head.as_bytes())?;
    writer.write_all(body)?;
    writer.flush()?;
    read_response(BufReader::new(&stream))
}

fn connect(endpoint: &Endpoint, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in (endpoint.host.as_str(), endpoint.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address")))
}

/// Parses the status line and headers; reads (and discards) up to [`MAX_BODY`] of a body
/// with a `Content-Length`, so the server sees its response consumed.
fn read_response(mut reader: impl BufRead) -> io::Result<Response> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before a response",
        ));
    }
    // "HTTP/1.1 200 OK"
    let mut parts = line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Err(bad("not an HTTP response"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut length = None;
    let mut retry_after = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<u64>().ok();
            } else if name.eq_ignore_ascii_case("retry-after") {
                retry_after = value.parse::<u64>().ok().map(Duration::from_secs);
            }
        }
    }
    if let Some(n) = length {
        // The body (an ExportMetricsServiceResponse or an error Status) is not used.
        let _ = io::copy(&mut reader.take(n.min(MAX_BODY)), &mut io::sink());
    }
    Ok(Response {
        status,
        retry_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:4318").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 4318, "/v1/metrics")
        );
        let e = Endpoint::parse("http://collector/").unwrap();
        assert_eq!((e.port, e.path.as_str()), (80, "/v1/metrics"));
        let e = Endpoint::parse("http://[::1]:9/otlp/v1/metrics").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.authority.as_str()),
            ("::1", 9, "[::1]:9")
        );
        assert_eq!(e.path, "/otlp/v1/metrics");
        assert!(matches!(
            Endpoint::parse("https://x:4318"),
            Err(StartError::UnsupportedScheme(_))
        ));
        for bad in [
            "x:4318",
            "ftp://x",
            "http://",
            "http://x:port",
            "http://u@x",
            "http://[::1",
        ] {
            assert!(
                matches!(Endpoint::parse(bad), Err(StartError::InvalidEndpoint(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_status_and_retry_after() {
        let raw =
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 3\r\n\r\nabc";
        let r = read_response(&raw[..]).unwrap();
        assert_eq!(r.status, 503);
        assert_eq!(r.retry_after, Some(Duration::from_secs(2)));
        assert!(read_response(&b""[..]).is_err());
        assert!(read_response(&b"SSH-2.0\r\n"[..]).is_err());
    }
}
