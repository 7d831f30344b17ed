//! The manifests' rehearsal as pods: `podman kube play` of Pods made from
//! the StatefulSet's and the Jobs' pod templates, as their controllers would
//! make them, in an image built FROM scratch out of this build's binary.

use super::*;

/// `podman`, when it runs pods here; `None` (said on stderr) when not,
/// unless `GEECACHE_PODMAN=required`, which `.ci/run` sets.
pub(super) fn usable() -> Option<String> {
    let works = std::process::Command::new("podman")
        .args(["info", "--format", "{{.Host.OCIRuntime.Name}}"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !works {
        assert_ne!(
            std::env::var("GEECACHE_PODMAN").as_deref(),
            Ok("required"),
            "GEECACHE_PODMAN=required, and podman does not run here"
        );
        eprintln!("podman does not run here: the rehearsal as pods is skipped");
        return None;
    }
    Some("podman".to_owned())
}

fn podman(podman: &str, args: &[&str]) -> std::process::Output {
    let output = std::process::Command::new(podman)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "podman {args:?}: {}",
        text(&output.stderr)
    );
    output
}

/// Pods played from files, taken down when dropped.
struct Played {
    podman: String,
    files: Vec<PathBuf>,
}

impl Drop for Played {
    fn drop(&mut self) {
        for file in &self.files {
            let _ = std::process::Command::new(&self.podman)
                .args(["kube", "down", file.to_str().unwrap()])
                .output();
        }
    }
}

/// A Pod of `template` as the controller makes it for `pod`, with what
/// the rehearsal changes: the host's network (pod networks here are a
/// range nothing may send to), the local image, the volumes as the
/// directories in `mounts`, the environment given literally, no port
/// mappings (the host's network has none), and a short grace period.
fn pod_of(
    template: &PodSpec,
    pod: &PodFacts,
    settings: &BTreeMap<String, String>,
    (image, dns, mounts): (&str, &str, &HashMap<String, PathBuf>),
) -> Value {
    let mut spec = template.clone();
    spec.host_network = Some(true);
    spec.restart_policy = Some("Never".to_owned());
    // Taken down at the rehearsal's end without waiting out the drain.
    spec.termination_grace_period_seconds = Some(1);
    for container in &mut spec.containers {
        let mut env = environment(container, pod, settings);
        container.args = Some(
            container
                .args
                .iter()
                .flatten()
                .map(|arg| expand(arg, &env))
                .collect(),
        );
        env.push(("GEECACHE_RESOLVE".to_owned(), dns.to_owned()));
        container.env = Some(
            env.into_iter()
                .map(|(name, value)| k8s_openapi::api::core::v1::EnvVar {
                    name,
                    value: Some(value),
                    value_from: None,
                })
                .collect(),
        );
        container.image = Some(image.to_owned());
        container.image_pull_policy = Some("Never".to_owned());
        // The host's network maps no ports: the probe names its port
        // by number instead of by the name of a port mapped.
        let original = container.clone();
        if let Some(get) = container
            .readiness_probe
            .as_mut()
            .and_then(|probe| probe.http_get.as_mut())
        {
            let named = serde_json::to_value(&get.port).unwrap();
            if let Some(name) = named.as_str() {
                get.port = k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(
                    port_named(&original, name),
                );
            }
        }
        container.ports = None;
    }
    for volume in spec.volumes.iter_mut().flatten() {
        let local = &mounts[&volume.name];
        *volume = k8s_openapi::api::core::v1::Volume {
            name: volume.name.clone(),
            host_path: Some(k8s_openapi::api::core::v1::HostPathVolumeSource {
                path: local.to_str().unwrap().to_owned(),
                type_: Some("Directory".to_owned()),
            }),
            ..Default::default()
        };
    }
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": pod.name },
        "spec": spec,
    })
}

