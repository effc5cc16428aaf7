//! Typed configuration. Every field has a default, so `SequencerConfig::default()` runs an
//! embedded devnet sequencer untouched; a TOML file (loaded by the `zkr` binary) may set any
//! subset of the fields.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use zkr_circuits::schnorr::SecretKey;
use zkr_circuits::state::State;
use zkr_circuits::tx::Domain;

/// Name of the SQLite file inside [`SequencerConfig::data_dir`].
pub const DB_FILE: &str = "sequencer.db";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequencerConfig {
    /// Directory of the sequencer's durable store (`<data_dir>/sequencer.db`); created if missing.
    pub data_dir: PathBuf,
    /// Address of the wallet gRPC API.
    pub listen: SocketAddr,
    /// Address of the wallet API's HTTP/JSON gateway (for browsers; `crate::http`); unset: no gateway. The devnet
    /// serves it on 127.0.0.1:50080.
    pub http_listen: Option<SocketAddr>,
    /// Origins whose pages may call the HTTP gateway (CORS), e.g. `["https://wallet.example"]`; `"*"`: any origin
    /// (the API uses no cookies or other credentials, so any page could only do what any client can).
    pub http_cors_origins: Vec<String>,
    /// HTTP connections served at once; further ones wait in the listen backlog until one closes.
    pub http_max_connections: usize,
    /// Transaction slots per batch (the batch circuit's capacity).
    pub batch_capacity: usize,
    /// A non-empty open batch is sealed this long after its first transaction executed.
    pub max_wait_ms: u64,
    /// How far ahead of an account's next nonce a transaction may be and still wait in the
    /// mempool for the gap to fill (e.g. 16: nonces `next ..= next + 16` are accepted).
    pub mempool_window: u32,
    /// The smallest fee (amount units) a submitted transaction may pay; less is refused (`fee_too_low`). The wallet
    /// API's GetInfo reports it.
    pub min_fee: u64,
    /// Largest gRPC request accepted (bytes); larger ones are refused with OUT_OF_RANGE
    /// (reason `too_large`).
    pub max_request_bytes: usize,
    /// Open `StreamStatus` streams allowed in total; more are refused with RESOURCE_EXHAUSTED.
    pub max_status_streams: usize,
    /// Open `StreamStatus` streams allowed per client IP address.
    pub max_status_streams_per_client: usize,
    /// How often the progress source is polled for sealed, not yet finalized batches.
    pub progress_poll_ms: u64,
    /// First delay before a failed batch hand-off is retried (doubles up to 30 s).
    pub handoff_retry_ms: u64,
    /// A batch holding an L1 priority operation (deposit, forced exit) is sealed at the latest this many seconds
    /// before the operation expires on L1, whatever `max_wait_ms` says: its epoch must still be proven and executed
    /// in time.
    pub priority_seal_margin_s: u64,
    pub genesis: GenesisConfig,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./zkr-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            http_listen: None,
            http_cors_origins: vec!["*".to_string()],
            http_max_connections: 1024,
            batch_capacity: 4,
            max_wait_ms: 2000,
            mempool_window: 16,
            min_fee: 0,
            max_request_bytes: 64 * 1024,
            max_status_streams: 1024,
            max_status_streams_per_client: 32,
            progress_poll_ms: 1000,
            handoff_retry_ms: 500,
            priority_seal_margin_s: 24 * 3600,
            genesis: GenesisConfig::default(),
        }
    }
}

