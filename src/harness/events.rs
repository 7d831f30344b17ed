//! Scenario events: what a workload's `events` ask to happen during a run
//! (a node stops, starts, joins, leaves, slows down or breaks its
//! answers; the store browns
//! out; the hot set moves; the rate changes), when (`at` a time since the
//! measurement began, or `at_request` a request number), and the checks
//! that refuse a scenario that cannot happen. The keys a ring event
//! moves are counted in [`super::ownership`].

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::geecache::breakage::Breakage;
use crate::harness::slowdb::Latency;
use crate::units::Span;

/// One event of a scenario: an action and when it happens.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// When, as time since the measurement began (`"5s"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Span>,
    /// When, as the number of the measured request before which it happens
    /// (from 0): exact, as deterministic runs and the model need.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_request: Option<u64>,
    /// What happens.
    #[serde(flatten)]
    pub action: Action,
}

/// What an event does.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The node stops accepting and drops its connections; the others keep
    /// it on their rings, so their fetches from it fail and they load
    /// locally.
    StopNode {
        /// The node, by index (0 serves the API and cannot stop).
        node: u32,
    },
    /// A stopped node comes back on the same address.
    StartNode {
        /// The node.
        node: u32,
        /// Come back with the cache it had; by default it comes back empty,
        /// as a restarted process would.
        #[serde(default)]
        keep_cache: bool,
    },
    /// A new node starts and every node's ring gets it: a join.
    AddNode {},
    /// Every other node's ring drops the node, then it stops: a graceful
    /// leave. The API node cannot leave.
    RemoveNode {
        /// The node.
        node: u32,
    },
    /// Every request the node serves waits this long first (`"0s"` ends
    /// it); its peers give up after `cluster.peer_timeout` and load
    /// locally.
    SlowNode {
        /// The node.
        node: u32,
        /// The wait.
        delay: Span,
    },
    /// The node breaks its answers from now on, to peers and to the
    /// driver alike (`how`: `reset`, `truncate`, `wrong_length`, `stall`),
    /// or mends them (`"none"`). Its peers count each broken answer by kind
    /// and load locally; broken API answers are the driver's `broken`
    /// errors. `/_stats` and `/metrics` stay whole.
    BreakNode {
        /// The node.
        node: u32,
        /// How its answers break; `"none"` mends them.
        #[serde(with = "breakage_or_none")]
        how: Option<Breakage>,
        /// The share of its answers that break, above 0 up to 1 (every
        /// answer, by default).
        #[serde(default = "every_answer")]
        share: f64,
    },
    /// The slow store's latency and share of failing loads change from now
    /// on: a brownout, and its end.
    Slowdb {
        /// The new latency; unchanged when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency: Option<Latency>,
        /// The share of loads that fail, 0 to 1; unchanged when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_share: Option<f64>,
    },
    /// The hot set moves: the key of popularity rank r becomes key
    /// (r + offset) mod keys.
    ShiftKeys {
        /// How far, 1 to keys - 1.
        offset: u64,
    },
    /// The open loop's rate changes from now on.
    SetRate {
        /// Requests per second.
        rate: f64,
    },
}

/// The share of answers a `break_node` breaks when it does not say.
fn every_answer() -> f64 {
    1.0
}

/// A breakage as a workload writes it, `"none"` for none.
mod breakage_or_none {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::geecache::breakage::Breakage;

    pub fn serialize<S: Serializer>(how: &Option<Breakage>, to: S) -> Result<S::Ok, S::Error> {
        to.serialize_str(how.map_or("none", Breakage::name))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<Option<Breakage>, D::Error> {
        let written = String::deserialize(from)?;
        if written == "none" {
            return Ok(None);
        }
        Breakage::ALL
            .into_iter()
            .find(|breakage| breakage.name() == written)
            .map(Some)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "how {written:?} is not a breakage: reset, truncate, wrong_length, stall \
                     or none"
                ))
            })
    }
}

