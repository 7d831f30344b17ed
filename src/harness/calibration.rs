//! Reference servers with no cache behind them, and what is measured on
//! them: the driver's own speed (`driver-check`) and the loopback limit a
//! run is compared with (its [`Calibration`]).
//!
//! - one hop: answers every request with a fixed body;
//! - two hops: forwards every request to another server through the same
//!   pooled client the nodes use, and answers with what it got.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::geecache::http::{ClientError, HttpClient};
use crate::geecache::server::{Answer, Limits, Server, Target};
use crate::harness::driver::{Control, Driver, DriverConfig, KeySampler, Phase, SamplerError};
use crate::harness::latency::LatencyFigures;
use crate::harness::registry::format;
use crate::harness::shard::Shard;
use crate::harness::slowdb::api_key_prefix;
use crate::harness::workload::{Bound, Distribution};

/// A reference server on 127.0.0.1.
pub struct BareServer {
    server: Server,
}

fn octets(body: Bytes, headers: HeaderMap) -> Answer {
    let mut answer = Response::new(Full::new(body));
    *answer.headers_mut() = headers;
    answer.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    answer
}

/// A reference server that could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the {server} server: {source}")]
pub struct StartError {
    /// Which: `one-hop` or `two-hop`.
    pub server: &'static str,
    /// Why.
    pub source: std::io::Error,
}

impl BareServer {
    /// Both reference servers: the one-hop server answering `body_size`
    /// bytes, and the two-hop server forwarding to it with `timeout`.
    pub async fn pair(
        body_size: usize,
        timeout: Duration,
    ) -> Result<(BareServer, BareServer), StartError> {
        let failed = |server| move |source| StartError { server, source };
        let one = BareServer::one_hop(body_size)
            .await
            .map_err(failed("one-hop"))?;
        let two = BareServer::two_hop(&one.url(), timeout)
            .await
            .map_err(failed("two-hop"))?;
        Ok((one, two))
    }

    /// Answers every request with `body_size` bytes.
    pub async fn one_hop(body_size: usize) -> std::io::Result<BareServer> {
        let body = Bytes::from(vec![b'x'; body_size]);
        let handler = move |request: Request<Incoming>| {
            let body = body.clone();
            // The request's header map carries the answer's headers, as a
            // node's does (see `Target::of`).
            let (_, headers) = Target::of(request);
            async move { octets(body, headers) }
        };
        BareServer::start("one-hop server", handler).await
    }

    /// Forwards every request's path and query to `upstream`
    /// (`http://127.0.0.1:PORT`) and answers with its status and body.
    pub async fn two_hop(upstream: &str, timeout: Duration) -> std::io::Result<BareServer> {
        let client = HttpClient::new(upstream, timeout)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidInput, error))?;
        let handler = move |request: Request<Incoming>| {
            let client = client.clone();
            // The request goes before its answer's future runs, and its
            // header map carries the answer's headers, as a node's do (see
            // `Target`).
            let (target, headers) = Target::of(request);
            async move {
                match client.get(target.path_and_query()).await {
                    Ok((status, body)) => {
                        let mut answer = octets(body, headers);
                        *answer.status_mut() = status;
                        answer
                    }
                    Err(error) => {
                        let mut answer = octets(Bytes::from(error.to_string()), headers);
                        *answer.status_mut() = StatusCode::BAD_GATEWAY;
                        answer
                    }
                }
            }
        };
        BareServer::start("two-hop server", handler).await
    }

    /// Serves `handler` on an ephemeral port of 127.0.0.1.
    async fn start<H, F>(name: &str, handler: H) -> std::io::Result<BareServer>
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: std::future::Future<Output = Answer> + Send + 'static,
    {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let server = Server::spawn(
            listener,
            name.to_owned(),
            handler,
            Arc::new(AtomicU64::new(0)),
            Duration::from_secs(1),
            Limits::default(),
        )?;
        Ok(BareServer { server })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// One load generator's figures against a server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadFigures {
    /// `geecache-bench driver` or `wrk -t2`.
    pub tool: String,
    /// Requests answered.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Requests per second.
    pub throughput_rps: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
}

/// The driver's name in [`LoadFigures::tool`].
pub const DRIVER_TOOL: &str = "geecache-bench driver";

/// The harness's driver for a reference server at `base_url`: a closed
/// loop asking `/api?key=key...` as a run does, checking no values (the
/// servers answer a fixed body).
pub(crate) fn reference_driver(
    base_url: &str,
    sampler: KeySampler,
    concurrency: usize,
    timeout: Duration,
) -> Result<Driver, ClientError> {
    Driver::new(DriverConfig {
        base_url: base_url.to_owned(),
        path_prefix: api_key_prefix("/api", None),
        sampler,
        concurrency,
        rate: None,
        timeout,
        missing_share: 0.0,
        values: None,
        trace: None,
        shard: Shard::WHOLE,
    })
}

