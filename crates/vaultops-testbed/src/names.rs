//! Names and labels of everything a testbed creates, and the validated inputs they are built
//! from ([`TestbedName`], [`NodeCount`], [`NodeId`]). Pure: no Docker, no I/O.
//!
//! Every Docker object carries the label `vaultops.testbed=<name>`; `down` finds what to remove
//! by that label only, so it never touches anything it did not create.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// Label key holding the testbed name on every container, network and volume.
pub const LABEL_TESTBED: &str = "vaultops.testbed";
/// Label key saying what a container is: [`ROLE_NODE`] or [`ROLE_AUDIT_SINK`].
pub const LABEL_ROLE: &str = "vaultops.role";
/// Label key holding a node container's node id (`node1`, …).
pub const LABEL_NODE: &str = "vaultops.node";
/// Label key holding the engine (`openbao` or `vault`) of a node container.
pub const LABEL_ENGINE: &str = "vaultops.engine";
/// Label key holding the seal (`shamir`, `transit`, `static`) of a node container.
pub const LABEL_SEAL: &str = "vaultops.seal";
/// [`LABEL_ROLE`] value of a server node.
pub const ROLE_NODE: &str = "node";
/// [`LABEL_ROLE`] value of the audit sink.
pub const ROLE_AUDIT_SINK: &str = "audit-sink";
/// [`LABEL_ROLE`] value of the transit unsealer.
pub const ROLE_UNSEALER: &str = "unsealer";

/// The name used when none is given.
pub const DEFAULT_NAME: &str = "default";
/// Longest testbed name accepted: container names stay readable and well under Docker's limits.
pub const MAX_NAME_LEN: usize = 40;
/// Most nodes a testbed may have.
pub const MAX_NODES: u8 = 7;

/// A testbed name: 1 to [`MAX_NAME_LEN`] characters of `a-z`, `0-9` and `-`, starting with a
/// letter or digit. It becomes part of container, network and volume names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TestbedName(String);

/// A testbed name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid testbed name {name:?}: {reason}; use 1-{MAX_NAME_LEN} characters a-z, 0-9 and '-', starting with a letter or digit (e.g. --name dev2)")]
pub struct InvalidName {
    pub name: String,
    pub reason: &'static str,
}

impl TestbedName {
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidName> {
        let name = name.into();
        let bad = |reason| {
            Err(InvalidName {
                name: name.clone(),
                reason,
            })
        };
        if name.is_empty() {
            return bad("it is empty");
        }
        if name.len() > MAX_NAME_LEN {
            return bad("it is too long");
        }
        if name.starts_with('-') {
            return bad("it starts with '-'");
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return bad("it contains a character other than a-z, 0-9 and '-'");
        }
        Ok(Self(name))
    }

