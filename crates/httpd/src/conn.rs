//! One connection: its bookkeeping in the [`Registry`] (for the limit and for choosing whom to
//! close), the I/O wrapper that records progress, and the task that serves it.

use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tower::ServiceExt;

/// What the accept loop knows of one open connection.
#[derive(Debug)]
pub(crate) struct Conn {
    id: u64,
    epoch: Instant,
    /// Milliseconds since `epoch` when a byte last moved, or a handler last finished.
    last_progress: AtomicU64,
    /// Requests in a handler now.
    in_handler: AtomicUsize,
    /// A request reached a handler (a client that never sent one is closed first).
    served: AtomicBool,
    /// Close now (evicted).
    close: Notify,
    /// Finish the request in progress, then close (server shutdown).
    finish: Notify,
}

impl Conn {
    fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_progress.store(ms, Ordering::Relaxed);
    }

    fn quiet_since(&self) -> Instant {
        self.epoch + Duration::from_millis(self.last_progress.load(Ordering::Relaxed))
    }

    fn busy(&self) -> bool {
        self.in_handler.load(Ordering::Relaxed) > 0
    }
}

/// Every open connection.
#[derive(Debug)]
pub(crate) struct Registry {
    epoch: Instant,
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            epoch: Instant::now(),
            next: AtomicU64::new(0),
            open: Mutex::default(),
        }
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        // The map holds no invariant a panicking holder could break.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn open(&self) -> Arc<Conn> {
        let c = Arc::new(Conn {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            epoch: self.epoch,
            last_progress: AtomicU64::new(0),
            in_handler: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            close: Notify::new(),
            finish: Notify::new(),
        });
        c.touch();
        self.lock().insert(c.id, Arc::clone(&c));
        c
    }

    /// Close the connection quiet the longest among those not in a handler, preferring one that
    /// never sent a request; false if every connection is in a handler.
    pub(crate) fn close_quietest(&self) -> bool {
        let mut open = self.lock();
        let victim = open
            .values()
            .filter(|c| !c.busy())
            .min_by_key(|c| {
                (
                    c.served.load(Ordering::Relaxed),
                    c.last_progress.load(Ordering::Relaxed),
                )
            })
            .map(|c| c.id);
        match victim.and_then(|id| open.remove(&id)) {
            Some(c) => {
                c.close.notify_one();
                true
            }
            None => false,
        }
    }

    pub(crate) fn shut_down_all(&self) {
        for c in self.lock().values() {
            c.finish.notify_one();
        }
    }
}

/// Removes its connection from the registry when the task ends.
struct Registered(Arc<Registry>, u64);

impl Drop for Registered {
    fn drop(&mut self) {
        self.0.lock().remove(&self.1);
    }
}

/// A request in a handler.
struct InHandler(Arc<Conn>);

impl InHandler {
    fn enter(c: &Arc<Conn>) -> InHandler {
        c.in_handler.fetch_add(1, Ordering::Relaxed);
        c.served.store(true, Ordering::Relaxed);
        InHandler(Arc::clone(c))
    }
}

impl Drop for InHandler {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_handler.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The socket, recording each byte moved.
struct Tracked {
    stream: TcpStream,
    conn: Arc<Conn>,
}

impl Tracked {
    fn progress<T>(&self, r: Poll<io::Result<T>>, moved: bool) -> Poll<io::Result<T>> {
        if moved {
            self.conn.touch();
        }
        r
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.stream).poll_read(cx, buf);
        let moved = matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before;
        self.progress(r, moved)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write(cx, buf);
        let moved = matches!(r, Poll::Ready(Ok(n)) if n > 0);
        self.progress(r, moved)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        let moved = matches!(r, Poll::Ready(Ok(n)) if n > 0);
        self.progress(r, moved)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Serve one connection until the client is done, it is evicted, it stalls, or the server
/// shuts down.
pub(crate) async fn run(
    stream: TcpStream,
    app: axum::Router,
    http: hyper::server::conn::http1::Builder,
    conn: Arc<Conn>,
    registry: Arc<Registry>,
    idle_timeout: Duration,
) {
    let _registered = Registered(registry, conn.id);
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(Tracked {
        stream,
        conn: Arc::clone(&conn),
    });
    let c = Arc::clone(&conn);
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        let busy = InHandler::enter(&c);
        async move {
            let resp = app.oneshot(req.map(axum::body::Body::new)).await;
            drop(busy);
            resp
        }
    });
    let served = http.serve_connection(io, service);
    tokio::pin!(served);
    let mut finishing = false;
    loop {
        let stall = tokio::time::Instant::from_std(conn.quiet_since() + idle_timeout);
        tokio::select! {
            r = served.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!("connection: {e}");
                }
                return;
            }
            () = conn.close.notified() => return,
            () = conn.finish.notified(), if !finishing => {
                finishing = true;
                served.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(stall) => {
                if !conn.busy() && conn.quiet_since() + idle_timeout <= Instant::now() {
                    tracing::debug!("closing a connection idle for {idle_timeout:?}");
                    return;
                }
                if conn.busy() {
                    // A handler at work is not a stall: look again later.
                    conn.touch();
                }
            }
        }
    }
}
