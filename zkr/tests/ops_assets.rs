//! The operators' kit under deploy/ stays true to the binary: every `zkr_*` metric an alert or a dashboard panel
//! queries is one the code registers; every alert has a summary, a runbook that exists and promtool tests that see
//! it fire and stay quiet; the configs shipped for Kubernetes and systemd parse as the roles' real config structs;
//! and every environment variable they set is one a binary reads. (`bash deploy/check` runs promtool and the
//! Kubernetes schema validation.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The sources of the crates that register metrics or read the environment.
fn product_sources() -> Vec<(PathBuf, String)> {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in ["sequencer/src", "prover", "zkr/src", "verifier-contracts/settle/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    files.retain(|f| f.components().any(|c| c.as_os_str() == "src"));
    files.sort();
    files.into_iter().map(|f| (f.clone(), std::fs::read_to_string(&f).unwrap())).collect()
}

/// Metric names the code registers: the name literal a metric constructor is given (`X::new("zkr_…"`,
/// `Opts::new("zkr_…"`, `HistogramOpts::new("zkr_…"`), the name written first, possibly on the next line.
fn registered_metric_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (_, text) in product_sources() {
        let mut rest = text.as_str();
        while let Some(i) = rest.find("::new(") {
            rest = &rest[i + "::new(".len()..];
            let arg = rest.trim_start();
            if let Some(lit) = arg.strip_prefix("\"zkr_") {
                let name: String =
                    lit.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
                if lit[name.len()..].starts_with('"') {
                    names.insert(format!("zkr_{name}"));
                }
            }
        }
    }
    names
}

/// The `zkr_*` identifiers in a PromQL expression.
fn metric_names_in(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(pos) = expr[i..].find("zkr_") {
        let start = i + pos;
        let before_ok = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let name: String =
            expr[start..].chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
        if before_ok {
            out.push(name.clone());
        }
        i = start + name.len().max(1);
    }
    out
}

/// One rule of alerts.yml, as far as these checks need it.
#[derive(Debug, Default)]
struct Alert {
    name: String,
    expr: String,
    annotations: BTreeMap<String, String>,
}

/// Reads the rules file written in the repository's plain style: `- alert:` starts a rule; `expr:` holds one line
/// or a block scalar (`>`, `|`) on the lines indented deeper; annotations are `key: "value"` lines.
fn parse_alerts(text: &str) -> Vec<Alert> {
    let mut alerts: Vec<Alert> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut in_annotations = false;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(name) = trimmed.strip_prefix("- alert:") {
            alerts.push(Alert { name: name.trim().to_string(), ..Alert::default() });
            in_annotations = false;
        } else if let (Some(a), Some(v)) = (alerts.last_mut(), trimmed.strip_prefix("expr:")) {
            let v = v.trim();
            if v == ">" || v == "|" {
                let mut block = Vec::new();
                while i + 1 < lines.len() {
                    let next = lines[i + 1];
                    let ni = next.len() - next.trim_start().len();
                    if !next.trim().is_empty() && ni <= indent {
                        break;
                    }
                    block.push(next.trim());
                    i += 1;
                }
                a.expr = block.join(" ");
            } else {
                a.expr = v.to_string();
            }
        } else if trimmed.starts_with("annotations:") {
            in_annotations = true;
        } else if trimmed.starts_with("labels:") || trimmed.starts_with("for:") {
            in_annotations = false;
        } else if let (true, Some(a)) = (in_annotations, alerts.last_mut()) {
            if let Some((k, v)) = trimmed.split_once(": ") {
                a.annotations.insert(k.to_string(), v.trim().trim_matches('"').to_string());
            }
        }
        i += 1;
    }
    alerts
}

fn dashboard_exprs() -> Vec<(String, String)> {
    let dash: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/zkr.json")).expect("the dashboard is JSON");
    let mut out = Vec::new();
    for p in dash["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or("?").to_string();
            out.push((title, t["expr"].as_str().expect("every target has an expr").to_string()));
        }
    }
    out
}

