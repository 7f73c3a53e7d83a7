//! Printing a subcommand's typed output: for people, or as one JSON document with `--json`.

use serde::Serialize;
use std::fmt::Display;

/// Print `out` as JSON (one document on stdout) or in its human form.
pub fn emit<T: Serialize + Display>(json: bool, out: &T) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(out)?);
    } else {
        println!("{out}");
    }
    Ok(())
}
