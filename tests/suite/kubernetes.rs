//! The Kubernetes manifests of `deploy/kubernetes/`: read as the API's own
//! types (k8s-openapi, Kubernetes 1.33), with nothing in them those types
//! do not know; their names, ports and knobs lining up; and rehearsed here
//! without a cluster: exactly their containers' commands, with the
//! environment Kubernetes would give each pod, run on 127.0.0.2 and up
//! (`--resolve` standing in for the cluster's DNS), first as processes and,
//! where podman runs, as pods that `podman kube play` starts from the
//! manifests' own pod templates.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, PersistentVolumeClaim, PodSpec, Service};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use crate::common;

use common::{read_checked, run, scratch, text, Servers};
use geecache_bench::harness::report::RunResult;

const DIR: &str = "deploy/kubernetes";

/// A YAML document as JSON, as the API server reads it.
fn json_of(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Real(text) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Yaml::Integer(number) => Value::from(*number),
        Yaml::String(text) => Value::from(text.as_str()),
        Yaml::Boolean(flag) => Value::from(*flag),
        Yaml::Array(items) => Value::Array(items.iter().map(json_of).collect()),
        Yaml::Hash(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, value)| {
                    let key = key.as_str().expect("string keys").to_owned();
                    (key, json_of(value))
                })
                .collect(),
        ),
        Yaml::Null => Value::Null,
        other => panic!("no JSON for {other:?}"),
    }
}

/// The one document of the manifest `name`.
fn load(name: &str) -> Value {
    let path = Path::new(DIR).join(name);
    let source = std::fs::read_to_string(&path).unwrap();
    let documents = YamlLoader::load_from_str(&source)
        .unwrap_or_else(|error| panic!("{path:?} is not YAML: {error}"));
    assert_eq!(documents.len(), 1, "{path:?}: one object a file");
    json_of(&documents[0])
}

/// The manifest `name` as its API type, refusing what the type does not
/// know: what it reads and writes back must be the file, field for field
/// (a misspelt or misplaced field is dropped on the way, and differs).
fn typed<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let value = load(name);
    let object: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|error| panic!("{name}: not a {}: {error}", std::any::type_name::<T>()));
    let back = serde_json::to_value(&object).unwrap();
    assert_eq!(
        back,
        value,
        "{name}: fields the {} type does not know",
        std::any::type_name::<T>()
    );
    object
}

/// Every manifest, typed, and the knobs of the kustomization.
struct Manifests {
    headless: Service,
    api: Service,
    nodes: StatefulSet,
    results: PersistentVolumeClaim,
    drivers: Job,
    merge: Job,
    /// The `geecache-settings` literals: peers, drivers, start-at.
    settings: BTreeMap<String, String>,
    kustomization: Value,
}

impl Manifests {
    fn read() -> Manifests {
        let kustomization = load("kustomization.yaml");
        let settings = kustomization["configMapGenerator"]
            .as_array()
            .unwrap()
            .iter()
            .find(|generator| generator["name"] == "geecache-settings")
            .expect("the settings' generator")["literals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|literal| {
                let (key, value) = literal.as_str().unwrap().split_once('=').unwrap();
                (key.to_owned(), value.to_owned())
            })
            .collect();
        Manifests {
            headless: typed("nodes-service.yaml"),
            api: typed("api-service.yaml"),
            nodes: typed("nodes-statefulset.yaml"),
            results: typed("results-pvc.yaml"),
            drivers: typed("drivers-job.yaml"),
            merge: typed("merge/merge-job.yaml"),
            settings,
            kustomization,
        }
    }

    fn node_pod(&self) -> &PodSpec {
        self.nodes
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
    }

    fn driver_pod(&self) -> &PodSpec {
        job_pod(&self.drivers)
    }

    fn merge_pod(&self) -> &PodSpec {
        job_pod(&self.merge)
    }

    /// The pods the StatefulSet's controller makes, one on each of `hosts`.
    fn node_pods(&self, hosts: &[String]) -> Vec<PodFacts> {
        let set_name = name_of(&self.nodes.metadata);
        hosts
            .iter()
            .enumerate()
            .map(|(ordinal, host)| PodFacts {
                name: format!("{set_name}-{ordinal}"),
                ip: host.clone(),
                index: None,
            })
            .collect()
    }

    /// The pods the drivers' Job controller makes for `drivers`
    /// completions.
    fn driver_pods(&self, drivers: u32) -> Vec<PodFacts> {
        let job = name_of(&self.drivers.metadata);
        (0..drivers)
            .map(|index| PodFacts {
                name: format!("{job}-{index}"),
                ip: "127.0.0.1".to_owned(),
                index: Some(index),
            })
            .collect()
    }

    fn peers(&self) -> Vec<String> {
        self.settings["peers"]
            .split(',')
            .map(str::to_owned)
            .collect()
    }
}

