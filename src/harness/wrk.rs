//! What `driver-check` sets the driver against: `wrk` on the same server,
//! run and read. The process's CPU time and memory while each tool runs
//! are [`crate::harness::process`]'s.

use std::process::Command;
use std::time::Duration;

use crate::harness::calibration::LoadFigures;
use crate::units::number_and_unit;

/// Runs `wrk` against `url` with `threads` threads and `connections`
/// connections for `duration`; `None` when wrk is not installed.
pub fn wrk(
    url: &str,
    threads: usize,
    connections: usize,
    duration: Duration,
) -> Option<Result<LoadFigures, String>> {
    let seconds = duration.as_secs().max(1);
    let output = match Command::new("wrk")
        .args([
            format!("-t{threads}"),
            format!("-c{connections}"),
            format!("-d{seconds}s"),
            "--latency".to_owned(),
            url.to_owned(),
        ])
        .output()
    {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => return Some(Err(format!("wrk: {error}"))),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Some(Err(format!(
            "wrk failed: {}{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Some(parse_wrk(&text, threads))
}

/// Reads throughput and latency from wrk's `--latency` output.
pub(crate) fn parse_wrk(text: &str, threads: usize) -> Result<LoadFigures, String> {
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .map(str::trim)
            .ok_or_else(|| format!("wrk's output has no {prefix:?} line:\n{text}"))
    };
    let throughput: f64 = field("Requests/sec:")?
        .parse()
        .map_err(|_| format!("wrk's Requests/sec is not a number:\n{text}"))?;
    let requests: u64 = text
        .lines()
        .find(|line| line.contains("requests in"))
        .and_then(|line| line.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .ok_or_else(|| format!("wrk's output has no request count:\n{text}"))?;
    let errors = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0);
    Ok(LoadFigures {
        tool: format!("wrk -t{threads}"),
        requests,
        errors,
        throughput_rps: throughput,
        p50_us: wrk_micros(field("50%")?)?,
        p99_us: wrk_micros(field("99%")?)?,
    })
}

/// `812.00us`, `1.30ms`, `2.01s` in microseconds.
fn wrk_micros(text: &str) -> Result<f64, String> {
    let (number, unit) = number_and_unit(text);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("wrk latency {text:?} is not a number"))?;
    let factor = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        other => return Err(format!("wrk latency unit {other:?} is unknown")),
    };
    Ok(value * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK_OUTPUT: &str = "Running 5s test @ http://127.0.0.1:4000/api?key=key1
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.51us  230.12us   9.87ms   88.01%
    Req/Sec    78.21k     4.12k   85.10k    71.00%
  Latency Distribution
     50%  380.00us
     75%  451.00us
     90%  560.00us
     99%    1.30ms
  778321 requests in 5.00s, 137.33MB read
Requests/sec: 155651.42
Transfer/sec:     27.46MB
";

    #[test]
    fn wrk_output_is_read() {
        let figures = parse_wrk(WRK_OUTPUT, 2).unwrap();
        assert_eq!(figures.requests, 778_321);
        assert_eq!(figures.throughput_rps, 155_651.42);
        assert_eq!(figures.p50_us, 380.0);
        assert_eq!(figures.p99_us, 1300.0);
        assert_eq!(figures.errors, 0);
        assert!(parse_wrk("garbage", 2)
            .unwrap_err()
            .contains("Requests/sec"));
    }
}
