//! `GET` of a tachymeter endpoint's `/snapshot.json` over plain HTTP (ureq, no TLS stack).

use std::time::Duration;

use anyhow::{bail, Context as _};

/// The largest snapshot document read (a process with very many series); beyond it the read
/// fails with a clear error instead of growing without bound.
const MAX_BODY: u64 = 256 * 1024 * 1024;

/// The URL of the snapshot document: `http://HOST:PORT` and `http://HOST:PORT/` mean
/// `http://HOST:PORT/snapshot.json`; any other path is kept. `HOST:PORT` alone gets `http://`.
pub fn snapshot_url(target: &str) -> anyhow::Result<String> {
    let rest = match target.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => bail!("{target}: only http:// is supported, not {scheme}://"),
        None => target,
    };
    if rest.is_empty() || rest.starts_with('/') {
        bail!("{target}: no host (expected http://HOST:PORT)");
    }
    Ok(match rest.find('/') {
        Some(i) if &rest[i..] != "/" => format!("http://{rest}"),
        Some(i) => format!("http://{}/snapshot.json", &rest[..i]),
        None => format!("http://{rest}/snapshot.json"),
    })
}

/// The body of a `200` response to `GET url`, within `timeout` (connecting included).
/// Errors say what failed: the connection (the process is down or not serving there), the
/// status, or the read.
pub fn get(url: &str, timeout: Duration) -> anyhow::Result<String> {
    let agent = ureq::Agent::config_builder()
        .timeout_connect(Some(timeout.min(Duration::from_secs(2))))
        .timeout_global(Some(timeout))
        .build()
        .new_agent();
    let mut response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => anyhow::anyhow!("{url}: HTTP status {code}"),
        ureq::Error::Io(io) => anyhow::anyhow!("cannot reach {url}: {io}"),
        ureq::Error::HostNotFound => anyhow::anyhow!("cannot reach {url}: host not found"),
        ureq::Error::Timeout(t) => anyhow::anyhow!("{url}: timed out ({t})"),
        other => anyhow::anyhow!("{url}: {other}"),
    })?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .with_context(|| format!("{url}: reading the response"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = |s| snapshot_url(s).unwrap();
        assert_eq!(
            u("http://127.0.0.1:9464"),
            "http://127.0.0.1:9464/snapshot.json"
        );
        assert_eq!(
            u("http://127.0.0.1:9464/"),
            "http://127.0.0.1:9464/snapshot.json"
        );
        assert_eq!(u("127.0.0.1:9464"), "http://127.0.0.1:9464/snapshot.json");
        assert_eq!(
            u("http://h:1/x/snapshot.json"),
            "http://h:1/x/snapshot.json"
        );
        let e = |s| snapshot_url(s).unwrap_err().to_string();
        assert!(e("https://h:1").contains("only http://"));
        assert!(e("http://").contains("no host"));
    }

    /// A port nobody listens on: the error names the URL and says it cannot be reached.
    #[test]
    fn a_dead_port_is_a_clear_error() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/snapshot.json");
        let err = get(&url, Duration::from_secs(2)).unwrap_err().to_string();
        assert!(err.starts_with(&format!("cannot reach {url}")), "{err}");
    }
}