/// A Job's pod template.
fn job_pod(job: &Job) -> &PodSpec {
    job.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn name_of(metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    metadata.name.as_deref().unwrap()
}

/// A container's port by name.
fn port_named(container: &Container, name: &str) -> i32 {
    container
        .ports
        .iter()
        .flatten()
        .find(|port| port.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{}: no port {name}", container.name))
        .container_port
}

/// The value of `--flag=VALUE` in a container's arguments.
fn flag<'a>(container: &'a Container, name: &str) -> &'a str {
    let prefix = format!("{name}=");
    container
        .args
        .iter()
        .flatten()
        .find_map(|arg| arg.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{}: no {name}", container.name))
}

#[test]
fn the_manifests_are_kubernetes_objects_whose_names_and_knobs_line_up() {
    let manifests = Manifests::read();
    let kustomization = &manifests.kustomization;

    // The kustomization lists every manifest beside it, and only those.
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap().to_owned())
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present);
    assert_eq!(
        load("merge/kustomization.yaml")["resources"],
        serde_json::json!(["merge-job.yaml"])
    );

    // One image, the kustomization's, in every container.
    let image = kustomization["images"][0]["name"].as_str().unwrap();
    assert_eq!(
        load("merge/kustomization.yaml")["images"],
        kustomization["images"]
    );
    let node = &manifests.node_pod().containers[0];
    let driver = &manifests.driver_pod().containers[0];
    let merger = &manifests.merge_pod().containers[0];
    for container in [node, driver, merger] {
        assert_eq!(container.image.as_deref(), Some(image));
    }

    // The nodes: as many as the peers, each named by the headless Service.
    let set = manifests.nodes.spec.as_ref().unwrap();
    let set_name = name_of(&manifests.nodes.metadata);
    let headless_name = name_of(&manifests.headless.metadata);
    let headless = manifests.headless.spec.as_ref().unwrap();
    assert_eq!(set.service_name.as_deref(), Some(headless_name));
    assert_eq!(headless.cluster_ip.as_deref(), Some("None"));
    let count = kustomization["replicas"][0]["count"].as_i64().unwrap();
    assert_eq!(kustomization["replicas"][0]["name"], set_name);
    assert_eq!(set.replicas.map(i64::from), Some(count));
    let peer_port = port_named(node, "peer");
    assert_eq!(headless.ports.as_ref().unwrap()[0].port, peer_port);
    let expected: Vec<String> = (0..count)
        .map(|index| format!("http://{set_name}-{index}.{headless_name}:{peer_port}"))
        .collect();
    assert_eq!(manifests.peers(), expected);
    let labels = set
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .as_ref()
        .unwrap();
    assert_eq!(set.selector.match_labels.as_ref(), Some(labels));
    for (key, value) in headless.selector.as_ref().unwrap() {
        assert_eq!(
            labels.get(key),
            Some(value),
            "the headless Service selects the nodes"
        );
    }
    assert_eq!(flag(node, "--listen"), format!("$(POD_IP):{peer_port}"));
    let probe = node
        .readiness_probe
        .as_ref()
        .unwrap()
        .http_get
        .as_ref()
        .unwrap();
    assert_eq!(probe.path.as_deref(), Some("/_ready"));
    assert_eq!(
        serde_json::to_value(&probe.port).unwrap(),
        serde_json::json!("peer")
    );
    // The node drains within its grace period.
    let drain: u64 = flag(node, "--drain").trim_end_matches('s').parse().unwrap();
    let grace = manifests
        .node_pod()
        .termination_grace_period_seconds
        .unwrap();
    assert!(
        drain < grace as u64,
        "a {drain} s drain in a {grace} s grace period"
    );
    assert!(node.resources.is_some() && driver.resources.is_some());

    // The API: node 0's, on the port its container names, where the
    // drivers send.
    let api = manifests.api.spec.as_ref().unwrap();
    assert_eq!(
        api.selector
            .as_ref()
            .unwrap()
            .get("statefulset.kubernetes.io/pod-name"),
        Some(&format!("{set_name}-0"))
    );
    let api_port = &api.ports.as_ref().unwrap()[0];
    assert_eq!(
        serde_json::to_value(&api_port.target_port).unwrap(),
        serde_json::json!("api")
    );
    assert_eq!(
        port_named(node, "api").to_string(),
        flag(node, "--api-port")
    );
    assert_eq!(
        flag(driver, "--target"),
        format!(
            "http://{}:{}/api",
            name_of(&manifests.api.metadata),
            api_port.port
        )
    );
    assert_eq!(flag(driver, "--peers"), "$(PEERS)");
    assert_eq!(flag(node, "--peers"), "$(PEERS)");

    // The drivers: an Indexed Job of as many as `drivers` says, each its
    // shard, at one moment.
    let job = manifests.drivers.spec.as_ref().unwrap();
    assert_eq!(job.completion_mode.as_deref(), Some("Indexed"));
    let drivers: i32 = manifests.settings["drivers"].parse().unwrap();
    assert_eq!(
        (job.completions, job.parallelism),
        (Some(drivers), Some(drivers))
    );
    let patch = kustomization["patches"][0]["patch"].as_str().unwrap();
    for path in ["/spec/completions", "/spec/parallelism"] {
        assert!(
            patch.contains(&format!("path: {path}\n    value: {drivers}"))
                || patch.contains(&format!("path: {path}\n  value: {drivers}")),
            "the patch sets {path} to {drivers}:\n{patch}"
        );
    }
    assert_eq!(flag(driver, "--shard"), "$(SHARD_INDEX)/$(DRIVERS)");
    let index = driver
        .env
        .iter()
        .flatten()
        .find(|env| env.name == "SHARD_INDEX")
        .and_then(|env| env.value_from.as_ref()?.field_ref.as_ref())
        .unwrap();
    assert_eq!(
        index.field_path,
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    geecache_bench::units::parse_moment(&manifests.settings["start-at"]).unwrap();

    // Every ConfigMap named is generated, with the key asked for.
    let generated: BTreeSet<&str> = kustomization["configMapGenerator"]
        .as_array()
        .unwrap()
        .iter()
        .map(|generator| generator["name"].as_str().unwrap())
        .collect();
    for pod in [manifests.node_pod(), manifests.driver_pod()] {
        for env in pod.containers[0].env.iter().flatten() {
            if let Some(key) = env
                .value_from
                .as_ref()
                .and_then(|from| from.config_map_key_ref.as_ref())
            {
                assert!(generated.contains(key.name.as_str()), "{}", key.name);
                assert!(manifests.settings.contains_key(&key.key), "{}", key.key);
            }
        }
        for volume in pod.volumes.iter().flatten() {
            if let Some(map) = &volume.config_map {
                assert!(generated.contains(map.name.as_str()), "{}", map.name);
            }
        }
    }
    // The workload mounted is the one the commands read, and the file the
    // kustomization makes it of is a workload.
    let mount = |container: &Container, volume: &str| -> String {
        container
            .volume_mounts
            .iter()
            .flatten()
            .find(|mount| mount.name == volume)
            .unwrap()
            .mount_path
            .clone()
    };
    for container in [node, driver] {
        assert_eq!(
            flag(container, "--workload"),
            format!("{}/workload.json", mount(container, "workload"))
        );
    }
    let output = run(&[
        "--workload",
        &format!("{DIR}/workload.json"),
        "--requests",
        "200",
        "--warmup",
        "0",
        "--no-calibrate",
        "--no-progress",
        "--no-checkpoints",
        "--out",
        scratch("kubernetes-workload")
            .join("r.json")
            .to_str()
            .unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));

    // The drivers leave their shards on the claim, where the merge reads.
    let claim = name_of(&manifests.results.metadata);
    for pod in [manifests.driver_pod(), manifests.merge_pod()] {
        let volume = pod
            .volumes
            .iter()
            .flatten()
            .find(|volume| volume.name == "results")
            .unwrap();
        assert_eq!(
            volume
                .persistent_volume_claim
                .as_ref()
                .map(|claim| claim.claim_name.as_str()),
            Some(claim)
        );
    }
    let out = flag(driver, "--out");
    let shards = Path::new(out).parent().unwrap();
    assert!(shards.starts_with(mount(driver, "results")));
    let merge_args = merger.args.as_ref().unwrap();
    assert_eq!(merge_args[0], "merge");
    assert_eq!(Path::new(&merge_args[1]), shards);
    assert!(Path::new(flag(merger, "--out")).starts_with(mount(merger, "results")));
    assert!(!Path::new(flag(merger, "--out")).starts_with(shards));
}

