//! `bitflix extract`: a CVPM stream (a file, or a content id in the index) to a WebM or MP4 file
//! players read; any other content from the index as it was published, a bundle unpacked into a
//! directory.

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// Turn a CVPM stream into a WebM or MP4 file (AV1 + Opus, packets copied; codec2 audio is
/// transcoded to Opus).
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// A .cvpm file, or a content id known to the index in DATADIR.
    content: String,
    /// The file to write: MP4 for a .mp4/.m4v/.mov name, WebM otherwise.
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
    /// "webm" or "mp4".
    pub container: &'static str,
}

impl fmt::Display for ExtractOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "wrote {} ({} bytes, {})",
            self.output.display(),
            self.bytes,
            self.container
        )
    }
}

pub fn run(g: &super::Global, args: ExtractArgs) -> anyhow::Result<ExtractOut> {
    // A content of another kind than CVPM: its declared type, from the index.
    let mut other = None;
    let bytes = if std::path::Path::new(&args.content).exists() {
        std::fs::read(&args.content).with_context(|| format!("reading {}", args.content))?
    } else {
        let id: bitcoin::Txid = args
            .content
            .parse()
            .with_context(|| format!("'{}' is neither a file nor a content id", args.content))?;
        let ix = index::Indexer::open(&g.datadir.join("index.redb"))?;
        let snap = ix.snapshot();
        let s = snap.summary(&id).with_context(|| {
            format!("content {id} is not in the index (run `bitflix index` first)")
        })?;
        anyhow::ensure!(
            matches!(
                s.state,
                index::ContentState::Complete | index::ContentState::Verified
            ),
            "content {id} cannot be extracted yet: {} of {} segments verified",
            s.segments_verified,
            s.header.segment_count.map_or("?".into(), |c| c.to_string())
        );
        let media_type = s.header.media_type.split(';').next().unwrap_or("").trim();
        if media_type != "video/x-cvpm" {
            other = Some(media_type.to_string());
        }
        snap.read_all(&id)
            .with_context(|| format!("reading content {id} from the index"))?
    };
    if let Some(kind) = other {
        return other_content(&bytes, kind, args.output);
    }
    let stream =
        media::format::Stream::decode(&bytes).context("the content is not a CVPM stream")?;
    let container = media::rewrap::Container::for_path(&args.output);
    media::rewrap::to_file(&stream, &args.output, container)?;
    let bytes = std::fs::metadata(&args.output)?.len();
    Ok(ExtractOut {
        output: args.output,
        bytes,
        container: match container {
            media::rewrap::Container::WebM => "webm",
            media::rewrap::Container::Mp4 => "mp4",
        },
    })
}

/// Any other content: a bundle unpacked into the directory `output`, anything else written as
/// it is.
fn other_content(bytes: &[u8], kind: String, output: PathBuf) -> anyhow::Result<ExtractOut> {
    if kind == cvp::bundle::BUNDLE_MEDIA_TYPE {
        let n = crate::bundle::unpack(bytes, &output)?;
        return Ok(ExtractOut {
            output,
            bytes: bytes.len() as u64,
            container: if n == 1 { "bundle (1 file)" } else { "bundle" },
        });
    }
    durable::write(&output, bytes).with_context(|| format!("writing {}", output.display()))?;
    Ok(ExtractOut {
        output,
        bytes: bytes.len() as u64,
        container: "raw",
    })
}