/// Plays `pods` (name, manifest) from files in `directory`.
fn play(podman_path: &str, played: &mut Played, directory: &Path, pods: &[(String, Value)]) {
    for (name, pod) in pods {
        let file = directory.join(format!("{name}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(pod).unwrap()).unwrap();
        podman(podman_path, &["kube", "play", file.to_str().unwrap()]);
        played.files.push(file);
    }
}

/// Waits for the container `container` of each of `pods` to exit, and
/// checks it exited 0.
fn wait_all(podman_path: &str, pods: &[String], container: &str) {
    for pod in pods {
        let name = format!("{pod}-{container}");
        let output = podman(podman_path, &["wait", &name]);
        let code = text(&output.stdout).trim().to_owned();
        let logs = std::process::Command::new(podman_path)
            .args(["logs", &name])
            .output()
            .unwrap();
        assert_eq!(code, "0", "{name} exited {code}: {}", text(&logs.stderr));
    }
}

pub(super) fn rehearse(
    podman_path: &str,
    manifests: &Manifests,
    directory: &Path,
    one: &RunResult,
) {
    // The image: this build's binary, FROM scratch.
    let image = "localhost/geecache-bench:rehearsal";
    let built = std::process::Command::new("deploy/container/build-local.sh")
        .arg(image)
        .env("GEECACHE_BINARY", env!("CARGO_BIN_EXE_geecache-bench"))
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built.stderr));

    let pods_dir = directory.join("pods");
    let results = directory.join("pod-results");
    std::fs::create_dir_all(&pods_dir).unwrap();
    std::fs::create_dir_all(&results).unwrap();
    // The pods run as uid 65532.
    std::process::Command::new("chmod")
        .args(["0777", results.to_str().unwrap()])
        .status()
        .unwrap();
    let mounts: HashMap<String, PathBuf> = [
        ("workload".to_owned(), directory.join("workload")),
        ("results".to_owned(), results.clone()),
    ]
    .into();
    // Other hosts than the processes' rehearsal.
    let hosts: Vec<String> = (0..manifests.peers().len())
        .map(|ordinal| format!("127.0.0.{}", 12 + ordinal))
        .collect();
    let dns = resolve(manifests, &hosts);
    let mut played = Played {
        podman: podman_path.to_owned(),
        files: Vec::new(),
    };

    let nodes: Vec<(String, Value)> = manifests
        .node_pods(&hosts)
        .into_iter()
        .map(|pod| {
            let manifest = pod_of(
                manifests.node_pod(),
                &pod,
                &manifests.settings,
                (image, &dns, &mounts),
            );
            (pod.name, manifest)
        })
        .collect();
    play(podman_path, &mut played, &pods_dir, &nodes);

    let drivers: u32 = manifests.settings["drivers"].parse().unwrap();
    let settings = settings_for(manifests, drivers, Duration::from_secs(6));
    let shards: Vec<(String, Value)> = manifests
        .driver_pods(drivers)
        .into_iter()
        .map(|pod| {
            let manifest = pod_of(
                manifests.driver_pod(),
                &pod,
                &settings,
                (image, &dns, &mounts),
            );
            (pod.name, manifest)
        })
        .collect();
    play(podman_path, &mut played, &pods_dir, &shards);
    let names: Vec<String> = shards.iter().map(|(name, _)| name.clone()).collect();
    wait_all(podman_path, &names, "driver");

    let merge = vec![(
        "merge".to_owned(),
        pod_of(
            manifests.merge_pod(),
            &PodFacts {
                name: "merge".to_owned(),
                ip: "127.0.0.1".to_owned(),
                index: None,
            },
            &settings,
            (image, &dns, &mounts),
        ),
    )];
    play(podman_path, &mut played, &pods_dir, &merge);
    wait_all(podman_path, &["merge".to_owned()], "merge");
    drop(played);

    let merged = read_checked(&results.join("merged.json"));
    assert_eq!(merged.merged_from.len(), drivers as usize);
    assert_same_work(&merged, one);
}
