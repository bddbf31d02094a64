//! The layout of one testbed, decided before anything is created: each node's container,
//! volume, static IP (from the network's subnet) and published host port. Pure, apart from
//! [`check_ports_free`] and [`free_ports`], which only bind and release loopback sockets.
//!
//! Static IPs are what let a node certificate carry the container's IP as a SAN, and let a
//! node reconnected after a partition come back with the same address.

use std::fmt;
use std::net::{Ipv4Addr, TcpListener};
use std::str::FromStr;

use crate::names::{NodeCount, NodeId, TestbedName};

/// Port the servers' API listens on inside the containers.
pub const API_PORT: u16 = 8200;
/// Port of the servers' cluster (raft, forwarding) listener inside the containers.
pub const CLUSTER_PORT: u16 = 8201;
/// Port the audit sink listens on.
pub const SINK_PORT: u16 = 9090;
/// Base of the published ports of the default testbed: node `i` is on `127.0.0.1:18200+i`.
pub const DEFAULT_BASE_PORT: u16 = 18200;
/// Host offset of the audit sink inside the subnet (`.10`); node `i` gets `.10+i`.
const SINK_HOST: u32 = 10;
/// Host offset of the transit unsealer inside the subnet (`.9`).
const UNSEALER_HOST: u32 = 9;

/// An IPv4 subnet as Docker reports it (`172.18.0.0/16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    base: Ipv4Addr,
    prefix: u8,
}

/// A subnet string that cannot be used for a testbed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable network subnet {subnet:?}: {reason}")]
pub struct InvalidSubnet {
    pub subnet: String,
    pub reason: String,
}

impl Subnet {
    /// The subnet's first address (network address).
    pub fn base(&self) -> Ipv4Addr {
        self.base
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The gateway Docker uses by default: the first host address.
    pub fn gateway(&self) -> Ipv4Addr {
        self.host(1)
    }

    /// The `n`-th address after the base.
    fn host(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + n)
    }

    /// The audit sink's address (`.10`).
    pub fn sink_ip(&self) -> Ipv4Addr {
        self.host(SINK_HOST)
    }

    /// The transit unsealer's address (`.9`).
    pub fn unsealer_ip(&self) -> Ipv4Addr {
        self.host(UNSEALER_HOST)
    }

    /// Node `id`'s address (`.11`, `.12`, …).
    pub fn node_ip(&self, id: NodeId) -> Ipv4Addr {
        self.host(SINK_HOST + u32::from(id.number()))
    }
}

impl FromStr for Subnet {
    type Err = InvalidSubnet;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| InvalidSubnet {
            subnet: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (ip, prefix) = s
            .split_once('/')
            .ok_or_else(|| bad("expected ADDRESS/PREFIX"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| bad("not an IPv4 address"))?;
        let prefix: u8 = prefix.parse().map_err(|_| bad("bad prefix length"))?;
        // Room for the gateway, the sink and 7 nodes below the broadcast address.
        if !(8..=27).contains(&prefix) {
            return Err(bad("prefix must be between /8 and /27"));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Self {
            base: Ipv4Addr::from(u32::from(ip) & mask),
            prefix,
        })
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// How the nodes' API ports are published on 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortPlan {
    /// Node `i` on `base + i` (the default testbed uses [`DEFAULT_BASE_PORT`]).
    Base(u16),
    /// Ports the OS reports free right now (tests: never collide with a user's testbed).
    Free,
}

impl PortPlan {
    /// The default for a testbed: fixed ports for the default name, free ports otherwise, so
    /// a second testbed never collides with the first.
    pub fn default_for(name: &TestbedName) -> Self {
        if name.is_default() {
            PortPlan::Base(DEFAULT_BASE_PORT)
        } else {
            PortPlan::Free
        }
    }
}

/// A port plan that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("base port {base} + {nodes} nodes goes past 65535: pass a smaller --base-port")]
    OutOfRange { base: u16, nodes: usize },
    #[error("port 127.0.0.1:{port} for {node} is already in use ({reason}): stop what uses it (`ss -ltnp | grep {port}`), or pass another --base-port, or another --name")]
    InUse {
        node: String,
        port: u16,
        reason: String,
    },
    #[error("could not find a free port on 127.0.0.1: {0}")]
    NoFreePort(String),
}

/// Host ports for `count` nodes under `plan`. [`PortPlan::Free`] asks the OS (see
/// [`free_ports`]); [`PortPlan::Base`] is pure arithmetic.
pub fn host_ports(plan: PortPlan, count: NodeCount) -> Result<Vec<u16>, PortError> {
    match plan {
        PortPlan::Base(base) => count
            .ids()
            .map(|id| {
                base.checked_add(u16::from(id.number()))
                    .ok_or(PortError::OutOfRange {
                        base,
                        nodes: count.get(),
                    })
            })
            .collect(),
        PortPlan::Free => free_ports(count.get()),
    }
}

/// Host ports for `count` nodes and, when `unsealer` is set, one more for the transit
/// unsealer: `base + 0` under [`PortPlan::Base`] (node `i` has `base + i`), another free port
/// under [`PortPlan::Free`] (chosen together with the nodes' so it differs from them).
pub fn host_ports_with_unsealer(
    plan: PortPlan,
    count: NodeCount,
    unsealer: bool,
) -> Result<(Vec<u16>, Option<u16>), PortError> {
    if !unsealer {
        return host_ports(plan, count).map(|p| (p, None));
    }
    match plan {
        PortPlan::Base(base) => Ok((host_ports(plan, count)?, Some(base))),
        PortPlan::Free => {
            let mut ports = free_ports(count.get() + 1)?;
            let extra = ports.pop();
            Ok((ports, extra))
        }
    }
}

/// `n` distinct ports that were free on 127.0.0.1 a moment ago ([`vaultops_fs::free_loopback_ports`]: below
/// the ephemeral range, never one this process handed out before).
pub fn free_ports(n: usize) -> Result<Vec<u16>, PortError> {
    vaultops_fs::free_loopback_ports(n).map_err(|e| PortError::NoFreePort(e.to_string()))
}

/// Fails with [`PortError::InUse`] for the first port something already listens on; the
/// first element of each pair names who needs the port (`node2`, `unsealer`).
pub fn check_ports_free(ports: &[(String, u16)]) -> Result<(), PortError> {
    for (node, port) in ports {
        if let Err(e) = TcpListener::bind((Ipv4Addr::LOCALHOST, *port)) {
            return Err(PortError::InUse {
                node: node.to_string(),
                port: *port,
                reason: e.to_string(),
            });
        }
    }
    Ok(())
}

/// One node's planned resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePlan {
    pub id: NodeId,
    /// `vaultops-<name>-node<i>`.
    pub container: String,
    /// `vaultops-<name>-node<i>-data`.
    pub volume: String,
    /// Static address on the testbed network.
    pub ip: Ipv4Addr,
    /// Published API port on 127.0.0.1.
    pub host_port: u16,
}