impl Action {
    /// The action's name as a workload writes it: `stop_node`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Action::StopNode { .. } => "stop_node",
            Action::StartNode { .. } => "start_node",
            Action::AddNode {} => "add_node",
            Action::RemoveNode { .. } => "remove_node",
            Action::SlowNode { .. } => "slow_node",
            Action::BreakNode { .. } => "break_node",
            Action::Slowdb { .. } => "slowdb",
            Action::ShiftKeys { .. } => "shift_keys",
            Action::SetRate { .. } => "set_rate",
        }
    }

    /// Whether the harness can do it to a cluster it does not own: only
    /// what the driver itself changes.
    pub fn applies_to_a_target(&self) -> bool {
        matches!(self, Action::ShiftKeys { .. } | Action::SetRate { .. })
    }

    /// Whether it changes the ring every node uses.
    pub fn changes_the_ring(&self) -> bool {
        matches!(self, Action::AddNode {} | Action::RemoveNode { .. })
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.at, self.at_request) {
            (Some(at), _) => write!(f, "at {at}: ")?,
            (None, Some(request)) => write!(f, "at request {request}: ")?,
            (None, None) => {}
        }
        write!(f, "{}", self.action)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())?;
        match *self {
            Action::StopNode { node } | Action::RemoveNode { node } => write!(f, " {node}"),
            Action::StartNode { node, keep_cache } => {
                write!(
                    f,
                    " {node}{}",
                    if keep_cache { " (cache kept)" } else { "" }
                )
            }
            Action::AddNode {} => Ok(()),
            Action::SlowNode { node, delay } => write!(f, " {node} by {delay}"),
            Action::BreakNode {
                node, how: None, ..
            } => write!(f, " {node}: mended"),
            Action::BreakNode {
                node,
                how: Some(how),
                share,
            } if share < 1.0 => write!(f, " {node}: {how}, {:.0}% of answers", share * 100.0),
            Action::BreakNode {
                node,
                how: Some(how),
                ..
            } => write!(f, " {node}: {how}"),
            Action::Slowdb {
                latency,
                error_share,
            } => {
                if let Some(latency) = latency {
                    write!(f, " latency {latency}")?;
                }
                if let Some(share) = error_share {
                    write!(f, " errors {:.0}%", share * 100.0)?;
                }
                Ok(())
            }
            Action::ShiftKeys { offset } => write!(f, " by {offset}"),
            Action::SetRate { rate } => write!(f, " to {rate}/s"),
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    /// `{"at": "5s", "action": "stop_node", "node": 2}`: the timing fields
    /// beside the action's own, each checked by name.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Event, D::Error> {
        use serde::de::Error as _;
        let mut fields = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let at = fields
            .remove("at")
            .map(Span::deserialize)
            .transpose()
            .map_err(|error| D::Error::custom(format!("at: {error}")))?;
        let at_request = fields
            .remove("at_request")
            .map(u64::deserialize)
            .transpose()
            .map_err(|error| D::Error::custom(format!("at_request: {error}")))?;
        let action =
            Action::deserialize(serde_json::Value::Object(fields)).map_err(D::Error::custom)?;
        Ok(Event {
            at,
            at_request,
            action,
        })
    }
}

/// What bounds the run the events happen in, for the checks.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// Nodes at the start.
    pub nodes: u32,
    /// The most nodes a cluster may have.
    pub max_nodes: u32,
    /// Keys in the key space.
    pub keys: u64,
    /// Measured requests, when a count bounds the run.
    pub requests: Option<u64>,
    /// The measurement's length, when a duration bounds the run.
    pub duration: Option<Duration>,
    /// Whether the run is an open loop (set_rate needs one).
    pub open_loop: bool,
}

/// A node's state as the events leave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NodeState {
    Running,
    Stopped,
    Removed,
}

/// Checks a scenario: every event names a moment inside the run and a node
/// that exists in the state the event needs. On failure, the field at fault
/// (`events[2].node`) and why.
pub fn check(events: &[Event], frame: Frame) -> Result<(), (String, String)> {
    let by_time = events.iter().any(|event| event.at.is_some());
    for (at, event) in events.iter().enumerate() {
        check_moment(at, event, by_time, &frame)?;
    }
    // Replay the events in time order over each node's state.
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |event: &Event| (event.at.map(|at| at.0), event.at_request);
        key(&events[a]).cmp(&key(&events[b]))
    });
    let mut nodes = vec![NodeState::Running; frame.nodes as usize];
    for at in order {
        check_action(at, events[at].action, &mut nodes, &frame)?;
    }
    Ok(())
}

/// What a check of event `at` says is wrong: its field (`events[2].node`,
/// or the event itself for an empty name) and why.
type Fault = (String, String);

