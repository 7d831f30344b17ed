//! Reading callgrind's profile files (the format of
//! valgrind.org/docs/manual/cl-format.html): a part's total instructions,
//! what triggered its dump, and the inclusive cost of named functions, so
//! a measured phase's instructions split into the driver's and the
//! servers'.

use std::collections::HashMap;

/// One dump of a callgrind run.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// What ended the part: `--dump-before=NAME` gives `NAME`, the end of
    /// the program `Program termination`.
    pub trigger: String,
    /// Instructions executed in the part.
    pub total: u64,
    /// Each function's self cost and its calls to others, by name.
    functions: HashMap<String, Function>,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Function {
    /// Instructions in the function itself.
    own: u64,
    /// Instructions of its calls to other functions (inclusive of theirs).
    calls: u64,
}

/// Why a profile could not be read.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// The line, counted from 1.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl Profile {
    /// Reads one profile file's text.
    pub fn parse(text: &str) -> Result<Profile, ParseError> {
        let mut trigger = String::new();
        let mut total = None;
        let mut summary = None;
        let mut names: HashMap<String, String> = HashMap::new();
        let mut functions: HashMap<String, Function> = HashMap::new();
        let mut current: Option<String> = None;
        let mut callee: Option<String> = None;
        // After `calls=`: the next cost line is the call's inclusive cost.
        let mut in_call = false;
        let mut events_checked = false;
        for (index, line) in text.lines().enumerate() {
            let failed = |message: String| ParseError {
                line: index + 1,
                message,
            };
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix("desc: Trigger: ") {
                trigger = rest
                    .strip_prefix("--dump-before=")
                    .unwrap_or(rest)
                    .to_owned();
            } else if let Some(rest) = line.strip_prefix("events:") {
                let events: Vec<&str> = rest.split_whitespace().collect();
                if events.first() != Some(&"Ir") {
                    return Err(failed(format!(
                        "the first event is {:?}, not Ir (instructions)",
                        events.first().unwrap_or(&"")
                    )));
                }
                events_checked = true;
            } else if let Some(rest) = line.strip_prefix("totals:") {
                total = Some(first_number(rest).ok_or_else(|| failed("bad totals".into()))?);
            } else if let Some(rest) = line.strip_prefix("summary:") {
                summary = Some(first_number(rest).ok_or_else(|| failed("bad summary".into()))?);
            } else if let Some(rest) = line.strip_prefix("fn=") {
                current = Some(name(rest, &mut names).map_err(failed)?);
                in_call = false;
            } else if let Some(rest) = line.strip_prefix("cfn=") {
                callee = Some(name(rest, &mut names).map_err(failed)?);
            } else if let Some(rest) = line.strip_prefix("cfi=").or(line.strip_prefix("cfl=")) {
                // Files are not needed, but their names may be defined here.
                let _ = name(rest, &mut HashMap::new());
            } else if line.starts_with("calls=") {
                in_call = true;
            } else if line.contains('=') && !starts_cost(line) {
                // ob=, fl=, fi=, fe=, cob=, jump=, positions:, ...: not needed.
                continue;
            } else if line.contains(':') && !starts_cost(line) {
                continue;
            } else if starts_cost(line) {
                let cost =
                    cost_of(line).ok_or_else(|| failed(format!("bad cost line {line:?}")))?;
                let Some(function) = &current else {
                    return Err(failed("a cost before any fn=".into()));
                };
                let entry = functions.entry(function.clone()).or_default();
                if in_call {
                    in_call = false;
                    if callee.as_deref() != Some(function.as_str()) {
                        entry.calls += cost;
                    }
                } else {
                    entry.own += cost;
                }
            }
        }
        if !events_checked {
            return Err(ParseError {
                line: 0,
                message: "no events: line (not a callgrind profile?)".into(),
            });
        }
        let total = total
            .or(summary)
            .unwrap_or_else(|| functions.values().map(|function| function.own).sum());
        Ok(Profile {
            trigger,
            total,
            functions,
        })
    }

    /// The instructions of `function` and of everything it called, summed
    /// over every function whose name is one of `names` (none calls
    /// another, or their costs count twice).
    pub fn inclusive(&self, names: &[&str]) -> u64 {
        names
            .iter()
            .filter_map(|name| self.functions.get(*name))
            .map(|function| function.own + function.calls)
            .sum()
    }

    /// Every function: its name, its own instructions and its inclusive
    /// ones (its own and its calls').
    pub fn functions(&self) -> impl Iterator<Item = (&str, u64, u64)> {
        self.functions
            .iter()
            .map(|(name, function)| (name.as_str(), function.own, function.own + function.calls))
    }
}