    /// The default testbed (`default`).
    pub fn default_name() -> Self {
        Self(DEFAULT_NAME.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is [`DEFAULT_NAME`], which gets the fixed default ports.
    pub fn is_default(&self) -> bool {
        self.0 == DEFAULT_NAME
    }

    /// `vaultops-<name>`: the network's name and the prefix of every other object.
    pub fn network(&self) -> String {
        format!("vaultops-{}", self.0)
    }

    /// `vaultops-<name>-node<i>`.
    pub fn node_container(&self, node: NodeId) -> String {
        format!("vaultops-{}-{node}", self.0)
    }

    /// `vaultops-<name>-node<i>-data`: the node's raft volume.
    pub fn node_volume(&self, node: NodeId) -> String {
        format!("vaultops-{}-{node}-data", self.0)
    }

    /// `vaultops-<name>-audit-sink`.
    pub fn audit_sink_container(&self) -> String {
        format!("vaultops-{}-audit-sink", self.0)
    }

    /// `vaultops-<name>-unsealer`: the transit unsealer of a `--seal transit` testbed.
    pub fn unsealer_container(&self) -> String {
        format!("vaultops-{}-unsealer", self.0)
    }

    /// `vaultops-<name>-unsealer-data`: the unsealer's raft volume.
    pub fn unsealer_volume(&self) -> String {
        format!("vaultops-{}-unsealer-data", self.0)
    }

    /// The raft `cluster_name` of the testbed's servers.
    pub fn cluster_name(&self) -> String {
        format!("vaultops-{}", self.0)
    }

    /// The label every object of this testbed carries.
    pub fn labels(&self) -> HashMap<String, String> {
        HashMap::from([(LABEL_TESTBED.to_owned(), self.0.clone())])
    }

    /// Labels of node `node`'s container and volume.
    pub fn node_labels(&self, node: NodeId, engine: &str, seal: &str) -> HashMap<String, String> {
        let mut l = self.labels();
        l.insert(LABEL_ROLE.to_owned(), ROLE_NODE.to_owned());
        l.insert(LABEL_NODE.to_owned(), node.to_string());
        l.insert(LABEL_ENGINE.to_owned(), engine.to_owned());
        l.insert(LABEL_SEAL.to_owned(), seal.to_owned());
        l
    }

    /// Labels of the transit unsealer's container and volume.
    pub fn unsealer_labels(&self, engine: &str) -> HashMap<String, String> {
        let mut l = self.labels();
        l.insert(LABEL_ROLE.to_owned(), ROLE_UNSEALER.to_owned());
        l.insert(LABEL_ENGINE.to_owned(), engine.to_owned());
        l
    }

    /// Labels of the audit sink container.
    pub fn sink_labels(&self) -> HashMap<String, String> {
        let mut l = self.labels();
        l.insert(LABEL_ROLE.to_owned(), ROLE_AUDIT_SINK.to_owned());
        l
    }

    /// The Docker `label` filter selecting every object of this testbed.
    pub fn label_filter(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([(
            "label".to_owned(),
            vec![format!("{LABEL_TESTBED}={}", self.0)],
        )])
    }
}

impl fmt::Display for TestbedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TestbedName {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// How many server nodes: odd (so a majority survives a partition cleanly) and 1 to
/// [`MAX_NODES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeCount(u8);

/// A node count that is not odd or out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid node count {0}: a testbed has an odd number of nodes from 1 to {MAX_NODES} (1, 3, 5 or 7); pass e.g. --nodes 3")]
pub struct InvalidNodeCount(pub u32);

impl NodeCount {
    pub fn new(n: u32) -> Result<Self, InvalidNodeCount> {
        if (1..=u32::from(MAX_NODES)).contains(&n) && n % 2 == 1 {
            Ok(Self(n as u8))
        } else {
            Err(InvalidNodeCount(n))
        }
    }

    pub fn get(self) -> usize {
        usize::from(self.0)
    }

    /// `node1` … `node<n>`.
    pub fn ids(self) -> impl Iterator<Item = NodeId> {
        (1..=self.0).map(NodeId)
    }
}

impl Default for NodeCount {
    fn default() -> Self {
        Self(3)
    }
}

impl FromStr for NodeCount {
    type Err = InvalidNodeCount;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n: u32 = s.trim().parse().map_err(|_| InvalidNodeCount(0))?;
        Self::new(n)
    }
}

/// A node of a testbed, numbered from 1: `node1` is its hostname, raft `node_id` and the
/// suffix of its container name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u8);

/// A node reference that does not name a node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid node {0:?}: name a node as node1, node2, … or by its number (1, 2, …)")]
pub struct InvalidNodeId(pub String);

impl NodeId {
    /// Node number `n` (1-based).
    pub fn new(n: u8) -> Result<Self, InvalidNodeId> {
        if (1..=MAX_NODES).contains(&n) {
            Ok(Self(n))
        } else {
            Err(InvalidNodeId(n.to_string()))
        }
    }

    /// The 1-based number.
    pub fn number(self) -> u8 {
        self.0
    }

    /// The 0-based index into node lists.
    pub fn index(self) -> usize {
        usize::from(self.0) - 1
    }

    /// The node with 0-based index `i`.
    pub fn from_index(i: usize) -> Result<Self, InvalidNodeId> {
        u8::try_from(i + 1)
            .map_err(|_| InvalidNodeId(i.to_string()))
            .and_then(Self::new)
    }

    /// The hostname, raft node id and DNS alias: `node<i>`.
    pub fn hostname(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node{}", self.0)
    }
}

impl FromStr for NodeId {
    type Err = InvalidNodeId;
    /// Accepts `node2`, `2` and a full container name ending in `-node2`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let digits = t.rsplit("node").next().unwrap_or(t);
        let has_prefix = digits.len() != t.len();
        if has_prefix && !t.ends_with(&format!("node{digits}")) {
            return Err(InvalidNodeId(s.to_owned()));
        }
        digits
            .parse::<u8>()
            .ok()
            .and_then(|n| Self::new(n).ok())
            .ok_or_else(|| InvalidNodeId(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        for ok in [
            "default",
            "a",
            "dev-2",
            "t0123456789",
            &"x".repeat(MAX_NAME_LEN),
        ] {
            TestbedName::new(ok).unwrap();
        }
        for bad in [
            "",
            "-x",
            "Dev",
            "a_b",
            "a.b",
            "a b",
            "ä",
            &"x".repeat(MAX_NAME_LEN + 1),
        ] {
            let e = TestbedName::new(bad).unwrap_err();
            assert!(e.to_string().contains("--name"), "{e}");
        }
    }

    #[test]
    fn object_names_and_labels() {
        let n = TestbedName::new("dev").unwrap();
        let node2 = NodeId::new(2).unwrap();
        assert_eq!(n.network(), "vaultops-dev");
        assert_eq!(n.node_container(node2), "vaultops-dev-node2");
        assert_eq!(n.node_volume(node2), "vaultops-dev-node2-data");
        assert_eq!(n.audit_sink_container(), "vaultops-dev-audit-sink");
        assert_eq!(n.unsealer_container(), "vaultops-dev-unsealer");
        assert_eq!(n.unsealer_volume(), "vaultops-dev-unsealer-data");
        assert_eq!(n.labels()["vaultops.testbed"], "dev");
        let l = n.node_labels(node2, "openbao", "transit");
        assert_eq!(l["vaultops.role"], "node");
        assert_eq!(l["vaultops.seal"], "transit");
        let u = n.unsealer_labels("openbao");
        assert_eq!(
            (u["vaultops.role"].as_str(), u["vaultops.testbed"].as_str()),
            ("unsealer", "dev")
        );
        assert_eq!(l["vaultops.node"], "node2");
        assert_eq!(l["vaultops.engine"], "openbao");
        assert_eq!(n.sink_labels()["vaultops.role"], "audit-sink");
        assert_eq!(n.label_filter()["label"], vec!["vaultops.testbed=dev"]);
        assert!(TestbedName::default_name().is_default());
        assert!(!n.is_default());
    }

    #[test]
    fn node_count_is_odd_and_in_range() {
        for ok in [1, 3, 5, 7] {
            assert_eq!(NodeCount::new(ok).unwrap().get(), ok as usize);
        }
        for bad in [0, 2, 4, 6, 8, 9, 100] {
            let e = NodeCount::new(bad).unwrap_err();
            assert!(e.to_string().contains("odd number"), "{e}");
        }
        assert_eq!(NodeCount::default().get(), 3);
        assert!("x".parse::<NodeCount>().is_err());
        let ids: Vec<String> = NodeCount::new(3)
            .unwrap()
            .ids()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(ids, ["node1", "node2", "node3"]);
    }

    #[test]
    fn node_ids_parse_from_several_spellings() {
        for (s, n) in [
            ("node1", 1),
            ("3", 3),
            (" node7 ", 7),
            ("vaultops-dev-node2", 2),
        ] {
            assert_eq!(s.parse::<NodeId>().unwrap().number(), n, "{s}");
        }
        for bad in ["node0", "node8", "0", "nodex", "x2", "", "node"] {
            assert!(bad.parse::<NodeId>().is_err(), "{bad}");
        }
        let id = NodeId::from_index(0).unwrap();
        assert_eq!(
            (id.number(), id.index(), id.hostname()),
            (1, 0, "node1".into())
        );
    }
}
