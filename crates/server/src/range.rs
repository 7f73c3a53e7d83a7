//! One HTTP byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`), as players send to seek.

/// Parse a Range header for a body of `len` bytes: the half-open range `[start, end)`, or `None`
/// when it is malformed or not satisfiable.
pub(crate) fn parse(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None; // one range only
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.checked_sub(n.min(len))?, len)
        }
        (s, "") => (s.parse().ok()?, len),
        (s, e) => (
            s.parse().ok()?,
            e.parse::<u64>().ok()?.checked_add(1)?.min(len),
        ),
    };
    (start < end && end <= len).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn ranges() {
        assert_eq!(parse("bytes=0-99", 1000), Some((0, 100)));
        assert_eq!(parse("bytes=900-", 1000), Some((900, 1000)));
        assert_eq!(parse("bytes=-100", 1000), Some((900, 1000)));
        assert_eq!(parse("bytes=0-5000", 1000), Some((0, 1000)));
        assert_eq!(parse("bytes=1000-", 1000), None);
        assert_eq!(parse("bytes=5-2", 1000), None);
        assert_eq!(parse("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse("items=0-1", 1000), None);
        assert_eq!(parse("bytes=99999999999999999999-", 1000), None);
    }
}
