//! Real-server test harness: runs `bao server` processes on loopback (one node, or a 3-node TLS raft cluster).
