//! A directory as a bundle (docs/cvp.md, "Bundles"): `bitflix publish DIR` packs its files (the
//! entry page `index.html` first, then every other file by path), and `bitflix extract ID -o DIR/`
//! unpacks one. Each file's type is the one the gateway serves it with (by extension). And the
//! media type any file is published as ([`media_type_of`]).

use anyhow::{bail, Context};
use cvp::bundle::{valid_path, Bundle, MAX_FILES};
use std::path::{Path, PathBuf};

/// The entry page every bundle directory needs.
pub const ENTRY: &str = "index.html";

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let rel = path
            .strip_prefix(root)
            .context("a path outside the bundle")?
            .to_str()
            .with_context(|| format!("{} is not a UTF-8 path", path.display()))?
            .replace(std::path::MAIN_SEPARATOR, "/");
        if meta.file_type().is_symlink() {
            bail!("{rel} is a symbolic link: a bundle holds files, copy the file itself");
        } else if meta.is_dir() {
            walk(root, &path, out)?;
        } else {
            if !valid_path(&rel) {
                bail!("{rel}: not a bundle path (1 to 255 bytes, no '\\', '?', '#', '.' or '..' segments, no control characters)");
            }
            out.push((rel, path));
        }
    }
    Ok(())
}

/// The bundle stream of `dir`: `index.html` first, then the other files in path order.
pub fn from_dir(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let mut found = Vec::new();
    walk(dir, dir, &mut found)?;
    let Some(at) = found.iter().position(|(p, _)| p == ENTRY) else {
        bail!(
            "{} has no {ENTRY}: a bundle's entry page is the index.html at its top",
            dir.display()
        );
    };
    let entry = found.remove(at);
    found.insert(0, entry);
    if found.len() as u64 > MAX_FILES {
        bail!(
            "{} holds {} files; a bundle holds at most {MAX_FILES}",
            dir.display(),
            found.len()
        );
    }
    let mut files = Vec::new();
    for (rel, path) in found {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        files.push((rel.clone(), server::bundle_type(&rel).to_string(), bytes));
    }
    Ok(Bundle { files }.encode())
}

/// Write the files of bundle `stream` under `dir` (created); the number written.
pub fn unpack(stream: &[u8], dir: &Path) -> anyhow::Result<usize> {
    let b = Bundle::decode(stream).context("the content is not a valid bundle")?;
    for (rel, _, bytes) in &b.files {
        // Every path was checked by the decoder: relative, no '.' or '..' segments.
        let to = dir.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&to, bytes).with_context(|| format!("writing {}", to.display()))?;
    }
    Ok(b.files.len())
}

/// The media type a file is published as, by its extension (a directory is a bundle); the
/// gateway serves by fixed tables whatever is declared.
pub fn media_type_of(path: &Path) -> &'static str {
    if path.is_dir() {
        return cvp::bundle::BUNDLE_MEDIA_TYPE;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        Some("cvpm") => "video/x-cvpm",
        Some("ogg" | "opus") => "audio/ogg",
        Some("mp3") => "audio/mpeg",
        Some("wav") => "audio/wav",
        Some("flac") => "audio/flac",
        Some("html" | "htm") => "text/html",
        Some("txt" | "md") => "text/plain",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("avif") => "image/avif",
        _ => "application/octet-stream",
    }
}