impl NodePlan {
    /// `https://127.0.0.1:<port>`: how the host reaches this node.
    pub fn host_addr(&self) -> String {
        format!("https://127.0.0.1:{}", self.host_port)
    }

    /// `https://node<i>:8200`: how the other nodes reach it (its `api_addr`).
    pub fn api_addr(&self) -> String {
        format!("https://{}:{API_PORT}", self.id.hostname())
    }

    /// `https://node<i>:8201`.
    pub fn cluster_addr(&self) -> String {
        format!("https://{}:{CLUSTER_PORT}", self.id.hostname())
    }
}

/// The transit unsealer's planned resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsealerPlan {
    /// `vaultops-<name>-unsealer`.
    pub container: String,
    /// `vaultops-<name>-unsealer-data`.
    pub volume: String,
    /// Static address on the testbed network (`.9`).
    pub ip: Ipv4Addr,
    /// Published API port on 127.0.0.1 (the testbed prepares the unsealer through it).
    pub host_port: u16,
}

impl UnsealerPlan {
    /// `https://127.0.0.1:<port>`.
    pub fn host_addr(&self) -> String {
        format!("https://127.0.0.1:{}", self.host_port)
    }
}

/// Every node's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub name: TestbedName,
    pub subnet: Subnet,
    pub nodes: Vec<NodePlan>,
    /// The transit unsealer, for a `--seal transit` testbed.
    pub unsealer: Option<UnsealerPlan>,
    /// Render `disable_standby_reads = true` (OpenBao): standbys forward reads to the active
    /// node. Off by default, as in OpenBao; set at creation only.
    pub disable_standby_reads: bool,
}

impl Plan {
    /// Lays out `ports.len()` nodes on `subnet`.
    pub fn new(name: &TestbedName, subnet: Subnet, ports: &[u16]) -> Self {
        let nodes = ports
            .iter()
            .enumerate()
            .map(|(i, port)| {
                let id = NodeId::from_index(i).expect("a NodeCount never exceeds MAX_NODES");
                NodePlan {
                    id,
                    container: name.node_container(id),
                    volume: name.node_volume(id),
                    ip: subnet.node_ip(id),
                    host_port: *port,
                }
            })
            .collect();
        Self {
            name: name.clone(),
            subnet,
            nodes,
            unsealer: None,
            disable_standby_reads: false,
        }
    }

    /// The same layout with a transit unsealer published on `host_port`.
    pub fn with_unsealer(mut self, host_port: u16) -> Self {
        self.unsealer = Some(UnsealerPlan {
            container: self.name.unsealer_container(),
            volume: self.name.unsealer_volume(),
            ip: self.subnet.unsealer_ip(),
            host_port,
        });
        self
    }

