//! The scan's progress on the terminal: height / tip, blocks per second and the time left.
//! Nothing is drawn under `--json` or when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar made on the first block a poll indexes, so that a poll with nothing to do shows none.
#[derive(Debug)]
pub struct ScanBar {
    quiet: bool,
    bar: Option<ProgressBar>,
}

impl ScanBar {
    /// A bar that stays hidden when `quiet` (`--json`).
    pub fn new(quiet: bool) -> Self {
        ScanBar { quiet, bar: None }
    }

    /// The scanner indexed `p.height`.
    pub fn update(&mut self, p: index::Progress) {
        if self.quiet {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let b = ProgressBar::new(u64::from(p.tip.saturating_sub(p.first)) + 1);
            if let Ok(style) = ProgressStyle::with_template(
                "indexing block {msg} [{bar:30}] {per_sec} ({eta} left)",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        bar.set_position(u64::from(p.height - p.first) + 1);
        bar.set_message(format!("{} / {}", p.height, p.tip));
    }

    /// The poll ended: clear the bar.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