/// A name a query uses resolves to a registered metric: itself, or a histogram's series of it.
fn resolves(name: &str, registered: &BTreeSet<String>) -> bool {
    registered.contains(name)
        || ["_bucket", "_sum", "_count"]
            .iter()
            .any(|s| name.strip_suffix(s).is_some_and(|base| registered.contains(base)))
}

#[test]
fn the_scanner_finds_what_the_registries_gather() {
    // cross-check the source scan against a registry built by a metrics struct's constructor
    let registry = prometheus::Registry::new();
    let _m = zkr_worker::metrics::ProverMetrics::register(&registry).unwrap();
    zkr_worker::metrics::register_up(&registry, "test").unwrap();
    let gathered: BTreeSet<String> = registry.gather().iter().map(|f| f.name().to_string()).collect();
    assert!(gathered.len() >= 10, "{gathered:?}");
    let registered = registered_metric_names();
    let missing: Vec<_> = gathered.difference(&registered).collect();
    assert!(missing.is_empty(), "the source scan misses registered metrics: {missing:?}");
    for known in ["zkr_sequencer_mempool_size", "zkr_bridge_l1_block", "zkr_finality_lag_seconds", "zkr_rollup_paused"]
    {
        assert!(registered.contains(known), "{known} not found by the scan: {registered:?}");
    }
    assert!(!registered.contains("zkr_no_such_metric"));
    assert!(!resolves("zkr_no_such_metric_bucket", &registered));
    assert!(resolves("zkr_proving_seconds_bucket", &registered));
}

