//! The `core:URL` form: where the node's JSON-RPC listens, how to log in, and where its ZMQ and
//! REST interfaces are.
//!
//! `http://[user:pass@]host:port[?cookie=PATH][&zmq=tcp://host:port][&rest=0][&blocksdir=PATH]`.
//! With neither credentials nor `cookie`, no authentication is sent (a node behind a proxy that
//! adds it).

use std::path::PathBuf;

/// How to log in to the node's JSON-RPC.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Login {
    /// No `Authorization` header.
    None,
    /// `-rpcuser`/`-rpcpassword` (or `-rpcauth`).
    UserPass(String, String),
    /// The `.cookie` file bitcoind writes in its data directory, read on each connect.
    Cookie(PathBuf),
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Login::None => f.write_str("None"),
            Login::UserPass(u, _) => write!(f, "UserPass({u}, <hidden>)"),
            Login::Cookie(p) => write!(f, "Cookie({})", p.display()),
        }
    }
}

/// A parsed `core:` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreUrl {
    /// `http://host:port`, without credentials or query.
    pub rpc: String,
    /// How to authenticate.
    pub login: Login,
    /// The `-zmqpubsequence` endpoint, if the node publishes one.
    pub zmq: Option<String>,
    /// Whether to read raw blocks over REST (`-rest`); falls back to RPC when the node refuses.
    pub rest: bool,
    /// The node's blocks directory (`blk*.dat`, `xor.dat`), read directly when given.
    pub blocksdir: Option<PathBuf>,
}

impl std::str::FromStr for CoreUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let shown = redacted(s);
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("core URL '{shown}' must start with http://"))?;
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "core URL scheme '{scheme}' is not supported: use http://"
            ));
        }
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.trim_end_matches('/');
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if host.is_empty() || host.contains('/') {
            return Err(format!("core URL '{shown}' names no host:port"));
        }
        let mut url = CoreUrl {
            rpc: format!("{scheme}://{host}"),
            login: Login::None,
            zmq: None,
            rest: true,
            blocksdir: None,
        };
        if let Some(u) = userinfo {
            let (user, pass) = u
                .split_once(':')
                .ok_or_else(|| "core URL credentials must be user:password".to_string())?;
            url.login = Login::UserPass(user.to_string(), pass.to_string());
        }
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "cookie" if !v.is_empty() => {
                    if userinfo.is_some() {
                        return Err("give either user:password or cookie=, not both".into());
                    }
                    url.login = Login::Cookie(PathBuf::from(v));
                }
                "zmq" if v.starts_with("tcp://") => url.zmq = Some(v.to_string()),
                "zmq" => return Err(format!("zmq endpoint '{v}' must be tcp://host:port")),
                "rest" => {
                    url.rest = match v {
                        "1" | "true" | "" => true,
                        "0" | "false" => false,
                        _ => return Err(format!("rest={v}: expected 0 or 1")),
                    }
                }
                "blocksdir" if v.is_empty() => {
                    return Err("blocksdir= names no directory: give the node's blocks directory, e.g. blocksdir=/home/me/.bitcoin/blocks".into())
                }
                "blocksdir" if url.blocksdir.is_some() => {
                    return Err("blocksdir= is given twice".into())
                }
                "blocksdir" => url.blocksdir = Some(PathBuf::from(v)),
                _ => {
                    return Err(format!(
                        "unknown core URL option '{k}': expected cookie=PATH, zmq=tcp://HOST:PORT, rest=0|1 or blocksdir=PATH"
                    ))
                }
            }
        }
        Ok(url)
    }
}

/// `s` with the password of any `user:password@` replaced by `***`, for error messages.
fn redacted(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return match s.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => s.to_string(),
        };
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn parses_credentials_cookie_zmq_and_rest() {
        let u: CoreUrl = "http://alice:s3cr:et@127.0.0.1:18443/?zmq=tcp://127.0.0.1:28332"
            .parse()
            .unwrap();
        assert_eq!(u.rpc, "http://127.0.0.1:18443");
        assert_eq!(u.login, Login::UserPass("alice".into(), "s3cr:et".into()));
        assert_eq!(u.zmq.as_deref(), Some("tcp://127.0.0.1:28332"));
        assert!(u.rest);
        assert!(!format!("{:?}", u.login).contains("s3cr"), "debug hides it");

        let u: CoreUrl = "http://h:1?cookie=/d/regtest/.cookie&rest=0"
            .parse()
            .unwrap();
        assert_eq!(u.login, Login::Cookie("/d/regtest/.cookie".into()));
        assert!(!u.rest);
        assert_eq!(u.blocksdir, None);
        let u: CoreUrl = "http://h:1?rest=0&blocksdir=/d/regtest/blocks"
            .parse()
            .unwrap();
        assert_eq!(u.blocksdir, Some(PathBuf::from("/d/regtest/blocks")));
        assert_eq!("http://h:2".parse::<CoreUrl>().unwrap().login, Login::None);
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        for (bad, says) in [
            ("h:1", "http://"),
            ("ftp://h:1", "not supported"),
            ("http://", "no host"),
            ("http://u@h:1", "user:password"),
            ("http://u:p@h:1?cookie=/c", "not both"),
            ("http://h:1?zmq=ipc:///x", "tcp://"),
            ("http://h:1?rest=maybe", "expected 0 or 1"),
            ("http://h:1?wallet=x", "unknown core URL option"),
            ("http://h:1?blocksdir=", "names no directory"),
            ("http://h:1?blocksdir", "names no directory"),
            ("http://h:1?blocksdir=/a&blocksdir=/b", "twice"),
        ] {
            let e = bad.parse::<CoreUrl>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn errors_never_echo_the_password() {
        for bad in [
            "http://alice:hunter2@/x",
            "http://alice:hunter2@",
            "alice:hunter2@h:1",
            "http://alice:hunter2@h:1/p?x",
        ] {
            if let Err(e) = bad.parse::<CoreUrl>() {
                assert!(!e.contains("hunter2"), "{bad}: {e}");
            }
        }
        assert_eq!(
            redacted("http://alice:pw@h:1/?zmq=tcp://z:2"),
            "http://alice:***@h:1/?zmq=tcp://z:2"
        );
    }
}
