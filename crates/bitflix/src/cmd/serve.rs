//! `bitflix serve`: scan the chain into a catalog and serve the player.

use anyhow::Context;
use chain::{ChainBackend, ChainSpec};
use clap::Args;
use index::{Catalog, Scanner};
use serde::Serialize;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Serve the catalog and player.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The chain: devnet:DIR or esplora:URL.
    #[arg(long, default_value = "devnet:bitflix-data/devnet")]
    chain: ChainSpec,
    /// The network the chain serves.
    #[arg(long, default_value = "regtest")]
    network: chain::NetworkArg,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

/// What `serve` did once it stopped.
#[derive(Debug, Serialize)]
pub struct ServeOut {
    /// The URL it served.
    pub url: String,
}

impl fmt::Display for ServeOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stopped serving {}", self.url)
    }
}

/// Keep `catalog` in step with `backend` every `every`, on a thread, until the process ends.
pub fn follow(backend: Arc<dyn ChainBackend>, catalog: server::SharedCatalog, every: Duration) {
    let _ = std::thread::Builder::new()
        .name("scanner".into())
        .spawn(move || {
            let mut scanner = Scanner::default();
            loop {
                match catalog.write() {
                    Ok(mut c) => {
                        if let Err(e) = scanner.poll(backend.as_ref(), &mut c) {
                            tracing::warn!("scan: {e}");
                        }
                    }
                    Err(_) => return,
                }
                std::thread::sleep(every);
            }
        });
}

/// Serve until Ctrl-C. Prints the URL first.
pub fn serve_blocking(
    backend: Arc<dyn ChainBackend>,
    listen: SocketAddr,
    announce: impl FnOnce(&str),
) -> anyhow::Result<ServeOut> {
    let catalog: server::SharedCatalog = Arc::new(RwLock::new(Catalog::default()));
    {
        let mut c = catalog
            .write()
            .map_err(|_| anyhow::anyhow!("catalog lock poisoned"))?;
        Scanner::default()
            .poll(backend.as_ref(), &mut c)
            .context("scanning the chain")?;
    }
    follow(backend, Arc::clone(&catalog), Duration::from_secs(2));
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let url = format!("http://{listen}/");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        announce(&url);
        server::serve(listener, catalog, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
    })?;
    Ok(ServeOut { url })
}

pub fn run(args: ServeArgs) -> anyhow::Result<ServeOut> {
    let backend = crate::backend::open(&args.chain, args.network.into())?;
    serve_blocking(backend, args.listen, |url| {
        println!("serving {url} (Ctrl-C to stop)")
    })
}
