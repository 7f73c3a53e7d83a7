//! Debian's nginx, run by the tests and the viewers benchmark as the user running them: one
//! process (`master_process off`, so no switch to another user), in the foreground, with its
//! prefix, pid, logs and temporary paths in a temporary directory of its own, on a free loopback
//! port. Stopped on drop.
#![allow(dead_code, reason = "the tests and the benchmark use different parts")]

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The nginx program: `$NGINX`, else `nginx` on PATH or in /usr/sbin (where Debian puts it).
pub fn exe() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::var_os("NGINX")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::split_paths(&path).map(|d| d.join("nginx")))
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|p| p.is_file())
}

/// The cache of docs/deploy.md in front of `gateway`, for [`Nginx::start`]: its `http` directives
/// (the cache zone, in the prefix) and `server` block, caching films in pieces of `slice` bytes,
/// with a header `X-Cache-Status` telling hits from misses.
pub fn gateway_cache(gateway: SocketAddr, slice: usize) -> (String, String) {
    let http = "    proxy_cache_path {prefix}/cache levels=1:2 keys_zone=bitflix:10m max_size=1g \
                inactive=30d use_temp_path=off;"
        .to_string();
    let common = format!(
        "            proxy_pass http://{gateway};
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $http_host;
            proxy_cache bitflix;
            add_header X-Cache-Status $upstream_cache_status always;"
    );
    let server = format!(
        "        location / {{
{common}
        }}
        location ~ ^/(api/content/[^/]+/(file|stream|media/.+)|sandbox/[^/]+)$ {{
{common}
            slice {slice};
            proxy_cache_key $uri$is_args$args$slice_range;
            proxy_set_header Range $slice_range;
            proxy_cache_lock on;
        }}"
    );
    (http, server)
}

/// A running nginx.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its prefix: the configuration, logs, temporary files and whatever `server` puts there.
    pub dir: tempfile::TempDir,
}

impl Nginx {
    /// Start `exe` with `server` as the directives of its one `server` block (the `listen` line is
    /// added), and `http` as further directives of the `http` block, `{prefix}` in either replaced
    /// by the prefix directory; wait until it accepts connections.
    pub fn start(exe: &Path, http: &str, server: &str) -> io::Result<Nginx> {
        let dir = tempfile::tempdir()?;
        let p = dir.path();
        for d in ["tmp", "cache"] {
            std::fs::create_dir_all(p.join(d))?;
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let d = p.display();
        let conf = format!(
            "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    default_type application/octet-stream;
{http}
    server {{
        listen {addr};
{server}
    }}
}}
",
            http = http.replace("{prefix}", &d.to_string()),
            server = server.replace("{prefix}", &d.to_string()),
        );
        std::fs::write(p.join("nginx.conf"), conf)?;
        let err = p.join("error.log");
        let mut child = Command::new(exe)
            .arg("-p")
            .arg(p)
            .arg("-e")
            .arg(&err)
            .arg("-c")
            .arg(p.join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect(addr).is_ok() {
                return Ok(Nginx { child, addr, dir });
            }
            let log = || std::fs::read_to_string(&err).unwrap_or_default();
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!(
                    "nginx exited ({status}): {}",
                    log()
                )));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(io::Error::other(format!("nginx did not listen: {}", log())));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
