//! Why a record could not be decoded. Every flaw a hostile or broken record can have has a name.

/// A decoding failure. Messages are lower-case and name the flaw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The data does not start with the CVP magic `CV`.
    #[error("not a cvp record (no magic)")]
    NotCvp,
    /// The magic is there but the version is not one this reader speaks.
    #[error("unsupported cvp version {0}")]
    UnsupportedVersion(u8),
    /// The data ends in the middle of a field.
    #[error("truncated: {0} runs past the end")]
    Truncated(&'static str),
    /// A varint uses more bytes than needed (every value has exactly one encoding).
    #[error("non-minimal varint")]
    NonMinimalVarint,
    /// A varint does not fit in 64 bits.
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    /// A record type this reader does not know, and even (so it must not be ignored).
    #[error("unknown even record type {0}")]
    UnknownEvenType(u64),
    /// A field tag this reader does not know, and even (so it must not be ignored).
    #[error("unknown even tag {tag} in {record}")]
    UnknownEvenTag {
        /// The record being decoded.
        record: &'static str,
        /// The tag.
        tag: u64,
    },
    /// Tags must be strictly increasing, each at most once.
    #[error("tag {tag} after tag {previous}: tags must be strictly increasing")]
    TagsOutOfOrder {
        /// The tag before.
        previous: u64,
        /// The offending tag.
        tag: u64,
    },
    /// A required field is absent.
    #[error("missing field: {0}")]
    MissingField(&'static str),
    /// A text field is not UTF-8.
    #[error("{0} is not valid utf-8")]
    InvalidUtf8(&'static str),
    /// A number is outside the range this protocol allows.
    #[error("{field} is {value}, the valid range is {min}..={max}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value found.
        value: u64,
        /// The smallest valid value.
        min: u64,
        /// The largest valid value.
        max: u64,
    },
    /// A fixed-size field has the wrong length.
    #[error("{field} is {len} bytes, expected {expected}")]
    BadLength {
        /// The field.
        field: &'static str,
        /// The length found.
        len: usize,
        /// The length required.
        expected: usize,
    },
    /// Bytes follow the end of a record whose layout ends earlier.
    #[error("{count} trailing bytes after {record}")]
    TrailingBytes {
        /// The record.
        record: &'static str,
        /// How many bytes are left over.
        count: usize,
    },
    /// Fields that contradict each other.
    #[error("inconsistent header: {0}")]
    Inconsistent(&'static str),
}