#[test]
fn alerts_and_dashboard_query_only_registered_metrics() {
    let registered = registered_metric_names();
    let mut problems = Vec::new();
    let alerts = parse_alerts(&read("deploy/prometheus/alerts.yml"));
    let mut seen = 0;
    for a in &alerts {
        assert!(!a.expr.is_empty(), "alert {} has no expr", a.name);
        for n in metric_names_in(&a.expr) {
            seen += 1;
            if !resolves(&n, &registered) {
                problems.push(format!("alert {}: {n} is not registered by the code", a.name));
            }
        }
    }
    let exprs = dashboard_exprs();
    for (title, e) in &exprs {
        let names = metric_names_in(e);
        if names.is_empty() {
            problems.push(format!("dashboard panel {title:?}: {e} queries no zkr_ metric"));
        }
        for n in names {
            seen += 1;
            if !resolves(&n, &registered) {
                problems.push(format!("dashboard panel {title:?}: {n} is not registered by the code"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        alerts.len() >= 10 && exprs.len() >= 30 && seen >= 50,
        "{} alerts, {} queries, {seen} names",
        alerts.len(),
        exprs.len()
    );
    assert_eq!(metric_names_in("rate(zkr_a_total[5m]) / xzkr_b + zkr_c_bucket"), ["zkr_a_total", "zkr_c_bucket"]);
}

#[test]
fn every_alert_has_a_summary_a_runbook_and_tests_both_ways() {
    let alerts = parse_alerts(&read("deploy/prometheus/alerts.yml"));
    let tests = read("deploy/prometheus/alerts_test.yml");
    // per alert: (cases expecting it, cases expecting silence)
    let mut cases: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let lines: Vec<&str> = tests.lines().map(str::trim).collect();
    for (i, l) in lines.iter().enumerate() {
        if let Some(name) = l.strip_prefix("alertname:") {
            let expect = lines[i + 1..].iter().find(|l| l.starts_with("exp_alerts:")).expect("exp_alerts follows");
            let c = cases.entry(name.trim().to_string()).or_default();
            if expect.trim_end().ends_with("[]") {
                c.1 += 1;
            } else {
                c.0 += 1;
            }
        }
    }
    let mut problems = Vec::new();
    let names: BTreeSet<&str> = alerts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names.len(), alerts.len(), "alert names repeat");
    for a in &alerts {
        if a.annotations.get("summary").is_none_or(|s| s.is_empty()) {
            problems.push(format!("{}: no summary", a.name));
        }
        let runbook = format!("docs/runbooks/{}.md", a.name);
        match a.annotations.get("runbook_url") {
            Some(u) if u.ends_with(&runbook) => {}
            other => problems.push(format!("{}: runbook_url {other:?} does not name {runbook}", a.name)),
        }
        if !repo_root().join(&runbook).is_file() {
            problems.push(format!("{}: {runbook} does not exist", a.name));
        }
        match cases.get(&a.name) {
            Some((fire, quiet)) if *fire > 0 && *quiet > 0 => {}
            other => problems.push(format!(
                "{}: alerts_test.yml needs a case where it fires and one where it does not, has {other:?}",
                a.name
            )),
        }
    }
    for extra in ["l1-reorg", "compromised-operator-key", "bad-proof-or-verifier-bug", "planned-upgrade"] {
        if !repo_root().join(format!("docs/runbooks/{extra}.md")).is_file() {
            problems.push(format!("docs/runbooks/{extra}.md does not exist"));
        }
    }
    for name in cases.keys() {
        if !names.contains(name.as_str()) {
            problems.push(format!("alerts_test.yml tests {name}, which alerts.yml does not define"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The TOML documents a Kubernetes manifest carries in ConfigMaps (`name.toml: |` blocks), by key.
fn configmap_tomls(yaml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let lines: Vec<&str> = yaml.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim();
        if let Some(key) = t.strip_suffix(": |").filter(|k| k.ends_with(".toml")) {
            let indent = lines[i].len() - lines[i].trim_start().len();
            let mut body = String::new();
            while i + 1 < lines.len() {
                let next = lines[i + 1];
                if !next.trim().is_empty() && next.len() - next.trim_start().len() <= indent {
                    break;
                }
                body.push_str(next.get(indent + 2..).unwrap_or(""));
                body.push('\n');
                i += 1;
            }
            out.insert(key.to_string(), body);
        }
        i += 1;
    }
    out
}

fn parse_as(role: &str, text: &str, source: &str) -> Result<toml::Table, String> {
    use zkr_node::devnet::DevnetConfig;
    use zkr_node::fleet::{CoordinatorConfig, SequencerNodeConfig, WorkerNodeConfig};
    let err = |e: toml::de::Error| format!("{source} is not a valid {role} config: {e}");
    match role {
        "sequencer" => toml::from_str::<SequencerNodeConfig>(text).map(|_| ()).map_err(err)?,
        "coordinator" => toml::from_str::<CoordinatorConfig>(text).map(|_| ()).map_err(err)?,
        "worker" => toml::from_str::<WorkerNodeConfig>(text).map(|_| ()).map_err(err)?,
        "devnet" => toml::from_str::<DevnetConfig>(text).map(|_| ()).map_err(err)?,
        other => return Err(format!("{source}: unknown role {other}")),
    }
    text.parse::<toml::Table>().map_err(|e| format!("{source}: {e}"))
}

/// The shipped configs, by role: (where, TOML text).
fn shipped_configs() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (key, text) in configmap_tomls(&read("deploy/k8s/config.yaml")) {
        let role = key.trim_end_matches(".toml").to_string();
        if role != "l1" {
            out.push((role, format!("deploy/k8s/config.yaml {key}"), text));
        }
    }
    for role in ["sequencer", "coordinator", "worker", "devnet"] {
        let rel = format!("deploy/systemd/{role}.toml");
        out.push((role.to_string(), rel.clone(), read(&rel)));
    }
    out
}

#[test]
fn shipped_configs_are_the_roles_real_configs() {
    let configs = shipped_configs();
    let k8s_roles: BTreeSet<&str> =
        configs.iter().filter(|(_, w, _)| w.starts_with("deploy/k8s")).map(|(r, _, _)| r.as_str()).collect();
    assert_eq!(k8s_roles, BTreeSet::from(["coordinator", "sequencer", "worker"]));
    let problems: Vec<String> =
        configs.iter().filter_map(|(role, source, text)| parse_as(role, text, source).err()).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // a misspelt field is caught (the structs refuse unknown fields)
    assert!(parse_as("worker", "coordinator = \"http://x\"\nmetrics_lisen = \"0.0.0.0:1\"\n", "t").is_err());
    // the l1 deployment record in the ConfigMap parses as one
    let record = configmap_tomls(&read("deploy/k8s/config.yaml")).remove("l1.toml").expect("l1.toml");
    let d: zkr_settle::Deployment = toml::from_str(&record).expect("a deployment record");
    assert_eq!(d.chain_id, 31337);
}

/// Environment variable names the manifests and units set.
fn env_names() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let root = repo_root();
    for dir in ["deploy/k8s", "deploy/systemd"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir)).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let shown = f.strip_prefix(&root).unwrap().display().to_string();
            let text = std::fs::read_to_string(&f).unwrap();
            for line in text.lines().map(str::trim) {
                let name = if let Some(n) = line.strip_prefix("- name: ") {
                    Some(n)
                } else if shown.ends_with(".env.example") && !line.starts_with('#') {
                    line.split_once('=').map(|(k, _)| k)
                } else {
                    line.strip_prefix("Environment=").and_then(|v| v.split_once('=')).map(|(k, _)| k)
                };
                if let Some(n) = name.map(str::trim).filter(|n| {
                    !n.is_empty() && n.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                }) {
                    out.insert((n.to_string(), shown.clone()));
                }
            }
        }
    }
    out
}

/// Whether `path` (lowercase, nested fields split) is a field of `role`'s config: a config setting it to a string
/// may be refused for its type or a missing sibling, never as an unknown field.
fn is_config_field(role: &str, path: &[String]) -> bool {
    let Some((last, sections)) = path.split_last() else { return false };
    let mut text = String::new();
    if !sections.is_empty() {
        text.push_str(&format!("[{}]\n", sections.join(".")));
    }
    text.push_str(&format!("{last} = \"x\"\n"));
    match parse_as(role, &text, "t") {
        Ok(_) => true,
        Err(e) => !e.contains("unknown field"),
    }
}

#[test]
fn every_environment_variable_set_is_read_by_a_binary() {
    let sources: String = product_sources().into_iter().map(|(_, t)| t).collect();
    let prefixes = [
        ("ZKR_SEQUENCER_", "sequencer"),
        ("ZKR_COORDINATOR_", "coordinator"),
        ("ZKR_WORKER_", "worker"),
        ("ZKR_DEVNET_", "devnet"),
    ];
    // the variables the shipped configs name for the L1 key
    let key_envs: BTreeSet<String> = shipped_configs()
        .iter()
        .filter_map(|(_, _, text)| text.parse::<toml::Table>().ok())
        .filter_map(|t| t.get("l1")?.get("private_key_env")?.as_str().map(str::to_string))
        .collect();
    assert!(key_envs.contains("ZKR_L1_PRIVATE_KEY"), "{key_envs:?}");
    assert!(is_config_field("worker", &["metrics_listen".into()]));
    assert!(is_config_field("sequencer", &["sequencer".into(), "batch_capacity".into()]));
    assert!(!is_config_field("worker", &["metrics_lisen".into()]));
    let names = env_names();
    assert!(names.len() >= 8, "{names:?}");
    let mut problems = Vec::new();
    for (name, file) in &names {
        let literal = sources.contains(&format!("\"{name}\""));
        let config_field = prefixes.iter().any(|(prefix, role)| {
            name.strip_prefix(prefix).is_some_and(|rest| {
                let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
                is_config_field(role, &path)
            })
        });
        if !(literal || config_field || key_envs.contains(name)) {
            problems.push(format!("{file}: {name} is read by no binary"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
