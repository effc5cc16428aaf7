//! The commands that README.md and docs/ show exist: every `zkr …` line in a code block (the usage summary and
//! the examples) names a real subcommand, and each `--flag` on it is one that subcommand's `--help` lists. Runs
//! only `zkr … --help`, so it is fast; what the commands do is tested elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

/// README.md and every Markdown file under docs/.
fn doc_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Lines inside fenced code blocks, with their line numbers.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut inside = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if inside {
            out.push((i + 1, line));
        }
    }
    out
}

/// The arguments of a `zkr` invocation on `line`, if it has one: after `zkr`, or after `--` of `cargo run -p zkr`.
/// Leading `VAR=value` assignments are skipped; a `#` comment and what follows `&&` or `;` are cut off (` | ` is
/// kept: the usage summary uses it for alternatives).
fn zkr_args(line: &str) -> Option<Vec<String>> {
    let line = line.split(" #").next().unwrap_or(line);
    let first = line.split("&&").next().unwrap_or(line);
    let first = first.split(';').next().unwrap_or(first);
    let mut words = first.split_whitespace().skip_while(|w| w.contains('=') && !w.starts_with('-')).peekable();
    match words.next()? {
        "zkr" | "target/debug/zkr" | "target/release/zkr" => Some(words.map(str::to_string).collect()),
        "cargo" => {
            let rest: Vec<&str> = words.collect();
            let runs_zkr = rest.first() == Some(&"run") && rest.windows(2).any(|w| w == ["-p", "zkr"]);
            let sep = rest.iter().position(|w| *w == "--")?;
            runs_zkr.then(|| rest[sep + 1..].iter().map(|s| s.to_string()).collect())
        }
        _ => None,
    }
}

/// Leading words that look like subcommand names (`bench l1`), before flags, placeholders and paths.
fn subcommand_path(args: &[String]) -> Vec<String> {
    args.iter()
        .take_while(|a| {
            !a.is_empty()
                && a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !a.starts_with('-')
        })
        .cloned()
        .collect()
}

/// Every `--flag` named on the line, also inside `[--flag X]` and `--flag=X`.
fn flags(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for a in args {
        for piece in a.split(['[', ']', '|']) {
            if let Some(name) = piece.strip_prefix("--") {
                let name: String =
                    name.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-').collect();
                if !name.is_empty() && name != "help" {
                    out.push(format!("--{name}"));
                }
            }
        }
    }
    out
}

#[test]
fn documented_commands_and_flags_exist() {
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let shown = file.strip_prefix(repo_root()).unwrap().display().to_string();
        for (n, line) in code_lines(&text) {
            let Some(args) = zkr_args(line) else { continue };
            let path = subcommand_path(&args);
            if path.is_empty() {
                problems.push(format!("{shown}:{n}: `{}` names no subcommand", line.trim()));
                continue;
            }
            let out = Command::new(env!("CARGO_BIN_EXE_zkr")).args(&path).arg("--help").output().unwrap();
            let help = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                problems.push(format!("{shown}:{n}: `zkr {}` is not a command: {}", path.join(" "), err.trim()));
                continue;
            }
            for flag in flags(&args) {
                if !help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).any(|w| w == flag) {
                    problems.push(format!("{shown}:{n}: `zkr {}` has no flag {flag}", path.join(" ")));
                }
            }
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "the docs name commands or flags the binary lacks:\n{}", problems.join("\n"));
    assert!(checked >= 10, "only {checked} documented commands found: is the parser still reading the code blocks?");
    eprintln!("{checked} documented zkr command lines checked against --help");
}

#[test]
fn the_parser_reads_what_the_docs_write() {
    let a = |s: &str| zkr_args(s).map(|v| v.join(" "));
    assert_eq!(a("ZKR_WORKER_TOKEN=s zkr worker --backend auto   # note").as_deref(), Some("worker --backend auto"));
    assert_eq!(a("cargo run --release -p zkr -- devnet --demo").as_deref(), Some("devnet --demo"));
    assert_eq!(a("cargo test --workspace"), None);
    assert_eq!(a("createdb -h 127.0.0.1 zkr"), None);
    let args: Vec<String> =
        "bench l1 [--out bench-results] [--backend auto|cpu|cuda] PROOF".split(' ').map(Into::into).collect();
    assert_eq!(subcommand_path(&args), ["bench", "l1"]);
    assert_eq!(flags(&args), ["--out", "--backend"]);
    // a flag the binary lacks is caught
    let out = Command::new(env!("CARGO_BIN_EXE_zkr")).args(["devnet", "--help"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("--no-such-flag"));
}
