//! Block scanner and redb index of CVP content
