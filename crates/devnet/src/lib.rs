//! An embedded regtest chain validated by libbitcoinkernel, with a mempool and an Esplora HTTP API
