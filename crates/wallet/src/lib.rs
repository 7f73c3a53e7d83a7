//! BIP86 wallet, CVP carrier transaction building, cost estimates and resumable publishing
