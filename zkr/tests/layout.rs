//! The workspace's layout rules, checked from `cargo metadata` and the sources (docs/architecture.md explains
//! them): the statement knows no service, the kernels and the proving engine know nothing above them, the queue
//! and the blob store know no circuit, sequencer or L1, no library depends on the binary or on the benches, every
//! folder is named for its crate, and no crate reads another crate's files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Workspace {
    root: PathBuf,
    /// crate name → its manifest's folder
    dirs: BTreeMap<String, PathBuf>,
    /// crate name → workspace crates it depends on (normal dependencies only: dev-dependencies may reach further)
    deps: BTreeMap<String, BTreeSet<String>>,
    /// crates with a library target
    libs: BTreeSet<String>,
}

fn workspace() -> Workspace {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let root = PathBuf::from(meta["workspace_root"].as_str().unwrap());
    let packages = meta["packages"].as_array().unwrap();
    let names: BTreeSet<String> = packages.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    let mut ws = Workspace { root, dirs: BTreeMap::new(), deps: BTreeMap::new(), libs: BTreeSet::new() };
    for p in packages {
        let name = p["name"].as_str().unwrap().to_string();
        let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap());
        ws.dirs.insert(name.clone(), manifest.parent().unwrap().to_path_buf());
        let deps = p["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null() && names.contains(d["name"].as_str().unwrap()))
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect();
        ws.deps.insert(name.clone(), deps);
        let has_lib = p["targets"].as_array().unwrap().iter().any(|t| {
            t["kind"].as_array().unwrap().iter().any(|k| matches!(k.as_str(), Some("lib" | "rlib" | "proc-macro")))
        });
        if has_lib {
            ws.libs.insert(name);
        }
    }
    ws
}

impl Workspace {
    /// Every workspace crate `name` depends on, directly or not.
    fn closure(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![name.to_string()];
        while let Some(n) = stack.pop() {
            for d in self.deps.get(&n).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        seen
    }

    /// Fails listing every crate of `crates` that reaches one of `forbidden`.
    fn forbid(&self, rule: &str, crates: &[&str], forbidden: &[&str]) -> Vec<String> {
        let mut broken = Vec::new();
        for c in crates {
            assert!(self.dirs.contains_key(*c), "rule {rule:?} names {c}, which is not a workspace crate");
            let reach = self.closure(c);
            for f in forbidden {
                if reach.contains(*f) {
                    broken.push(format!("{rule}: {c} depends on {f}"));
                }
            }
        }
        broken
    }
}

const SERVICES: &[&str] = &[
    "zkr-queue",
    "zkr-blobs",
    "zkr-sequencer",
    "zkr-worker",
    "zkr-coordinator",
    "zkr-node",
    "zkr-settle",
    "zkr",
    "zkr-benches",
];
const L1: &[&str] = &["zkr-evm", "zkr-settle"];

#[test]
fn dependency_rules_hold() {
    let ws = workspace();
    let mut broken = Vec::new();
    broken.extend(ws.forbid("the statement knows no service", &["zkr-circuits", "zkr-ecgfp5"], SERVICES));
    broken.extend(ws.forbid(
        "kernels and the proving engine know nothing above them",
        &["zkr-gpu-kernels", "zkr-engine"],
        &[SERVICES, L1, &["zkr-circuits"]].concat(),
    ));
    broken.extend(
        ws.forbid(
            "the queue and the blob store know no circuit, sequencer or L1",
            &["zkr-queue", "zkr-blobs"],
            &[&["zkr-circuits", "zkr-sequencer", "zkr-worker", "zkr-coordinator", "zkr-node", "zkr-engine"][..], L1]
                .concat(),
        ),
    );
    broken.extend(ws.forbid(
        "the sequencer knows no prover and no L1",
        &["zkr-sequencer"],
        &[&["zkr-worker", "zkr-coordinator", "zkr-node", "zkr-engine"][..], L1].concat(),
    ));
    broken.extend(ws.forbid(
        "a worker knows no sequencer, coordinator or L1 (it gets inputs and sends proofs over gRPC)",
        &["zkr-worker"],
        &[&["zkr-sequencer", "zkr-coordinator", "zkr-node", "zkr-rollup", "zkr-generator"][..], L1].concat(),
    ));
    broken.extend(ws.forbid(
        "the coordinator knows no composition (which roles share a process is the node's business)",
        &["zkr-coordinator"],
        &["zkr-node"],
    ));
    broken.extend(ws.forbid(
        "the L1 side knows no prover role",
        &["zkr-evm", "zkr-yul", "zkr-generator", "zkr-rollup", "zkr-settle"],
        &["zkr-queue", "zkr-blobs", "zkr-sequencer", "zkr-worker", "zkr-coordinator", "zkr-node"],
    ));
    for lib in ws.libs.iter().filter(|l| *l != "zkr" && *l != "zkr-benches") {
        broken.extend(ws.forbid(
            "no library depends on the binary or on benches",
            &[lib.as_str()],
            &["zkr", "zkr-benches"],
        ));
    }
    assert!(broken.is_empty(), "layout rules broken:\n{}", broken.join("\n"));
}

#[test]
fn folders_are_named_for_their_crates() {
    let ws = workspace();
    let mut wrong = Vec::new();
    for (name, dir) in &ws.dirs {
        let folder = dir.file_name().unwrap().to_str().unwrap();
        // the binary is `zkr/`; every other crate's folder is its name without `zkr-`
        let expected = name.strip_prefix("zkr-").unwrap_or(name);
        if folder != expected {
            wrong.push(format!("{name} lives in {}/ (expected a folder named {expected})", dir.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap();
        if p.is_dir() {
            if !matches!(name, "target" | "node_modules" | ".git") {
                rust_files(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_crate_reads_another_crates_files() {
    let ws = workspace();
    let mut files = Vec::new();
    rust_files(&ws.root, &mut files);
    let owner = |p: &Path| -> Option<&PathBuf> {
        // the deepest crate folder holding the file
        ws.dirs.values().filter(|d| p.starts_with(d)).max_by_key(|d| d.components().count())
    };
    let mut leaks = Vec::new();
    for file in &files {
        let Some(home) = owner(file) else { continue };
        let text = std::fs::read_to_string(file).unwrap();
        for (i, line) in text.lines().enumerate() {
            for mac in ["include_str!(\"", "include_bytes!(\""] {
                let Some(at) = line.find(mac) else { continue };
                let rel = &line[at + mac.len()..];
                let Some(end) = rel.find('"') else { continue };
                let target = normalize(&file.parent().unwrap().join(&rel[..end]));
                if owner(&target) != Some(home) {
                    leaks.push(format!("{}:{}: {}", file.display(), i + 1, &rel[..end]));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "files read across crate boundaries:\n{}", leaks.join("\n"));
}

/// `a/b/../c` → `a/c` without touching the filesystem.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