    /// `audit-sink:9090`: the sink's network alias, not its IP. The audit table travels
    /// inside raft snapshots, and a restored cluster refuses to become active when a
    /// declared device's options differ from the snapshot's (measured: "modifications to
    /// audit devices are not allowed … address differs"); every testbed has its own subnet,
    /// so only a name makes snapshots portable between testbeds.
    pub fn sink_addr(&self) -> String {
        format!("audit-sink:{SINK_PORT}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_parsing_and_addresses() {
        let s: Subnet = "172.18.0.0/16".parse().unwrap();
        assert_eq!(s.to_string(), "172.18.0.0/16");
        assert_eq!(s.gateway(), Ipv4Addr::new(172, 18, 0, 1));
        assert_eq!(s.sink_ip(), Ipv4Addr::new(172, 18, 0, 10));
        let n3 = NodeId::new(3).unwrap();
        assert_eq!(s.node_ip(n3), Ipv4Addr::new(172, 18, 0, 13));
        // A host address is normalised to the network address.
        let s: Subnet = "10.1.2.77/24".parse().unwrap();
        assert_eq!(s.base(), Ipv4Addr::new(10, 1, 2, 0));
        assert_eq!(
            s.node_ip(NodeId::new(7).unwrap()),
            Ipv4Addr::new(10, 1, 2, 17)
        );
        for bad in [
            "172.18.0.0",
            "x/16",
            "172.18.0.0/x",
            "172.18.0.0/28",
            "fd00::/64",
        ] {
            assert!(bad.parse::<Subnet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn base_ports_are_consecutive_from_base_plus_one() {
        let three = NodeCount::new(3).unwrap();
        assert_eq!(
            host_ports(PortPlan::Base(18200), three).unwrap(),
            [18201, 18202, 18203]
        );
        let e = host_ports(PortPlan::Base(65534), three).unwrap_err();
        assert!(matches!(e, PortError::OutOfRange { .. }), "{e}");
        assert_eq!(
            PortPlan::default_for(&TestbedName::default_name()),
            PortPlan::Base(DEFAULT_BASE_PORT)
        );
        assert_eq!(
            PortPlan::default_for(&TestbedName::new("t1").unwrap()),
            PortPlan::Free
        );
    }

    #[test]
    fn free_ports_are_distinct_and_a_taken_port_is_reported() {
        let ports = host_ports(PortPlan::Free, NodeCount::new(5).unwrap()).unwrap();
        let mut dedup = ports.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), 5);

        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let node = "node2".to_owned();
        let e = check_ports_free(&[(node.clone(), port)]).unwrap_err();
        assert!(
            matches!(&e, PortError::InUse { node, port: p, .. } if node == "node2" && *p == port),
            "{e}"
        );
        assert!(e.to_string().contains("--base-port"), "{e}");
        drop(taken);
        check_ports_free(&[(node, port)]).unwrap();
    }

    #[test]
    fn the_unsealer_gets_base_plus_zero_or_another_free_port() {
        let three = NodeCount::new(3).unwrap();
        assert_eq!(
            host_ports_with_unsealer(PortPlan::Base(18200), three, true).unwrap(),
            (vec![18201, 18202, 18203], Some(18200))
        );
        assert_eq!(
            host_ports_with_unsealer(PortPlan::Base(18200), three, false).unwrap(),
            (vec![18201, 18202, 18203], None)
        );
        let (nodes, u) = host_ports_with_unsealer(PortPlan::Free, three, true).unwrap();
        let u = u.unwrap();
        assert_eq!(nodes.len(), 3);
        assert!(!nodes.contains(&u), "{nodes:?} {u}");
    }

    #[test]
    fn plan_assigns_names_ips_and_ports() {
        let name = TestbedName::new("dev").unwrap();
        let plan = Plan::new(
            &name,
            "172.20.0.0/16".parse().unwrap(),
            &[18201, 18202, 18203],
        );
        assert_eq!(plan.nodes.len(), 3);
        let n2 = &plan.nodes[1];
        assert_eq!(n2.id.to_string(), "node2");
        assert_eq!(n2.container, "vaultops-dev-node2");
        assert_eq!(n2.volume, "vaultops-dev-node2-data");
        assert_eq!(n2.ip, Ipv4Addr::new(172, 20, 0, 12));
        assert_eq!(n2.host_port, 18202);
        assert_eq!(n2.host_addr(), "https://127.0.0.1:18202");
        assert_eq!(n2.api_addr(), "https://node2:8200");
        assert_eq!(n2.cluster_addr(), "https://node2:8201");
        assert_eq!(plan.sink_addr(), "audit-sink:9090");
        assert!(plan.unsealer.is_none());
        let u = plan.with_unsealer(18200).unsealer.unwrap();
        assert_eq!(u.container, "vaultops-dev-unsealer");
        assert_eq!(u.volume, "vaultops-dev-unsealer-data");
        assert_eq!(u.ip, Ipv4Addr::new(172, 20, 0, 9));
        assert_eq!(u.host_addr(), "https://127.0.0.1:18200");
    }
}