/// Why the reference servers could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// A reference server could not start.
    #[error("calibration: {0}")]
    Start(#[from] StartError),
    /// The reference driver's keys could not be drawn.
    #[error(transparent)]
    Sampler(#[from] SamplerError),
    /// The reference driver could not be made.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// Drives `base_url` with the harness's driver, closed loop, for `duration`.
pub async fn drive(
    base_url: &str,
    concurrency: usize,
    duration: Duration,
) -> Result<LoadFigures, CalibrationError> {
    let sampler = KeySampler::new(100_000, Distribution::Zipf { exponent: 1.0 }, 42)?;
    let driver = reference_driver(base_url, sampler, concurrency, Duration::from_secs(5))?;
    let control = Arc::new(Control::default());
    let phase = Phase::new(
        1,
        Bound::Duration(duration),
        Instant::now() + duration + Duration::from_secs(30),
    );
    let report = driver.run(phase, &control).await;
    let latency = LatencyFigures::of(&report.histogram);
    Ok(LoadFigures {
        tool: DRIVER_TOOL.to_owned(),
        requests: report.counts.requests,
        errors: report.counts.errors.total,
        throughput_rps: report.counts.requests as f64 / report.elapsed.as_secs_f64(),
        p50_us: latency.p50 as f64,
        p99_us: latency.p99 as f64,
    })
}

/// The loopback limit measured in the same process with the same driver
/// settings as the run: what a cluster's figures are divided by, so that
/// results from machines of different speeds compare.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// How long each reference server was driven, in seconds.
    pub seconds_each: f64,
    /// Requests in flight, as in the run.
    pub concurrency: usize,
    /// A server answering the run's value size without a cache behind it.
    pub one_hop: LoadFigures,
    /// A server forwarding each request to the one-hop server through the
    /// nodes' pooled client.
    pub two_hop: LoadFigures,
    /// The throughput the cluster could reach if each request cost only its
    /// hops: requests needing a peer (the run's peer-fetch ratio) at the
    /// two-hop rate, the others at the one-hop rate. `null` without a
    /// peer-fetch ratio.
    pub blended_limit_rps: Option<f64>,
    /// The run's throughput over the blended limit; with several trials,
    /// the median of the trials' own fractions (each trial's is in its
    /// entry of `trials`).
    pub limit_fraction: Option<f64>,
    /// With several trials: which one (from 1) measured these one-hop,
    /// two-hop and blended figures (the median trial by throughput).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial: Option<usize>,
    /// What makes the calibration doubtful; empty when nothing does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doubts: Vec<Doubt>,
}

/// How far apart (the largest less the smallest, over their median) the
/// trials' one-hop or two-hop throughputs may be before the calibration
/// is doubted: beyond it the machine's speed moved between trials.
pub const CALIBRATION_SPREAD: f64 = 0.25;
/// A limit fraction above this is doubted: a run cannot outrun the bare
/// servers it is measured against, unless their measurement was slowed.
pub const FRACTION_CEILING: f64 = 1.05;

/// Something that makes a calibration doubtful.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doubt {
    /// What kind.
    pub kind: DoubtKind,
    /// In words, with the figures.
    pub text: String,
}

/// The kinds of [`Doubt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoubtKind {
    /// A limit fraction above [`FRACTION_CEILING`].
    AboveLimit,
    /// The two-hop server outran the one-hop server it forwards to.
    TwoHopFaster,
    /// The trials' one-hop or two-hop throughputs spread beyond
    /// [`CALIBRATION_SPREAD`].
    Spread,
}

/// Measures both reference servers with `concurrency` requests in flight,
/// `duration` each, answering `body_size` bytes.
pub async fn calibrate(
    concurrency: usize,
    duration: Duration,
    body_size: usize,
) -> Result<Calibration, CalibrationError> {
    let (one, two) = BareServer::pair(body_size, Duration::from_secs(5)).await?;
    let one_hop = drive(&one.url(), concurrency, duration).await?;
    let two_hop = drive(&two.url(), concurrency, duration).await?;
    two.shutdown().await;
    one.shutdown().await;
    Ok(Calibration {
        seconds_each: duration.as_secs_f64(),
        concurrency,
        one_hop,
        two_hop,
        blended_limit_rps: None,
        limit_fraction: None,
        trial: None,
        doubts: Vec::new(),
    })
}

