//! A minimal HTTP/1.1 client over std's `TcpStream`, for the tests and the benchmark of the
//! servers: connections that send nothing, and timed requests.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Serve `app` within `limits` on a free loopback port, from a thread and runtime of its own, for
/// the life of the process; its address.
pub fn serve_on_loopback(app: axum::Router, limits: crate::Limits) -> io::Result<SocketAddr> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let served = tokio::runtime::Runtime::new().and_then(|rt| {
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let _ = tx.send(listener.local_addr());
                crate::serve(listener, app, limits, std::future::pending()).await
            })
        });
        if let Err(e) = served {
            tracing::error!("loopback server: {e}");
        }
    });
    rx.recv()
        .map_err(|_| io::Error::other("the loopback server did not start"))?
}

/// Open `n` connections to `addr` that send nothing.
pub fn silent(addr: SocketAddr, n: usize) -> io::Result<Vec<TcpStream>> {
    (0..n).map(|_| TcpStream::connect(addr)).collect()
}

/// How many of `conns` the server has closed (a read ends or fails instead of waiting).
pub fn closed(conns: &[TcpStream]) -> io::Result<usize> {
    let mut n = 0;
    for mut c in conns {
        c.set_nonblocking(true)?;
        let mut b = [0u8; 1];
        match c.read(&mut b) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            _ => n += 1,
        }
        c.set_nonblocking(false)?;
    }
    Ok(n)
}

/// `GET path` on a new connection (`Connection: close`), within `timeout`: status and body.
pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut r = BufReader::new(s);
    let (status, len) = head(&mut r)?;
    let mut body = Vec::new();
    match len {
        Some(n) => {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        }
        None => {
            r.read_to_end(&mut body)?;
        }
    }
    Ok((status, body))
}

/// The status and Content-Length of a response head.
fn head(r: &mut impl BufRead) -> io::Result<(u16, Option<usize>)> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let mut len = None;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(bad("the head ends early"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            return Ok((status, len));
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = Some(v.trim().parse().map_err(|_| bad("bad content-length"))?);
            }
        }
    }
}

/// One keep-alive connection sending requests one after another (a benchmark's client).
#[derive(Debug)]
pub struct KeepAlive {
    addr: SocketAddr,
    r: BufReader<TcpStream>,
    /// Where bodies are read to and dropped.
    sink: Vec<u8>,
}

impl KeepAlive {
    /// Connect to `addr`.
    pub fn connect(addr: SocketAddr) -> io::Result<KeepAlive> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(KeepAlive {
            addr,
            r: BufReader::with_capacity(64 << 10, s),
            sink: vec![0; 256 << 10],
        })
    }

    /// `GET path`: the status and the body's length (the response must have a Content-Length).
    pub fn get(&mut self, path: &str) -> io::Result<(u16, usize)> {
        self.request(path, "")
    }

    /// `GET path` for bytes `start..=last`: the status and the body's length.
    pub fn get_range(&mut self, path: &str, start: u64, last: u64) -> io::Result<(u16, usize)> {
        self.request(path, &format!("Range: bytes={start}-{last}\r\n"))
    }

    /// `GET path` with `extra` header lines (each ending in CRLF); the body is read and dropped.
    fn request(&mut self, path: &str, extra: &str) -> io::Result<(u16, usize)> {
        write!(
            self.r.get_mut(),
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{extra}\r\n",
            self.addr
        )?;
        let (status, len) = head(&mut self.r)?;
        let len =
            len.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no content-length"))?;
        let (mut left, most) = (len, self.sink.len());
        while left > 0 {
            let n = self.r.read(&mut self.sink[..left.min(most)])?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            left -= n;
        }
        Ok((status, len))
    }
}