/// What Kubernetes gives one pod: its name, its address, its index in an
/// Indexed Job.
struct PodFacts {
    name: String,
    ip: String,
    index: Option<u32>,
}

/// A container's environment as the kubelet makes it for `pod`, the
/// settings' ConfigMap given as `settings`.
fn environment(
    container: &Container,
    pod: &PodFacts,
    settings: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    container
        .env
        .iter()
        .flatten()
        .map(|env| {
            let value = match (&env.value, &env.value_from) {
                (Some(value), _) => value.clone(),
                (None, Some(from)) => match (&from.field_ref, &from.config_map_key_ref) {
                    (Some(field), _) => match field.field_path.as_str() {
                        "metadata.name" => pod.name.clone(),
                        "status.podIP" => pod.ip.clone(),
                        "metadata.annotations['batch.kubernetes.io/job-completion-index']" => {
                            pod.index.expect("an Indexed Job's pod").to_string()
                        }
                        other => panic!("no stand-in for the field {other}"),
                    },
                    (None, Some(key)) => settings[&key.key].clone(),
                    (None, None) => panic!("{}: a source not rehearsed", env.name),
                },
                (None, None) => String::new(),
            };
            (env.name.clone(), value)
        })
        .collect()
}

/// `text` with each `$(NAME)` of `env` replaced by its value, as Kubernetes
/// expands a container's arguments.
fn expand(text: &str, env: &[(String, String)]) -> String {
    env.iter().fold(text.to_owned(), |text, (name, value)| {
        text.replace(&format!("$({name})"), value)
    })
}

