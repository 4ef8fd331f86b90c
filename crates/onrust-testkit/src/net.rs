//! Loopback ports for the servers tests start.

use std::net::TcpListener;

/// A free loopback port: bound and released, so another process can bind it
/// next (good enough for tests; the port is not reserved).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}
