//! Loopback ports for the servers this process starts itself (the scratch server of a restore
//! check, test clusters, the testbed's published ports): the one way such a port is chosen.
//!
//! A port is chosen by binding it on 127.0.0.1 and releasing it for the server to bind. Two
//! things can hand the same port to two servers, and both have happened:
//! - the OS gives a just-released port to the next `bind(0)`, so two calls in a row (two nodes
//!   of one cluster, two tests on parallel threads) can get the same port;
//! - ports from `bind(0)` come from the ephemeral range, the same range every outgoing
//!   connection (raft between nodes, a client's request) draws its local port from, so a busy
//!   process can take the port between its release and the server's bind.
//!
//! So ports are taken below the ephemeral range (read from
//! `/proc/sys/net/ipv4/ip_local_port_range`; `bind(0)` where that is unreadable), each is
//! checked free by binding it, all listeners of one call are held until every port is chosen,
//! and this process never hands out the same port twice.

use std::collections::BTreeSet;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Mutex, PoisonError};

/// The lowest port chosen from (below it: well-known services a developer may run).
const FLOOR: u16 = 10_000;

/// Ports this process has handed out; never handed out again.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// `n` distinct ports on 127.0.0.1 that were free a moment ago and that this process has not
/// handed out before. Errors only when no such port is left (the message says which range
/// was searched).
pub fn free_loopback_ports(n: usize) -> io::Result<Vec<u16>> {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let held = match below_ephemeral_range() {
        Some(range) => {
            // Start at a per-process offset, so parallel processes (two test binaries, two
            // developers' testbeds) rarely probe the same ports.
            let start = std::process::id()
                .wrapping_mul(7919)
                .wrapping_add(now_nanos());
            let held = choose_in(range, start, n, &handed_out);
            if held.len() < n {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "no {n} free loopback ports left in {}..{} (below the ephemeral range)",
                        range.0, range.1
                    ),
                ));
            }
            held
        }
        None => choose_by_os(n, &handed_out)?,
    };
    let ports: Vec<u16> = held.iter().map(|(p, _)| *p).collect();
    handed_out.extend(ports.iter().copied());
    Ok(ports)
}

/// Up to `n` ports of `[range.0, range.1)` not in `skip` that bind now, probed from offset
/// `start`; each comes with its listener, held by the caller until all are chosen.
fn choose_in(
    range: (u16, u16),
    start: u32,
    n: usize,
    skip: &BTreeSet<u16>,
) -> Vec<(u16, TcpListener)> {
    let span = u32::from(range.1.saturating_sub(range.0));
    let mut held = Vec::with_capacity(n);
    for i in 0..span {
        if held.len() == n {
            break;
        }
        let Ok(offset) = u16::try_from(start.wrapping_add(i) % span) else {
            continue;
        };
        let port = range.0 + offset;
        if skip.contains(&port) {
            continue;
        }
        if let Ok(l) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            held.push((port, l));
        }
    }
    held
}

/// `n` ports picked by the OS (`bind(0)`), skipping those in `skip`: their listeners are held
/// too, so the OS moves on to other ports.
fn choose_by_os(n: usize, skip: &BTreeSet<u16>) -> io::Result<Vec<(u16, TcpListener)>> {
    let mut held = Vec::with_capacity(n);
    let mut skipped = Vec::new();
    while held.len() < n {
        if skipped.len() > 1000 {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("no {n} free loopback ports that were not handed out before"),
            ));
        }
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = l.local_addr()?.port();
        if skip.contains(&port) {
            skipped.push(l);
        } else {
            held.push((port, l));
        }
    }
    Ok(held)
}

/// One port; see [`free_loopback_ports`].
pub fn free_loopback_port() -> io::Result<u16> {
    Ok(free_loopback_ports(1)?[0])
}

/// `[FLOOR, low)` where `low` starts the kernel's ephemeral range; `None` when the range cannot
/// be read or leaves fewer than 1000 ports below it.
fn below_ephemeral_range() -> Option<(u16, u16)> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let low: u16 = text.split_whitespace().next()?.parse().ok()?;
    (low > FLOOR + 1000).then_some((FLOOR, low))
}

fn now_nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_across_calls_and_free() {
        let mut seen = BTreeSet::new();
        for _ in 0..50 {
            let p = free_loopback_port().unwrap();
            assert!(seen.insert(p), "port {p} handed out twice");
            TcpListener::bind((Ipv4Addr::LOCALHOST, p)).expect("a handed-out port is free");
        }
        let many = free_loopback_ports(20).unwrap();
        assert_eq!(many.iter().collect::<BTreeSet<_>>().len(), 20);
        assert!(many.iter().all(|p| !seen.contains(p)));
    }

    #[test]
    fn ports_avoid_the_ephemeral_range_where_it_is_known() {
        let Some((floor, low)) = below_ephemeral_range() else {
            return;
        };
        for p in free_loopback_ports(10).unwrap() {
            assert!((floor..low).contains(&p), "{p} outside {floor}..{low}");
        }
    }

    #[test]
    fn a_port_that_is_taken_or_was_handed_out_is_skipped() {
        // Three adjacent ports from the chooser itself (free now), one taken by a listener and
        // one marked handed out: only the third can be chosen.
        let base = loop {
            let p = free_loopback_port().unwrap();
            if p < u16::MAX - 3
                && (1..3).all(|i| TcpListener::bind((Ipv4Addr::LOCALHOST, p + i)).is_ok())
            {
                break p;
            }
        };
        let _taken = TcpListener::bind((Ipv4Addr::LOCALHOST, base)).unwrap();
        let skip = BTreeSet::from([base + 1]);
        let got: Vec<u16> = choose_in((base, base + 3), 0, 3, &skip)
            .iter()
            .map(|(p, _)| *p)
            .collect();
        assert_eq!(got, vec![base + 2]);
        let by_os: Vec<u16> = choose_by_os(3, &BTreeSet::from([base + 2]))
            .unwrap()
            .iter()
            .map(|(p, _)| *p)
            .collect();
        assert_eq!(by_os.len(), 3);
        assert!(!by_os.contains(&(base + 2)) && !by_os.contains(&base));
    }
}
