//! `bitflix extract`: a CVPM stream (a file, or a content id in the index) to a WebM players read.

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// Turn a CVPM stream into a WebM file (AV1 + Opus, packets copied, nothing re-encoded).
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// A .cvpm file, or a content id known to the index in DATADIR.
    content: String,
    /// The WebM to write.
    #[arg(short, long)]
    output: PathBuf,
}

/// The extract's result.
#[derive(Debug, Serialize)]
pub struct ExtractOut {
    /// The file written.
    pub output: PathBuf,
    /// Its size.
    pub bytes: u64,
}

impl fmt::Display for ExtractOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wrote {} ({} bytes)", self.output.display(), self.bytes)
    }
}

pub fn run(g: &super::Global, args: ExtractArgs) -> anyhow::Result<ExtractOut> {
    let bytes = if std::path::Path::new(&args.content).exists() {
        std::fs::read(&args.content).with_context(|| format!("reading {}", args.content))?
    } else {
        let id: bitcoin::Txid = args
            .content
            .parse()
            .with_context(|| format!("'{}' is neither a file nor a content id", args.content))?;
        let ix = index::Indexer::open(&g.datadir.join("index.redb"))?;
        let c = ix.catalog.get(&id).with_context(|| {
            format!("content {id} is not in the index (run `bitflix index` first)")
        })?;
        c.assembler
            .finish()
            .map_err(|e| anyhow::anyhow!("content {id} cannot be extracted yet: {e}"))?
    };
    let stream =
        media::format::Stream::decode(&bytes).context("the content is not a CVPM stream")?;
    media::rewrap::to_webm(&stream, &args.output)?;
    let bytes = std::fs::metadata(&args.output)?.len();
    Ok(ExtractOut {
        output: args.output,
        bytes,
    })
}