impl SequencerConfig {
    /// The SQLite file: `<data_dir>/sequencer.db`.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join(DB_FILE)
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.batch_capacity == 0 || self.batch_capacity > 4096 {
            return Err(format!("batch_capacity must be in 1..=4096, got {}", self.batch_capacity));
        }
        if self.max_wait_ms == 0 {
            return Err("max_wait_ms must be positive".into());
        }
        if self.max_request_bytes < 1024 {
            return Err(format!("max_request_bytes must be at least 1024, got {}", self.max_request_bytes));
        }
        if self.max_status_streams == 0 || self.max_status_streams_per_client == 0 {
            return Err("max_status_streams and max_status_streams_per_client must be positive".into());
        }
        if self.http_max_connections == 0 {
            return Err("http_max_connections must be positive".into());
        }
        if let Some(o) = self.http_cors_origins.iter().find(|o| *o != "*" && !o.contains("://")) {
            return Err(format!("http_cors_origins: {o:?} is not an origin (scheme://host[:port]) or \"*\""));
        }
        if self.progress_poll_ms == 0 || self.handoff_retry_ms == 0 {
            return Err("progress_poll_ms and handoff_retry_ms must be positive".into());
        }
        if self.genesis.demo_accounts == 0 {
            return Err("genesis.demo_accounts must be positive".into());
        }
        if self.genesis.fee_account as usize >= self.genesis.demo_accounts {
            return Err(format!(
                "genesis.fee_account {} is not a genesis account (0..{})",
                self.genesis.fee_account, self.genesis.demo_accounts
            ));
        }
        Ok(())
    }
}

/// The genesis state: `demo_accounts` accounts owned by `zkr_circuits::demo::keys(demo_seed, n)`,
/// each with `demo::GENESIS_FUNDS` (the spare last key owns nothing; fees go to `fee_account`), in the domain
/// (`chain_id`, `rollup_id`)
/// that every signature must be made for. `chain_id` is the L1's; `rollup_id` tells this rollup from any other on
/// that chain, and the L1 contract is deployed with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenesisConfig {
    pub demo_seed: u64,
    pub demo_accounts: usize,
    pub chain_id: u64,
    pub rollup_id: u64,
    /// The account every fee is credited to (a genesis account).
    pub fee_account: u32,
}

impl Default for GenesisConfig {
    fn default() -> Self {
        let Domain { chain_id, rollup_id } = Domain::DEVNET;
        Self { demo_seed: 1, demo_accounts: 8, chain_id, rollup_id, fee_account: 0 }
    }
}

impl GenesisConfig {
    /// The keys (`demo_accounts + 1`: the last one is the spare).
    pub fn keys(&self) -> Vec<SecretKey> {
        zkr_circuits::demo::keys(self.demo_seed, self.demo_accounts)
    }

    /// The domain every signature is made for.
    pub fn domain(&self) -> Domain {
        Domain { chain_id: self.chain_id, rollup_id: self.rollup_id }
    }

    /// The genesis state.
    pub fn state(&self) -> State {
        zkr_circuits::demo::genesis(&self.keys()).with_domain(self.domain()).with_fee_account(self.fee_account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_config_fills_defaults() {
        let c: SequencerConfig =
            serde_json::from_str(r#"{"batch_capacity": 2, "genesis": {"demo_accounts": 3}}"#).unwrap();
        assert_eq!(c.batch_capacity, 2);
        assert_eq!(c.genesis, GenesisConfig { demo_accounts: 3, ..Default::default() });
        assert_eq!(c.genesis.domain(), Domain::DEVNET);
        assert_eq!(c.max_request_bytes, 64 * 1024);
        assert_eq!(c.db_path(), PathBuf::from("./zkr-data/sequencer.db"));
        assert!(serde_json::from_str::<SequencerConfig>(r#"{"batch_capacty": 2}"#).is_err());
        assert!(SequencerConfig { batch_capacity: 0, ..Default::default() }.validate().is_err());
        assert!(SequencerConfig::default().validate().is_ok());
        assert!(SequencerConfig { http_max_connections: 0, ..Default::default() }.validate().is_err());
        let origins = |o: &[&str]| SequencerConfig {
            http_cors_origins: o.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        assert!(origins(&["https://wallet.example", "http://127.0.0.1:8000"]).validate().is_ok());
        assert!(origins(&["wallet.example"]).validate().is_err());
        let c: SequencerConfig = serde_json::from_str(r#"{"http_listen": "0.0.0.0:50080"}"#).unwrap();
        assert_eq!(c.http_listen, Some(SocketAddr::from(([0, 0, 0, 0], 50080))));
    }
}
