//! One config struct per component: defaults, then a TOML file, then environment
//! overrides `<PREFIX>_<FIELD>` (nested fields joined with `__`, e.g.
//! `ZKR_SEQUENCER_GENESIS__DEMO_SEED=7`). Values parse as TOML literals when they can
//! (numbers, booleans), otherwise as strings.

use std::path::Path;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn literal(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((first, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return;
    }
    let entry = table.entry(first.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(t) = entry {
        set_path(t, rest, value);
    }
}

/// Loads `T` from its defaults, an optional TOML file, and `prefix`-ed environment variables.
pub fn load<T: DeserializeOwned + Serialize + Default>(file: Option<&Path>, prefix: &str) -> Result<T> {
    load_with_env(file, prefix, std::env::vars())
}

pub fn load_with_env<T: DeserializeOwned + Serialize + Default>(
    file: Option<&Path>,
    prefix: &str,
    env: impl Iterator<Item = (String, String)>,
) -> Result<T> {
    let mut table = toml::Table::try_from(T::default()).context("serializing the default config")?;
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        let file_table: toml::Table = text.parse().with_context(|| format!("parsing {} as TOML", path.display()))?;
        merge(&mut table, file_table);
    }
    let want = format!("{prefix}_");
    let mut overrides = toml::Table::new();
    for (k, v) in env {
        if let Some(rest) = k.strip_prefix(&want) {
            let path: Vec<String> = rest.split("__").map(|s| s.to_lowercase()).collect();
            set_path(&mut overrides, &path, literal(&v));
        }
    }
    merge(&mut table, overrides);
    T::deserialize(toml::Value::Table(table)).context("invalid configuration (file or environment overrides)")
}

/// Keys that name the variant of a tagged section (`[blobs] kind`, `[l1] mode`).
const TAGS: [&str; 2] = ["kind", "mode"];

/// Deep merge, except that a section switching to another variant replaces the default's section
/// whole (the fields of `kind = "fs"` mean nothing to `kind = "s3"`).
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) if !switches_variant(b, &o) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn switches_variant(base: &toml::Table, over: &toml::Table) -> bool {
    TAGS.iter().any(|t| over.get(*t).is_some_and(|v| base.get(*t) != Some(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Inner {
        seed: u64,
    }

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Cfg {
        name: String,
        workers: usize,
        inner: Inner,
    }

    impl Default for Cfg {
        fn default() -> Self {
            Self { name: "x".into(), workers: 2, inner: Inner::default() }
        }
    }

    #[test]
    fn defaults_file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "workers = 5\n[inner]\nseed = 3\n").unwrap();
        let env = vec![("T_NAME".to_string(), "hello".to_string()), ("T_INNER__SEED".into(), "9".into())];
        let c: Cfg = load_with_env(Some(&f), "T", env.into_iter()).unwrap();
        assert_eq!(c, Cfg { name: "hello".into(), workers: 5, inner: Inner { seed: 9 } });
        let d: Cfg = load_with_env(None, "T", std::iter::empty()).unwrap();
        assert_eq!(d, Cfg::default());
    }

    #[test]
    fn bad_values_and_unknown_fields_are_errors() {
        let env = vec![("T_WORKERS".to_string(), "many".to_string())];
        assert!(load_with_env::<Cfg>(None, "T", env.into_iter()).is_err());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "wrokers = 5\n").unwrap();
        let e = load_with_env::<Cfg>(Some(&f), "T", std::iter::empty()).unwrap_err();
        assert!(format!("{e:#}").contains("wrokers"), "{e:#}");
    }

    #[test]
    fn a_section_switching_variant_drops_the_defaults_fields() {
        use zkr_node::fleet::CoordinatorConfig;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[blobs]\nkind = \"s3\"\nendpoint = \"http://127.0.0.1:8333\"\nbucket = \"zkr\"\n").unwrap();
        let c: CoordinatorConfig = load_with_env(Some(&f), "T", std::iter::empty()).unwrap();
        let s3 = c.blobs.s3_config().expect("an S3 store");
        assert_eq!((s3.endpoint.as_str(), s3.bucket.as_str()), ("http://127.0.0.1:8333", "zkr"));
        // the same from the environment alone, in any order
        let env = [("T_BLOBS__BUCKET", "b"), ("T_BLOBS__ENDPOINT", "http://h:1"), ("T_BLOBS__KIND", "s3")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let c: CoordinatorConfig = load_with_env(None, "T", env.into_iter()).unwrap();
        assert_eq!(c.blobs.s3_config().expect("an S3 store").bucket, "b");
        // staying on the default variant still merges field by field
        let env = [("T_BLOBS__DIR".to_string(), "/srv/blobs".to_string())];
        let c: CoordinatorConfig = load_with_env(None, "T", env.into_iter()).unwrap();
        assert!(c.blobs.s3_config().is_none());
        assert!(toml::to_string(&c.blobs).unwrap().contains("/srv/blobs"));
        // a field of another variant is still refused
        std::fs::write(&f, "[blobs]\nkind = \"s3\"\nendpoint = \"http://h:1\"\nbucket = \"b\"\ndir = \"/x\"\n")
            .unwrap();
        let e = load_with_env::<CoordinatorConfig>(Some(&f), "T", std::iter::empty()).unwrap_err();
        assert!(format!("{e:#}").contains("dir"), "{e:#}");
    }

    #[test]
    fn the_wrap_parameters_come_from_the_file_or_the_environment() {
        use zkr_circuits::wrap::WrapParams;
        use zkr_node::fleet::{CoordinatorConfig, WorkerNodeConfig};
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "wrap = \"l1\"\n").unwrap();
        let c: CoordinatorConfig = load_with_env(Some(&f), "T", std::iter::empty()).unwrap();
        assert_eq!(c.wrap, WrapParams::L1);
        let d: CoordinatorConfig = load_with_env(None, "T", std::iter::empty()).unwrap();
        assert_eq!(d.wrap, WrapParams::DEFAULT);
        let env = [("T_WRAP".to_string(), "9:9:23:3:shrink".to_string())];
        let w: WorkerNodeConfig = load_with_env(None, "T", env.into_iter()).unwrap();
        assert_eq!(w.wrap, WrapParams { shrink: true, ..WrapParams::parse("9:9:23:3").unwrap() });
        // under 100 bits, or not parameters at all: refused, saying why
        let env = [("T_WRAP".to_string(), "7:8:20:4".to_string())];
        let e = load_with_env::<WorkerNodeConfig>(None, "T", env.into_iter()).unwrap_err();
        assert!(format!("{e:#}").contains("76 bits"), "{e:#}");
        std::fs::write(&f, "wrap = \"fast\"\n").unwrap();
        let e = load_with_env::<CoordinatorConfig>(Some(&f), "T", std::iter::empty()).unwrap_err();
        assert!(format!("{e:#}").contains("\"fast\""), "{e:#}");
    }
}
