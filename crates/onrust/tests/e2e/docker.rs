//! docker/ without a Docker engine: what can be checked from the files.
//! Compose is read by a real YAML parser (PyYAML, with anchors and merge
//! keys resolved as Compose resolves them), the secrets come from
//! docker/make-secrets, and the container configurations are checked by
//! `onrust check-config` with their container paths pointed at this checkout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{files_under, onrust_bin, repo_root};

/// docker/compose.yaml as JSON, parsed by PyYAML.
fn compose() -> Value {
    let path = repo_root().join("docker/compose.yaml");
    let out = Command::new(crate::services::python_with_yaml())
        .args(["-c", "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"])
        .arg(&path)
        .output()
        .expect("run python");
    assert!(out.status.success(), "docker/compose.yaml is not valid YAML: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

fn services(compose: &Value) -> BTreeMap<String, Value> {
    let services = compose["services"].as_object().expect("services");
    services.iter().map(|(name, service)| (name.clone(), service.clone())).collect()
}

/// Kafka's cluster id: a UUID as 22 characters of URL-safe base64 without padding.
fn is_kraft_cluster_id(id: &str) -> bool {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let Some(values) = id.bytes().map(|b| ALPHABET.iter().position(|&a| a == b)).collect::<Option<Vec<usize>>>() else {
        return false;
    };
    // 22 characters carry 132 bits: 128 of the UUID and 4 zero bits of padding.
    id.len() == 22 && values.last().is_some_and(|last| last & 0b1111 == 0)
}

#[test]
fn the_cluster_id_check_knows_a_kraft_id() {
    assert!(is_kraft_cluster_id("MkU3OEVBNTcwNTJENDM2Qg"), "the id in Kafka's quickstart");
    assert!(!is_kraft_cluster_id("onrust-kraft-cluster-0001"), "25 characters");
    assert!(!is_kraft_cluster_id("MkU3OEVBNTcwNTJENDM2Q="), "padding is not base64url");
    assert!(!is_kraft_cluster_id("MkU3OEVBNTcwNTJENDM2Qh"), "low bits beyond the 128 must be zero");
}

#[test]
fn every_service_has_a_healthcheck_and_a_restart_policy() {
    let compose = compose();
    let services = services(&compose);
    assert!(services.len() >= 10, "{:?}", services.keys());
    for (name, service) in &services {
        let test = service["healthcheck"]["test"].as_array().unwrap_or_else(|| panic!("{name}: no healthcheck"));
        assert_eq!(test.first().and_then(Value::as_str), Some("CMD"), "{name}: exec form, no shell in slim images");
        assert!(test.len() >= 2, "{name}: {test:?}");
        let restart = service["restart"].as_str().unwrap_or_else(|| panic!("{name}: no restart policy"));
        assert!(["unless-stopped", "always", "on-failure"].contains(&restart), "{name}: restart {restart}");
        if service["image"].as_str().is_some_and(|i| i.starts_with("onrust")) || !service["build"].is_null() {
            // onrust checks itself: `onrust health` with the configuration the service runs.
            let test: Vec<&str> = test.iter().filter_map(Value::as_str).collect();
            assert_eq!(test, ["CMD", "onrust", "health"], "{name}");
            let config = service["environment"]["ONRUST_CONFIG"].as_str().unwrap_or_else(|| panic!("{name}"));
            let mounted: Vec<&str> =
                service["volumes"].as_array().expect("volumes").iter().filter_map(Value::as_str).collect();
            assert!(mounted.iter().any(|v| v.ends_with(&format!(":{config}:ro"))), "{name}: {config} in {mounted:?}");
            let command: Vec<&str> =
                service["command"].as_array().expect("command").iter().filter_map(Value::as_str).collect();
            assert_eq!(command.first(), Some(&"run"), "{name}");
            assert!(!command.contains(&"--config"), "{name}: run and health read the same ONRUST_CONFIG");
        }
    }
    // The brokers start before the roles that need them.
    let depends = &services["onrust-ingest"]["depends_on"];
    assert_eq!(depends["kafka-1"]["condition"], "service_healthy", "{depends}");
}

#[test]
fn kafka_has_a_kraft_cluster_id_shared_by_every_broker() {
    let compose = compose();
    let ids: Vec<String> = services(&compose)
        .values()
        .filter(|s| s["image"].as_str().is_some_and(|i| i.starts_with("apache/kafka")))
        .map(|s| s["environment"]["CLUSTER_ID"].as_str().expect("CLUSTER_ID").to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "three brokers");
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    assert!(is_kraft_cluster_id(&ids[0]), "{}: not a 22-character base64 UUID", ids[0]);
}

#[test]
fn grafana_is_set_with_settings_it_knows() {
    let compose = compose();
    let env = &services(&compose)["grafana"]["environment"];
    assert!(env.get("GF_DEFAULT_LOCALE").is_none(), "not a Grafana setting");
    assert_eq!(env["GF_USERS_DEFAULT_LANGUAGE"], "nl-NL", "[users] default_language");
    for key in env.as_object().expect("environment").keys() {
        // GF_<SECTION>_<KEY>: each of these sections exists in Grafana's defaults.ini.
        let known = ["GF_AUTH_ANONYMOUS_", "GF_USERS_", "GF_DASHBOARDS_", "GF_SECURITY_", "GF_SERVER_"];
        assert!(known.iter().any(|p| key.starts_with(p)), "{key}");
    }
}

/// Runs docker/make-secrets into a fresh folder; that folder.
fn made_secrets() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(repo_root().join("docker/make-secrets")).arg(dir.path()).output().expect("make-secrets");
    assert!(out.status.success(), "make-secrets: {}", String::from_utf8_lossy(&out.stderr));
    dir
}

#[test]
fn every_secret_compose_mounts_is_made_by_make_secrets() {
    let compose = compose();
    let secrets = made_secrets();
    let declared = compose["secrets"].as_object().expect("secrets");
    assert!(declared.len() >= 5, "{declared:?}");
    for (name, secret) in declared {
        let file = secret["file"].as_str().expect("file");
        let file = file.strip_prefix("./secrets/").unwrap_or_else(|| panic!("{name}: {file} outside docker/secrets"));
        let written = secrets.path().join(file);
        let text = std::fs::read_to_string(&written).unwrap_or_else(|_| panic!("make-secrets wrote no {file}"));
        assert!(!text.trim().is_empty(), "{file}");
    }
    // The sink's certificate is for the name onrust connects to, and its CA signed it.
    let verify = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(secrets.path().join("smtp-ca.pem"))
        .arg("-verify_hostname")
        .arg("smtp-sink")
        .arg(secrets.path().join("smtp-sink-cert.pem"))
        .output()
        .expect("openssl");
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    // A second run keeps what is there.
    let token = std::fs::read(secrets.path().join("http-token")).expect("token");
    let again = Command::new(repo_root().join("docker/make-secrets")).arg(secrets.path()).output().expect("again");
    assert!(again.status.success());
    assert_eq!(std::fs::read(secrets.path().join("http-token")).expect("token"), token, "kept");
}

/// The container configurations pass check-config, with `/etc/onrust/` pointed
/// at config/, every `/run/secrets/<name>` at the file compose mounts there
/// (made by make-secrets) and the data dir at a temporary folder.
#[test]
fn the_docker_configurations_pass_check_config_with_a_working_alert_path() {
    let compose = compose();
    let secrets = made_secrets();
    // Read here from a host folder, a secret must be its owner's only (S13);
    // under /run/secrets/ in the container it may be readable by others, as
    // Compose mounts it (onrust_durable::check_secret_file).
    for file in ["http-token", "smtp-password"] {
        let path = secrets.path().join(file);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config_dir = repo_root().join("config");
    for name in ["onrust.docker.toml", "onrust.kafka.toml"] {
        let mut text = std::fs::read_to_string(repo_root().join("docker").join(name)).expect("docker config");
        for (secret, entry) in compose["secrets"].as_object().expect("secrets") {
            let file = entry["file"].as_str().and_then(|f| f.strip_prefix("./secrets/")).expect("file");
            text = text
                .replace(&format!("/run/secrets/{secret}\""), &format!("{}\"", secrets.path().join(file).display()));
        }
        assert!(!text.contains("/run/secrets/"), "{name} names a secret compose does not mount");
        let text = text
            .replace("/etc/onrust/", &format!("{}/", config_dir.display()))
            .replace("/var/lib/onrust/data", &dir.path().join("data").display().to_string());
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let out = Command::new(onrust_bin()).args(["check-config", "--config"]).arg(&path).output().expect("run");
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "docker/{name}:\n{said}");
        if name == "onrust.kafka.toml" {
            assert!(said.contains("Kafka"), "the bus is kafka:\n{said}");
        }
        // Rules, recipients and the relay: alerts reach someone.
        assert!(said.contains("alerts:       4 rules"), "docker/{name}:\n{said}");
        assert!(said.contains("recipients:   2 officers, 1 supervisors, 1 mayors"), "docker/{name}:\n{said}");
        assert!(said.contains("smtp:         smtp-sink:1025 tls Starttls"), "docker/{name}:\n{said}");
        assert!(said.contains("monitor token required"), "docker/{name}:\n{said}");
    }
}

/// One `.dockerignore` line, as Docker reads it: a glob over the path
/// relative to the context (`*` within a segment, `**` over any number of
/// segments); a pattern that matches a folder leaves out all of it.
fn ignored(patterns: &[(bool, Vec<String>)], path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = false;
    for (negated, pattern) in patterns {
        let matches = (1..=segments.len()).any(|n| glob(pattern, &segments[..n]));
        if matches {
            out = !negated;
        }
    }
    out
}

fn glob(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => (0..=path.len()).any(|skip| glob(rest, &path[skip..])),
        Some((first, rest)) => {
            path.split_first().is_some_and(|(segment, tail)| segment_matches(first, segment) && glob(rest, tail))
        }
    }
}