impl Calibration {
    /// The calibration of a run of several trials, from each trial's own
    /// (`None` where a trial had none) and the median trial (by throughput,
    /// from 0): that trial's figures, the median of the trials' limit
    /// fractions, and the doubts of all of them.
    pub fn of_trials(trials: &[Option<&Calibration>], middle: usize) -> Option<Calibration> {
        let mut combined = trials.get(middle).copied().flatten()?.clone();
        if trials.len() < 2 {
            return Some(combined);
        }
        let fractions: Vec<f64> = trials
            .iter()
            .filter_map(|trial| trial.as_ref()?.limit_fraction)
            .collect();
        combined.limit_fraction = crate::intervals::median(&fractions);
        combined.trial = Some(middle + 1);
        combined.doubts = doubts(trials);
        Some(combined)
    }

    /// Fills in the blended limit and the run's fraction of it.
    pub fn blend(&mut self, peer_fetch_ratio: Option<f64>, throughput_rps: f64) {
        let (one, two) = (self.one_hop.throughput_rps, self.two_hop.throughput_rps);
        self.blended_limit_rps = peer_fetch_ratio
            .filter(|_| one > 0.0 && two > 0.0)
            .map(|share| 1.0 / ((1.0 - share) / one + share / two));
        self.limit_fraction = self
            .blended_limit_rps
            .filter(|&limit| limit > 0.0)
            .map(|limit| throughput_rps / limit);
        self.doubts = doubts(&[Some(self)]);
    }
}

/// What casts doubt on the calibrations of a run's trials (one or more, in
/// order; `None` where a trial had none): a fraction above the ceiling, a
/// two-hop server faster than its one-hop, trials whose one-hop or two-hop
/// figures spread beyond [`CALIBRATION_SPREAD`].
pub fn doubts(trials: &[Option<&Calibration>]) -> Vec<Doubt> {
    let name = |at: usize| {
        if trials.len() == 1 {
            "the run".to_owned()
        } else {
            format!("trial {}", at + 1)
        }
    };
    let mut doubts = Vec::new();
    for (at, trial) in trials.iter().enumerate() {
        let Some(calibration) = trial else { continue };
        if let Some(fraction) = calibration
            .limit_fraction
            .filter(|&fraction| fraction > FRACTION_CEILING)
        {
            doubts.push(Doubt {
                kind: DoubtKind::AboveLimit,
                text: format!(
                    "{} reached {} of its blended limit (more than {:.0}%): its calibration \
                     measured the machine slower than the run found it, so its limit fraction \
                     says little",
                    name(at),
                    format::LIMIT_FRACTION.show(fraction),
                    FRACTION_CEILING * 100.0
                ),
            });
        }
        let (one, two) = (
            calibration.one_hop.throughput_rps,
            calibration.two_hop.throughput_rps,
        );
        if two > one * FRACTION_CEILING {
            doubts.push(Doubt {
                kind: DoubtKind::TwoHopFaster,
                text: format!(
                    "{}'s two-hop server outran the one-hop server it forwards to ({two:.0} \
                     against {one:.0} req/s): something slowed the one-hop measurement",
                    name(at)
                ),
            });
        }
    }
    let present: Vec<&Calibration> = trials.iter().flatten().copied().collect();
    if present.len() > 1 {
        for (hop, read) in [
            (
                "one-hop",
                (|c: &Calibration| c.one_hop.throughput_rps) as fn(&Calibration) -> f64,
            ),
            ("two-hop", |c: &Calibration| c.two_hop.throughput_rps),
        ] {
            let values: Vec<f64> = present.iter().map(|&c| read(c)).collect();
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(0.0, f64::max);
            let Some(middle) = crate::intervals::median(&values).filter(|&m| m > 0.0) else {
                continue;
            };
            let spread = (high - low) / middle;
            if spread > CALIBRATION_SPREAD {
                doubts.push(Doubt {
                    kind: DoubtKind::Spread,
                    text: format!(
                        "the trials' {hop} calibrations ranged {low:.0}-{high:.0} req/s ({:.0}% \
                         of their median, more than {:.0}%): the machine's speed moved between \
                         trials, so the limit fractions are doubtful",
                        spread * 100.0,
                        CALIBRATION_SPREAD * 100.0
                    ),
                });
            }
        }
    }
    doubts
}