/// The field `name` of event `at`; the event itself for an empty name.
fn field(at: usize, name: &str) -> String {
    if name.is_empty() {
        format!("events[{at}]")
    } else {
        format!("events[{at}].{name}")
    }
}

/// An event's moment: one clock for all the events, inside the run.
fn check_moment(at: usize, event: &Event, by_time: bool, frame: &Frame) -> Result<(), Fault> {
    match (event.at, event.at_request) {
        (None, None) => {
            return Err((
                field(at, ""),
                "give at (a time such as \"5s\") or at_request (a request number)".into(),
            ))
        }
        (Some(_), Some(_)) => {
            return Err((field(at, ""), "give at or at_request, not both".into()))
        }
        (None, Some(_)) if by_time => {
            return Err((
                field(at, "at_request"),
                "the events mix at and at_request: use one clock for all".into(),
            ))
        }
        _ => {}
    }
    if let (Some(time), Some(duration)) = (event.at, frame.duration) {
        if time.0 >= duration {
            return Err((
                field(at, "at"),
                format!("{time} is after the end of the run ({})", Span(duration)),
            ));
        }
    }
    if let (Some(request), Some(requests)) = (event.at_request, frame.requests) {
        if request >= requests {
            return Err((
                field(at, "at_request"),
                format!("request {request} is after the end of the run ({requests} requests)"),
            ));
        }
    }
    Ok(())
}

/// Event `at`'s action, against the nodes as the events before it left
/// them (which it updates).
fn check_action(
    at: usize,
    action: Action,
    nodes: &mut Vec<NodeState>,
    frame: &Frame,
) -> Result<(), Fault> {
    let node_field = || field(at, "node");
    match action {
        Action::StopNode { node } => {
            let index = node_index(node, nodes, node_field())?;
            if index == 0 {
                return Err((
                    node_field(),
                    "node 0 serves the API: stopping it would fail every request; stop another"
                        .into(),
                ));
            }
            if nodes[index] == NodeState::Stopped {
                return Err((node_field(), format!("node {node} is already stopped then")));
            }
            nodes[index] = NodeState::Stopped;
        }
        Action::StartNode { node, .. } => {
            let index = node_index(node, nodes, node_field())?;
            if nodes[index] != NodeState::Stopped {
                return Err((
                    node_field(),
                    format!("node {node} is running then: stop it first"),
                ));
            }
            nodes[index] = NodeState::Running;
        }
        Action::AddNode {} => {
            if nodes.len() >= frame.max_nodes as usize {
                return Err((
                    field(at, "action"),
                    format!("add_node: a cluster has at most {} nodes", frame.max_nodes),
                ));
            }
            nodes.push(NodeState::Running);
        }
        Action::RemoveNode { node } => {
            let index = node_index(node, nodes, node_field())?;
            if index == 0 {
                return Err((
                    node_field(),
                    "node 0 serves the API and cannot leave".into(),
                ));
            }
            if nodes[index] == NodeState::Stopped {
                return Err((node_field(), format!("node {node} is stopped then: a stopped node cannot leave gracefully; start it first")));
            }
            nodes[index] = NodeState::Removed;
        }
        Action::SlowNode { node, delay } => {
            node_index(node, nodes, node_field())?;
            if delay.0 > Duration::from_secs(60) {
                return Err((
                    field(at, "delay"),
                    format!("{delay} is out of range: allowed 0s to 1m"),
                ));
            }
        }
        Action::BreakNode { node, share, .. } => {
            node_index(node, nodes, node_field())?;
            if !(share.is_finite() && share > 0.0 && share <= 1.0) {
                return Err((
                    field(at, "share"),
                    format!("{share} is out of range: allowed above 0 up to 1"),
                ));
            }
        }
        Action::Slowdb {
            latency,
            error_share,
        } => check_slowdb(at, latency, error_share)?,
        Action::ShiftKeys { offset } => {
            if offset == 0 || offset >= frame.keys {
                return Err((
                    field(at, "offset"),
                    format!(
                        "{offset} is out of range: allowed 1 to {} (keys - 1)",
                        frame.keys.saturating_sub(1)
                    ),
                ));
            }
        }
        Action::SetRate { rate } => check_rate(at, rate, frame)?,
    }
    Ok(())
}

