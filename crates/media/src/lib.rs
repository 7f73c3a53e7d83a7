//! Encoding to a byte budget (AV1/Opus/codec2) and rewrapping CVP streams to WebM/MP4