/// A container's command line as the pod runs it: arguments expanded, and
/// each volume's mount path turned into the local directory in `mounts`.
fn command(
    container: &Container,
    env: &[(String, String)],
    mounts: &HashMap<String, PathBuf>,
) -> Vec<String> {
    container
        .args
        .iter()
        .flatten()
        .map(|arg| {
            let mut arg = expand(arg, env);
            for mount in container.volume_mounts.iter().flatten() {
                if let Some(local) = mounts.get(&mount.name) {
                    arg = arg.replace(&mount.mount_path, local.to_str().unwrap());
                }
            }
            arg
        })
        .collect()
}

/// The rehearsal's cluster DNS: each peer's name and the API Service's, at
/// the address of the pod behind it (`hosts[i]` for node i).
fn resolve(manifests: &Manifests, hosts: &[String]) -> String {
    let mut entries: Vec<String> = manifests
        .peers()
        .iter()
        .zip(hosts)
        .map(|(peer, host)| format!("{}:{host}", peer.trim_start_matches("http://")))
        .collect();
    let api = manifests.api.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].port;
    entries.push(format!(
        "{}:{api}:{}",
        name_of(&manifests.api.metadata),
        hosts[0]
    ));
    entries.join(",")
}

/// The settings with `drivers` drivers beginning `after` from now.
fn settings_for(manifests: &Manifests, drivers: u32, after: Duration) -> BTreeMap<String, String> {
    let mut settings = manifests.settings.clone();
    settings.insert("drivers".to_owned(), drivers.to_string());
    settings.insert(
        "start-at".to_owned(),
        geecache_bench::units::rfc3339(SystemTime::now() + after),
    );
    settings
}