/// A calibration of these hop throughputs (the blended limit the one-hop
/// rate) at this limit fraction, for tests.
#[cfg(test)]
pub(crate) fn measured(one: f64, two: f64, fraction: Option<f64>) -> Calibration {
    let figures = |throughput_rps| LoadFigures {
        tool: "test".to_owned(),
        requests: 1,
        errors: 0,
        throughput_rps,
        p50_us: 100.0,
        p99_us: 100.0,
    };
    Calibration {
        seconds_each: 1.0,
        concurrency: 1,
        one_hop: figures(one),
        two_hop: figures(two),
        blended_limit_rps: Some(one),
        limit_fraction: fraction,
        trial: None,
        doubts: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blended_limit_weighs_each_hop_by_its_share() {
        let mut calibration = measured(150_000.0, 60_000.0, None);
        calibration.blend(Some(0.0), 75_000.0);
        assert_eq!(calibration.blended_limit_rps, Some(150_000.0));
        assert_eq!(calibration.limit_fraction, Some(0.5));
        // Two thirds of the requests cost two hops: 1 / (1/450k + 2/180k).
        calibration.blend(Some(2.0 / 3.0), 75_000.0);
        let limit = calibration.blended_limit_rps.unwrap();
        assert!((limit - 75_000.0).abs() < 1e-6, "{limit}");
        calibration.blend(None, 75_000.0);
        assert_eq!(calibration.limit_fraction, None);
    }

    #[test]
    fn trials_give_the_median_fraction_and_say_whose_figures_are_shown() {
        let trials = [
            measured(100_000.0, 50_000.0, Some(0.80)),
            measured(110_000.0, 52_000.0, Some(0.95)),
            measured(105_000.0, 51_000.0, Some(0.90)),
        ];
        let each: Vec<Option<&Calibration>> = trials.iter().map(Some).collect();
        // The second trial (index 0) is the median by throughput.
        let combined = Calibration::of_trials(&each, 0).unwrap();
        assert_eq!(combined.limit_fraction, Some(0.90));
        assert_eq!(combined.trial, Some(1));
        assert_eq!(combined.one_hop.throughput_rps, 100_000.0);
        assert!(combined.doubts.is_empty(), "{:?}", combined.doubts);
        // One trial: its own, unmarked.
        let one = Calibration::of_trials(&each[..1], 0).unwrap();
        assert_eq!((one.limit_fraction, one.trial), (Some(0.80), None));
        // Trials without calibrations have none.
        assert_eq!(Calibration::of_trials(&[None, None], 1), None);
    }

    #[test]
    fn a_calibration_that_disagrees_with_itself_or_the_run_is_doubted() {
        let kinds = |trials: &[Calibration]| -> Vec<DoubtKind> {
            let each: Vec<Option<&Calibration>> = trials.iter().map(Some).collect();
            doubts(&each).iter().map(|doubt| doubt.kind).collect()
        };
        // Up to the ceiling and the spread: nothing.
        assert!(kinds(&[measured(100.0, 50.0, Some(1.05))]).is_empty());
        let steady = [
            measured(100.0, 50.0, Some(0.9)),
            measured(125.0, 62.0, Some(0.9)),
        ];
        assert!(kinds(&steady).is_empty());
        // Beyond them.
        assert_eq!(
            kinds(&[measured(100.0, 50.0, Some(1.06))]),
            [DoubtKind::AboveLimit]
        );
        assert_eq!(
            kinds(&[measured(100.0, 110.0, Some(0.9))]),
            [DoubtKind::TwoHopFaster]
        );
        let moved = [
            measured(100.0, 40.0, Some(0.9)),
            measured(110.0, 60.0, Some(0.9)),
        ];
        assert_eq!(kinds(&moved), [DoubtKind::Spread]);
        let text = &doubts(&[Some(&moved[0]), None, Some(&moved[1])])[0].text;
        assert!(
            text.contains("two-hop calibrations ranged 40-60 req/s"),
            "{text}"
        );
        let above = doubts(&[
            Some(&measured(1.0, 0.5, Some(0.9))),
            Some(&measured(1.0, 0.5, Some(1.2))),
        ]);
        assert!(
            above[0].text.starts_with("trial 2 reached 120.0%"),
            "{above:?}"
        );
        // blend() states the doubt of the run it fills in.
        let mut single = measured(100.0, 50.0, Some(0.5));
        single.blend(Some(0.0), 116.0);
        assert_eq!(single.doubts[0].kind, DoubtKind::AboveLimit);
        assert!(single.doubts[0].text.starts_with("the run reached 116.0%"));
    }

    #[tokio::test]
    async fn the_reference_servers_answer_and_forward() {
        let one = BareServer::one_hop(100).await.unwrap();
        let two = BareServer::two_hop(&one.url(), Duration::from_secs(2))
            .await
            .unwrap();
        let client = HttpClient::new(&two.url(), Duration::from_secs(2)).unwrap();
        let (status, body) = client.get("/api?key=key1").await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.len(), 100);
        one.shutdown().await;
        // With the first hop gone, the second says so.
        let (status, _) = client.get("/api?key=key1").await.unwrap();
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        two.shutdown().await;
    }
}