fn segment_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else { return false };
            // The star takes any number of characters: try each place the rest may start.
            let starts = rest.char_indices().map(|(i, _)| i).chain(std::iter::once(rest.len()));
            starts.into_iter().any(|i| segment_matches(tail, &rest[i..]))
        }
    }
}

fn dockerignore() -> Vec<(bool, Vec<String>)> {
    let text = std::fs::read_to_string(repo_root().join(".dockerignore")).expect(".dockerignore");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (negated, l) = l.strip_prefix('!').map_or((false, l), |rest| (true, rest));
            (negated, l.trim_matches('/').split('/').map(str::to_owned).collect())
        })
        .collect()
}

#[test]
fn the_build_context_leaves_out_data_secrets_builds_and_history() {
    let patterns = dockerignore();
    for path in [
        "data/keys/2026-11.key",
        "data/archive/2026-W49/meta.json",
        "data/audit/audit.jsonl",
        "data/alerts/outbox.jsonl",
        "config/data/cursors/nos.json",
        "target/release/onrust",
        "crates/onrust/target/debug/onrust",
        "docker/secrets/http-token",
        "docker/secrets/smtp-sink-key.pem",
        ".git/HEAD",
        "somewhere/else/notifications.jsonl",
        "backup/relay.pem",
    ] {
        assert!(ignored(&patterns, path), "{path} would be sent into the build");
    }
    // Everything the build needs stays: every file of this checkout but those.
    let root = repo_root();
    let mut sent = 0;
    for file in files_under_checkout(&root) {
        let relative = file.strip_prefix(&root).expect("under root").to_string_lossy().replace('\\', "/");
        assert!(!ignored(&patterns, &relative), "{relative} is a source file, but .dockerignore leaves it out");
        sent += 1;
    }
    assert!(sent > 100, "{sent} files");
    for needed in ["Cargo.toml", "Cargo.lock", "crates/onrust/src/main.rs", "config/onrust.toml", "docker/Dockerfile"] {
        assert!(!ignored(&patterns, needed), "{needed}");
    }
}