/// The node pods as processes on `hosts`, ready when each says it runs.
fn start_nodes(
    manifests: &Manifests,
    hosts: &[String],
    mounts: &HashMap<String, PathBuf>,
) -> Servers {
    let container = &manifests.node_pod().containers[0];
    let dns = resolve(manifests, hosts);
    let commands: Vec<_> = manifests
        .node_pods(hosts)
        .into_iter()
        .map(|pod| {
            let mut env = environment(container, &pod, &manifests.settings);
            let args = command(container, &env, mounts);
            env.push(("HOSTNAME".to_owned(), pod.name.clone()));
            env.push(("GEECACHE_RESOLVE".to_owned(), dns.clone()));
            (args, env)
        })
        .collect();
    Servers::spawn_with(&commands)
}

/// The drivers' Job as `drivers` processes; each one's result.
fn run_drivers(
    manifests: &Manifests,
    hosts: &[String],
    mounts: &HashMap<String, PathBuf>,
    drivers: u32,
) -> Vec<RunResult> {
    let container = &manifests.driver_pod().containers[0];
    let settings = settings_for(manifests, drivers, Duration::from_secs(4));
    let dns = resolve(manifests, hosts);
    let children: Vec<_> = manifests
        .driver_pods(drivers)
        .into_iter()
        .map(|pod| {
            let env = environment(container, &pod, &settings);
            common::binary()
                .args(command(container, &env, mounts))
                .envs(env)
                .env("HOSTNAME", &pod.name)
                .env("GEECACHE_RESOLVE", &dns)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let out = flag(container, "--out").replace("/results", mounts["results"].to_str().unwrap());
    (0..drivers)
        .map(|index| {
            read_checked(Path::new(
                &out.replace("$(SHARD_INDEX)", &index.to_string()),
            ))
        })
        .collect()
}

/// The merge Job's command, as a process; the merged result.
fn run_merge(manifests: &Manifests, mounts: &HashMap<String, PathBuf>) -> RunResult {
    let container = &manifests.merge_pod().containers[0];
    let args = command(container, &[], mounts);
    let output = common::binary().args(&args).output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("start skew"),
        "{}",
        text(&output.stdout)
    );
    read_checked(Path::new(
        flag(container, "--out")
            .replace("/results", mounts["results"].to_str().unwrap())
            .as_str(),
    ))
}

/// The merged result does one driver's work: the same requests, and node
/// by node the same gets, loads, peer fetches and hits, so the same hit
/// ratios and loads per request.
fn assert_same_work(merged: &RunResult, one: &RunResult) {
    assert_eq!(merged.client.requests, one.client.requests);
    assert_eq!(merged.client.responses, one.client.responses);
    assert_eq!(merged.client.errors.total, 0);
    assert_eq!(
        super::shards::per_node(merged),
        super::shards::per_node(one)
    );
    let (m, o) = (
        merged.cluster.as_ref().unwrap(),
        one.cluster.as_ref().unwrap(),
    );
    assert_eq!(m.api_hit_ratio, o.api_hit_ratio);
    assert_eq!(m.peer_fetch_ratio, o.peer_fetch_ratio);
    assert_eq!(m.slowdb.loads_per_request, o.slowdb.loads_per_request);
}

/// A timed open loop: the Job's drivers together lie within one driver's
/// trials doing the same work on the same warm nodes. Requests within a
/// request a shard of the trials' range (each shard stops at its own last
/// scheduled request), the ratios within that many requests' worth of it,
/// the throughput within 5% (the union's span includes the start skew).
fn timed_shards_lie_within_one_drivers_trials(
    manifests: &Manifests,
    hosts: &[String],
    mounts: &HashMap<String, PathBuf>,
) {
    let timed = super::shards::WORKLOAD
        .replace(r#""requests": 6000,"#, r#""duration": "2s", "rate": 3000,"#);
    assert_ne!(timed, super::shards::WORKLOAD);
    std::fs::write(mounts["workload"].join("workload.json"), timed).unwrap();
    let results = &mounts["results"];
    let nodes = start_nodes(manifests, hosts, mounts);
    let trials: Vec<RunResult> = (0..3)
        .map(|_| {
            let _ = std::fs::remove_dir_all(results);
            run_drivers(manifests, hosts, mounts, 1).remove(0)
        })
        .collect();
    std::fs::remove_dir_all(results).unwrap();
    let drivers: u32 = manifests.settings["drivers"].parse().unwrap();
    run_drivers(manifests, hosts, mounts, drivers);
    nodes.stop_draining();
    let merged = run_merge(manifests, mounts);

    let slack = u64::from(drivers);
    // What the schedules asked for: sent and unsent. A shard on a busy
    // machine may leave its last scheduled requests unsent at the end (a
    // clean clone's suite saw 4 of 6,000), which a count of sent requests
    // would set against the shards' split of the schedule.
    let scheduled = |result: &RunResult| result.client.requests + result.client.unsent;
    let requests: Vec<u64> = trials.iter().map(scheduled).collect();
    let (low, high) = (
        requests.iter().min().unwrap(),
        requests.iter().max().unwrap(),
    );
    assert!(
        (low - slack..=high + slack).contains(&scheduled(&merged)),
        "merged {} requests and {} unsent against trials of {requests:?}",
        merged.client.requests,
        merged.client.unsent
    );
    assert_eq!(merged.client.errors.total, 0);
    let within = |name: &str, of: &dyn Fn(&RunResult) -> f64| {
        let values: Vec<f64> = trials.iter().map(of).collect();
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let margin = slack as f64 / *requests.iter().min().unwrap() as f64;
        let value = of(&merged);
        assert!(
            (low - margin..=high + margin).contains(&value),
            "{name}: merged {value} against trials of {values:?}"
        );
    };
    let cluster = |result: &RunResult| result.cluster.clone().unwrap();
    within("api hit ratio", &|result| {
        cluster(result).api_hit_ratio.unwrap()
    });
    within("peer-fetch ratio", &|result| {
        cluster(result).peer_fetch_ratio.unwrap()
    });
    within("loads per request", &|result| {
        cluster(result).slowdb.loads_per_request
    });
    let rates: Vec<f64> = trials
        .iter()
        .map(|trial| trial.client.throughput_rps)
        .collect();
    let (slow, fast) = (
        rates.iter().copied().fold(f64::INFINITY, f64::min),
        rates.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let rate = merged.client.throughput_rps;
    assert!(
        (slow * 0.95..=fast * 1.05).contains(&rate),
        "merged {rate:.0} req/s against trials of {rates:?}"
    );
}

#[test]
fn the_manifests_rehearse_on_loopback_as_kubernetes_would_run_them() {
    let manifests = Manifests::read();
    let directory = scratch("kubernetes-rehearsal");
    // The workload ConfigMap's file: one whose counted figures do not
    // depend on how the drivers' requests interleave.
    let workload = directory.join("workload");
    std::fs::create_dir_all(&workload).unwrap();
    std::fs::write(workload.join("workload.json"), super::shards::WORKLOAD).unwrap();
    let results = directory.join("results");
    let mounts: HashMap<String, PathBuf> = [
        ("workload".to_owned(), workload.clone()),
        ("results".to_owned(), results.clone()),
    ]
    .into();
    let hosts: Vec<String> = (0..manifests.peers().len())
        .map(|ordinal| format!("127.0.0.{}", 2 + ordinal))
        .collect();

    // One driver doing the whole work (the Job with one completion).
    let nodes = start_nodes(&manifests, &hosts, &mounts);
    let one = run_drivers(&manifests, &hosts, &mounts, 1).remove(0);
    nodes.stop_draining();
    assert!(one.shard.is_none(), "shard 0/1 is the whole run");
    std::fs::remove_dir_all(&results).unwrap();

    // The Job as the manifests have it, on fresh nodes, then the merge.
    let drivers: u32 = manifests.settings["drivers"].parse().unwrap();
    let nodes = start_nodes(&manifests, &hosts, &mounts);
    let shards = run_drivers(&manifests, &hosts, &mounts, drivers);
    nodes.stop_draining();
    for (index, shard) in shards.iter().enumerate() {
        assert_eq!(shard.shard.as_ref().unwrap().index, index as u32);
        assert_eq!(
            shard.nodes[0].url,
            manifests.peers()[0],
            "the ring keeps the DNS names"
        );
    }
    let merged = run_merge(&manifests, &mounts);
    assert_same_work(&merged, &one);

    timed_shards_lie_within_one_drivers_trials(&manifests, &hosts, &mounts);

    if let Some(podman) = podman::usable() {
        std::fs::write(workload.join("workload.json"), super::shards::WORKLOAD).unwrap();
        podman::rehearse(&podman, &manifests, &directory, &one);
    }
}

/// The rehearsal as pods, where podman can run them.
mod podman;