/// A name, given whole (`(3) name`, `name`) or by its number (`(3)`).
fn name(text: &str, names: &mut HashMap<String, String>) -> Result<String, String> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('(') else {
        return Ok(text.to_owned());
    };
    let Some((id, rest)) = rest.split_once(')') else {
        return Err(format!("unclosed name number in {text:?}"));
    };
    let rest = rest.trim();
    if rest.is_empty() {
        names
            .get(id)
            .cloned()
            .ok_or_else(|| format!("name ({id}) used before it was given"))
    } else {
        names.insert(id.to_owned(), rest.to_owned());
        Ok(rest.to_owned())
    }
}

fn first_number(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

/// A cost line starts with a position: a number, `+N`, `-N` or `*`.
fn starts_cost(line: &str) -> bool {
    matches!(
        line.as_bytes().first(),
        Some(b'0'..=b'9' | b'+' | b'-' | b'*')
    )
}

/// The first event's cost of a cost line (`pos Ir ...`; a missing cost is
/// zero). With one position column, as callgrind writes by default.
fn cost_of(line: &str) -> Option<u64> {
    let mut fields = line.split_whitespace();
    fields.next()?;
    match fields.next() {
        None => Some(0),
        Some(cost) => cost.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile as callgrind writes one, with compressed names: main
    /// calls worker twice (inclusive 300 and 200) and serve once (inclusive
    /// 1000); serve calls itself (not counted twice) and helper.
    const PROFILE: &str = "\
# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 42
cmd:  ./bench
part: 2

desc: I1 cache: 
desc: Timerange: Basic block 10 - 20
desc: Trigger: --dump-before=geecache_bench_mark_end

positions: line
events: Ir
summary: 1610

ob=(1) /bench
fl=(1) src/main.rs
fn=(1) main
10 50
cfl=(1)
cfn=(2) worker
calls=2 20
+2 500
cfn=(3) serve
calls=1 30
12 1000
fn=(2)
20 400
-1 100
fn=(3)
30 700
cfn=(3)
calls=1 30
31 1
cfn=(4) helper
calls=1 40
32 290
fn=(4)
40 290
fl=(2) src/other.rs
fn=(5) idle
* 10
+1

totals: 1610
";

    #[test]
    fn a_profile_gives_its_total_trigger_and_inclusive_costs() {
        let profile = Profile::parse(PROFILE).unwrap();
        assert_eq!(profile.trigger, "geecache_bench_mark_end");
        assert_eq!(profile.total, 1610);
        assert_eq!(profile.inclusive(&["worker"]), 500);
        // Its own 700, helper's 290; the recursive call is inside the 700.
        assert_eq!(profile.inclusive(&["serve"]), 990);
        assert_eq!(profile.inclusive(&["main"]), 1550);
        assert_eq!(profile.inclusive(&["worker", "serve"]), 1490);
        assert_eq!(profile.inclusive(&["nothing"]), 0);
        let has = |wanted: &str| profile.functions().any(|(name, _, _)| name == wanted);
        assert!(has("idle") && !has("nothing"));
        assert_eq!(profile.inclusive(&["idle"]), 10);
    }

    #[test]
    fn without_totals_the_functions_own_costs_are_summed() {
        let text: String = PROFILE
            .lines()
            .filter(|line| !line.starts_with("totals") && !line.starts_with("summary"))
            .map(|line| format!("{line}\n"))
            .collect();
        let profile = Profile::parse(&text).unwrap();
        assert_eq!(profile.total, 50 + 500 + 700 + 290 + 10);
    }

    #[test]
    fn what_is_not_a_callgrind_profile_is_refused_with_its_line() {
        assert!(Profile::parse("hello\n")
            .unwrap_err()
            .message
            .contains("no events"));
        let error = Profile::parse("events: Dr\n").unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.message.contains("not Ir"), "{error}");
        let error = Profile::parse("events: Ir\nfn=(1) a\n10 x\n").unwrap_err();
        assert_eq!(error.line, 3);
        let error = Profile::parse("events: Ir\nfn=(7)\n").unwrap_err();
        assert!(error.message.contains("(7) used before"), "{error}");
        let error = Profile::parse("events: Ir\n10 5\n").unwrap_err();
        assert!(error.message.contains("before any fn="), "{error}");
    }
}