/// The checkout's files, without what is never source: build output, history,
/// a local data dir and the secrets.
fn files_under_checkout(root: &Path) -> Vec<PathBuf> {
    let skip = [".git", "target", "data", "secrets"];
    std::fs::read_dir(root)
        .expect("read root")
        .flatten()
        .map(|e| e.path())
        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| skip.contains(&n)))
        .flat_map(|p| if p.is_dir() { files_without(&p, &skip) } else { vec![p] })
        .collect()
}

fn files_without(dir: &Path, skip: &[&str]) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str().to_str().is_some_and(|c| skip.contains(&c))))
        .filter(|p| p.extension().is_none_or(|e| e != "swp"))
        .collect()
}

#[test]
fn the_dockerignore_reader_follows_dockers_rules() {
    let patterns: Vec<(bool, Vec<String>)> = [(false, "**/data"), (false, "*.md"), (true, "README.md")]
        .iter()
        .map(|(n, p)| (*n, p.split('/').map(str::to_owned).collect()))
        .collect();
    assert!(ignored(&patterns, "data/x"));
    assert!(ignored(&patterns, "a/b/data/c/d"));
    assert!(!ignored(&patterns, "a/database/c"));
    assert!(ignored(&patterns, "CHANGELOG.md"));
    assert!(!ignored(&patterns, "README.md"), "a later ! pattern takes it back");
    assert!(!ignored(&patterns, "docs/CHANGELOG.md"), "* stays within a segment");
}

#[test]
fn the_image_checks_itself_with_onrust_health() {
    let dockerfile = std::fs::read_to_string(repo_root().join("docker/Dockerfile")).expect("Dockerfile");
    let healthcheck = dockerfile.lines().find(|l| l.starts_with("HEALTHCHECK")).expect("a HEALTHCHECK");
    assert!(healthcheck.contains(r#"CMD ["onrust", "health"]"#), "{healthcheck}");
    assert!(dockerfile.contains("ENV ONRUST_CONFIG="), "health reads the same configuration as run");
}
