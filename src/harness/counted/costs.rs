//! What a counted pass found, as a result keeps it: instructions and system
//! calls per request of each section.

use serde::{Deserialize, Serialize};

use super::profile::CountedProfile;

/// One section's costs per request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionCosts {
    /// Requests measured.
    pub requests: u64,
    /// Every instruction of the process (user space) per request.
    pub instructions_per_request: f64,
    /// The driver's request tasks.
    pub driver_instructions_per_request: f64,
    /// The servers' connection tasks: the cluster's nodes, or the reference
    /// server.
    pub server_instructions_per_request: f64,
    /// System calls of every thread per request; `null` without strace.
    pub syscalls_per_request: Option<f64>,
}

/// A run's counted pass: what it ran, with which tools, and its costs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountedPass {
    /// Measured requests of each section (one request in flight).
    pub requests: u64,
    /// Warm-up requests before the run's section (the workload's).
    pub warmup_requests: u64,
    /// The tools and their versions.
    pub tools: Vec<String>,
    /// The cluster's measured phase.
    pub run: SectionCosts,
    /// The bare one-hop reference server.
    pub one_hop: SectionCosts,
    /// The bare two-hop reference server.
    pub two_hop: SectionCosts,
    /// The run's peer-fetch ratio in the pass.
    pub peer_fetch_ratio: Option<f64>,
    /// Where the instructions went, by function and group (`--profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<CountedProfile>,
}

impl CountedPass {
    /// The cluster's server instructions per request over what the bare
    /// hops would cost: the one-hop server's for the requests answered by
    /// the API node, the two-hop server's for those that went to a peer.
    pub fn server_over_hops(&self) -> Option<f64> {
        let share = self.peer_fetch_ratio?;
        let hops = (1.0 - share) * self.one_hop.server_instructions_per_request
            + share * self.two_hop.server_instructions_per_request;
        (hops > 0.0).then(|| self.run.server_instructions_per_request / hops)
    }
}