/// The index of `node` among `nodes`, if it is there and has not left.
fn node_index(node: u32, nodes: &[NodeState], node_field: String) -> Result<usize, Fault> {
    match nodes.get(node as usize) {
        None => Err((
            node_field,
            format!(
                "there is no node {node} at that moment (nodes 0 to {}; add_node adds the next)",
                nodes.len() - 1
            ),
        )),
        Some(NodeState::Removed) => Err((
            node_field,
            format!("node {node} has left the cluster by then"),
        )),
        Some(_) => Ok(node as usize),
    }
}

/// A brown-out of the store: a latency, a share of errors or both, each
/// within its range.
fn check_slowdb(
    at: usize,
    latency: Option<Latency>,
    error_share: Option<f64>,
) -> Result<(), Fault> {
    if latency.is_none() && error_share.is_none() {
        return Err((
            field(at, ""),
            "slowdb: give latency, error_share or both".into(),
        ));
    }
    if let Some(share) = error_share {
        if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
            return Err((
                field(at, "error_share"),
                format!("{share} is out of range: allowed 0 to 1"),
            ));
        }
    }
    let longest = match latency {
        Some(Latency::Fixed { value }) => value.0,
        Some(Latency::Exponential { mean }) => mean.0,
        _ => Duration::ZERO,
    };
    if longest > Duration::from_secs(60) {
        return Err((
            field(at, "latency"),
            "out of range: allowed up to 1m".into(),
        ));
    }
    Ok(())
}

/// A new rate, which only an open loop has.
fn check_rate(at: usize, rate: f64, frame: &Frame) -> Result<(), Fault> {
    if !frame.open_loop {
        return Err((
            field(at, "action"),
            "set_rate needs an open loop: give the workload a rate".into(),
        ));
    }
    if !(rate.is_finite() && (1.0..=10_000_000.0).contains(&rate)) {
        return Err((
            field(at, "rate"),
            format!("{rate} is out of range: allowed 1 to 10000000 requests per second"),
        ));
    }
    Ok(())
}

/// Nodes the scenario adds: a cluster starts with room for them.
pub(crate) fn added_nodes(events: &[Event]) -> u32 {
    events
        .iter()
        .filter(|event| matches!(event.action, Action::AddNode {}))
        .count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each action, in the order the schema lists them.
    fn one_of_each() -> Vec<Action> {
        vec![
            Action::StopNode { node: 1 },
            Action::StartNode {
                node: 1,
                keep_cache: false,
            },
            Action::AddNode {},
            Action::RemoveNode { node: 1 },
            Action::SlowNode {
                node: 1,
                delay: Span(Duration::from_millis(5)),
            },
            Action::BreakNode {
                node: 1,
                how: None,
                share: 1.0,
            },
            Action::Slowdb {
                latency: None,
                error_share: None,
            },
            Action::ShiftKeys { offset: 1 },
            Action::SetRate { rate: 100.0 },
        ]
    }

    /// Where an action stands in [`one_of_each`]; with no `_` arm, a new
    /// action does not compile until it is given a place (and the list
    /// below, and the schema, are held to it).
    fn place(action: &Action) -> usize {
        match action {
            Action::StopNode { .. } => 0,
            Action::StartNode { .. } => 1,
            Action::AddNode {} => 2,
            Action::RemoveNode { .. } => 3,
            Action::SlowNode { .. } => 4,
            Action::BreakNode { .. } => 5,
            Action::Slowdb { .. } => 6,
            Action::ShiftKeys { .. } => 7,
            Action::SetRate { .. } => 8,
        }
    }

    /// `schema.json` states the action list once (`$defs/event`, which a
    /// result's events refer to), and it is exactly the actions a workload
    /// can ask for, each of which reads back as itself.
    #[test]
    fn the_schema_lists_every_action_once() {
        let all = one_of_each();
        let places: Vec<usize> = all.iter().map(place).collect();
        assert_eq!(places, (0..all.len()).collect::<Vec<_>>());
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schema.json")).unwrap();
        let listed: Vec<&str> = schema["$defs"]["event"]["properties"]["action"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap())
            .collect();
        let names: Vec<&str> = all.iter().map(Action::name).collect();
        assert_eq!(listed, names);
        let text = include_str!("../../schema.json");
        assert_eq!(text.matches("\"stop_node\", \"start_node\"").count(), 1);
        for action in all {
            let json = serde_json::to_value(action).unwrap();
            assert_eq!(json["action"], action.name());
            let back: Action = serde_json::from_value(json).unwrap();
            assert_eq!(back, action);
        }
    }
}
