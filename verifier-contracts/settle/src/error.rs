//! Errors of the L1 layer and revert-data decoding.

use alloy_primitives::{Address, Bytes, B256};

/// What went wrong talking to an L1 (in-process or over JSON-RPC).
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    #[error("the private key environment variable {var} is not set: export it with the sender's hex private key")]
    MissingKeyEnv { var: String },
    #[error("environment variable {var} does not hold a secp256k1 private key (expected 32 bytes of hex): {reason}")]
    BadKey { var: String, reason: String },
    #[error("invalid L1 RPC URL {url:?}: {reason} (expected e.g. http://127.0.0.1:8545)")]
    BadUrl { url: String, reason: String },
    #[error("cannot reach the L1 node at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("L1 request {method} failed: {reason}")]
    Rpc { method: &'static str, reason: String },
    #[error("transaction {} to {} reverted: {reason}", show_hash(.tx_hash), show_to(.to))]
    Reverted {
        /// Set when the transaction was mined (an in-process L1, or a revert that passed gas estimation).
        tx_hash: Option<B256>,
        /// None for a deployment.
        to: Option<Address>,
        /// The raw revert data (an `Error(string)`, a `Panic(uint256)` or a custom error).
        data: Bytes,
        /// `data` decoded into words, or the node's message when it gave no data.
        reason: String,
    },
    #[error("deployment transaction {tx_hash} created no contract")]
    NoContract { tx_hash: B256 },
    #[error("transaction {tx_hash} was not mined within {waited_s} s")]
    ReceiptTimeout { tx_hash: B256, waited_s: u64 },
    #[error("the in-process EVM refused the transaction: {reason}")]
    Evm { reason: String },
}

fn show_hash(h: &Option<B256>) -> String {
    h.map(|h| h.to_string()).unwrap_or_else(|| "(not mined)".to_string())
}

fn show_to(to: &Option<Address>) -> String {
    to.map(|a| a.to_string()).unwrap_or_else(|| "(deployment)".to_string())
}

/// Decodes revert data into words: `Error(string)` and `Panic(uint256)` by their ABI, anything else as the
/// custom error's selector and arguments in hex (a contract-aware caller can decode those, see
/// [`crate::RollupCalls::describe_revert`]).
pub fn describe_revert(data: &[u8]) -> String {
    if data.is_empty() {
        return "reverted without data".to_string();
    }
    if let Some(reason) = alloy_sol_types::decode_revert_reason(data) {
        return reason;
    }
    if data.len() >= 4 {
        format!("custom error 0x{} with arguments 0x{}", hex::encode(&data[..4]), hex::encode(&data[4..]))
    } else {
        format!("malformed revert data 0x{}", hex::encode(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_sol_types::SolError;

    #[test]
    fn revert_data_is_decoded() {
        let data = alloy_sol_types::Revert::from("out of order").abi_encode();
        assert!(describe_revert(&data).contains("out of order"), "{}", describe_revert(&data));
        assert_eq!(describe_revert(&[]), "reverted without data");
        let custom = [0xde, 0xad, 0xbe, 0xef, 0x01];
        assert_eq!(describe_revert(&custom), "custom error 0xdeadbeef with arguments 0x01");
    }
}
