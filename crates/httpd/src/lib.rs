//! The accept loop of both HTTP servers (the gateway and the devnet's Esplora API), so that no
//! client can lock the others out:
//!
//! - at most [`Limits::max_connections`] connections are open at once (well below the usual
//!   1,024 file descriptors); when full, the connection that has been quiet longest (no handler
//!   running, no byte moved) is closed to admit the new one, one that never sent a request
//!   first, and when every connection is busy in a handler the new one is refused at once;
//! - a client must send a request's head within [`Limits::header_read_timeout`] of the connection
//!   being ready for one: on a new connection and between keep-alive requests (hyper's timer);
//! - a connection where no byte moved for [`Limits::idle_timeout`] while no handler runs (a
//!   client that stopped reading its response) is closed;
//! - out of file descriptors, the loop closes the quietest connection and keeps accepting.
//!
//! [`probe`] is a minimal HTTP/1.1 client for tests and benchmarks.

mod conn;
pub mod probe;

use conn::Registry;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// The limits a server runs with.
#[derive(Debug, Clone)]
pub struct Limits {
    max_connections: usize,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    shutdown_grace: Duration,
}

impl Default for Limits {
    /// 256 connections, 10 s to send a request head, 30 s without progress, 10 s to finish at
    /// shutdown.
    fn default() -> Self {
        Limits {
            max_connections: 256,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// Connections open at once (at least 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Time a client has to send a request's head once the connection is ready for one.
    pub fn header_read_timeout(mut self, t: Duration) -> Self {
        self.header_read_timeout = t;
        self
    }

    /// Time without a byte moved, while no handler runs, before a connection is closed.
    pub fn idle_timeout(mut self, t: Duration) -> Self {
        self.idle_timeout = t;
        self
    }

    /// Time the connections get to finish at shutdown.
    pub fn shutdown_grace(mut self, t: Duration) -> Self {
        self.shutdown_grace = t;
        self
    }
}

/// Serve `app` on `listener` within `limits` until `shutdown` resolves; then stop accepting, let
/// each connection finish its request (for [`Limits::shutdown_grace`] at most) and return.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let registry = Arc::new(Registry::default());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while tasks.try_join_next().is_some() {}
        let stream = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    if out_of_files(&e) {
                        registry.close_quietest();
                    }
                    tracing::debug!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        };
        if registry.len() >= limits.max_connections && !registry.close_quietest() {
            tracing::debug!("every connection is busy: refusing one");
            drop(stream);
            continue;
        }
        let c = registry.open();
        tasks.spawn(conn::run(
            stream,
            app.clone(),
            http.clone(),
            c,
            Arc::clone(&registry),
            limits.idle_timeout,
        ));
    }
    registry.shut_down_all();
    let finish = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace, finish)
        .await
        .is_err()
    {
        tasks.abort_all();
    }
    Ok(())
}

fn out_of_files(e: &std::io::Error) -> bool {
    let raw = e.raw_os_error();
    raw == Some(rustix::io::Errno::MFILE.raw_os_error())
        || raw == Some(rustix::io::Errno::NFILE.raw_os_error())
}

/// Raise this process's soft limit on open files to its hard limit; returns the new soft limit.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: lim.maximum,
                maximum: lim.maximum,
            },
        )?;
    }
    Ok(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
}
