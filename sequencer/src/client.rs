//! A typed client of the wallet API (`zkr.wallet.v1.Wallet`), over the generated tonic client: what `zkr wallet`
//! and other tools call. Answers come back as this crate's own types; a refusal keeps the sequencer's reason (the
//! gRPC status message) and its `zkr-reason` label.

use std::fmt;

use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use zkr_circuits::config::Digest;
use zkr_circuits::schnorr::PublicKey;
use zkr_circuits::smt::MerkleProof;
use zkr_circuits::state::Account;
use zkr_circuits::tx::Domain;

use crate::grpc::proto::wallet_client::WalletClient;
use crate::grpc::{proto, REASON_KEY};
use crate::types::{digest_from_bytes, AccountView, StatusUpdate, Submitted, TxHash, TxStage, TxStatus};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection to the wallet API (a bad URL, nothing listening).
    #[error("cannot reach the wallet API at {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The sequencer answered with an error status: `message` is its reason, `label` the `zkr-reason` trailer
    /// (e.g. `nonce_too_low`) when it sent one.
    #[error("{message}")]
    Refused { code: Code, message: String, label: Option<String> },
    /// The answer does not hold what the API promises (a wrong length, a non-canonical digest, a bad proof).
    #[error("unexpected answer from the wallet API: {0}")]
    Malformed(String),
}

impl ClientError {
    /// The `zkr-reason` label of a refusal.
    pub fn label(&self) -> Option<&str> {
        match self {
            ClientError::Refused { label, .. } => label.as_deref(),
            _ => None,
        }
    }

    /// Whether the sequencer answered NOT_FOUND (an unknown transaction).
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(Code::NotFound)
    }

    /// The gRPC code of a refusal.
    pub fn code(&self) -> Option<Code> {
        match self {
            ClientError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<Status> for ClientError {
    fn from(s: Status) -> Self {
        let label = s.metadata().get(REASON_KEY).and_then(|v| v.to_str().ok()).map(str::to_string);
        let message = if s.message().is_empty() { format!("{:?}", s.code()) } else { s.message().to_string() };
        ClientError::Refused { code: s.code(), message, label }
    }
}

fn malformed(what: impl fmt::Display) -> ClientError {
    ClientError::Malformed(what.to_string())
}

/// What `GetInfo` reports: what a wallet needs before it signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalletInfo {
    /// The domain every signature is made for.
    pub domain: Domain,
    pub batch_capacity: u32,
    /// The smallest fee the sequencer accepts (amount units).
    pub min_fee: u64,
    /// The account every fee is credited to.
    pub fee_account: u32,
}

/// A connection to one sequencer's wallet API.
#[derive(Clone, Debug)]
pub struct WalletApiClient {
    inner: WalletClient<Channel>,
    url: String,
}

impl WalletApiClient {
    /// Connects to `url` (e.g. `http://127.0.0.1:50051`).
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let err = |reason: String| ClientError::Connect { url: url.to_string(), reason };
        let endpoint = Endpoint::from_shared(url.to_string()).map_err(|e| err(e.to_string()))?;
        let channel = endpoint.connect().await.map_err(|e| err(transport_reason(&e)))?;
        Ok(Self { inner: WalletClient::new(channel), url: url.to_string() })
    }

    /// The URL this client is connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The domain, minimum fee, batch shape and fee account.
    pub async fn info(&mut self) -> Result<WalletInfo, ClientError> {
        let r = self.inner.get_info(proto::GetInfoRequest {}).await?.into_inner();
        Ok(WalletInfo {
            domain: Domain { chain_id: r.chain_id, rollup_id: r.rollup_id },
            batch_capacity: r.batch_capacity,
            min_fee: r.min_fee,
            fee_account: r.fee_account,
        })
    }

    /// Account `id` in the latest state (`proven = false`, soft-confirmed transactions included) or the state after
    /// the last proven batch, with its Merkle proof, checked here against the root the answer names.
    pub async fn account(&mut self, id: u32, proven: bool) -> Result<AccountView, ClientError> {
        let r = self.inner.get_account(proto::GetAccountRequest { account: id, proven }).await?.into_inner();
        account_view(id, r)
    }

    /// Submits a signed transaction's bytes (`SignedTx::to_bytes`); returns once the sequencer stored it durably.
    pub async fn submit(&mut self, tx: &[u8]) -> Result<Submitted, ClientError> {
        let r = self.inner.submit_tx(proto::SubmitTxRequest { tx: tx.to_vec() }).await?.into_inner();
        let hash = TxHash::from_slice(&r.tx_hash).map_err(malformed)?;
        let status = tx_status(r.status.ok_or_else(|| malformed("SubmitTx answered no status"))?)?;
        Ok(Submitted { hash, status })
    }

    /// The status of a transaction; `None` when the sequencer does not know it (never submitted, or refused).
    pub async fn status(&mut self, hash: TxHash) -> Result<Option<TxStatus>, ClientError> {
        match self.inner.get_tx_status(proto::GetTxStatusRequest { tx_hash: hash.0.to_vec() }).await {
            Ok(r) => tx_status(r.into_inner()).map(Some),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(s.into()),
        }
    }

    /// Follows the status of `hashes`: first the current status of each, then its changes, until each is finalized
    /// or rejected (the stream then ends). NOT_FOUND when the sequencer knows none of them.
    pub async fn follow(&mut self, hashes: &[TxHash]) -> Result<StatusStream, ClientError> {
        let req = proto::StreamStatusRequest { tx_hashes: hashes.iter().map(|h| h.0.to_vec()).collect() };
        Ok(StatusStream { inner: self.inner.stream_status(req).await?.into_inner() })
    }
}

/// The updates of [`WalletApiClient::follow`].
#[derive(Debug)]
pub struct StatusStream {
    inner: tonic::Streaming<proto::TxStatusUpdate>,
}

impl StatusStream {
    /// The next update; `None` once the stream has ended.
    pub async fn next(&mut self) -> Result<Option<StatusUpdate>, ClientError> {
        let Some(u) = self.inner.message().await? else { return Ok(None) };
        let hash = TxHash::from_slice(&u.tx_hash).map_err(malformed)?;
        let status = tx_status(u.status.ok_or_else(|| malformed("a status update without a status"))?)?;
        Ok(Some(StatusUpdate { hash, status }))
    }
}

/// The innermost cause of a transport error ("Connection refused", not "transport error").
fn transport_reason(e: &tonic::transport::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn digest(b: &[u8], what: &str) -> Result<Digest, ClientError> {
    let bytes: &[u8; 32] = b.try_into().map_err(|_| malformed(format!("{what}: {} bytes, not 32", b.len())))?;
    digest_from_bytes(bytes).ok_or_else(|| malformed(format!("{what}: not a canonical digest")))
}

fn hash32(b: &[u8], what: &str) -> Result<Option<[u8; 32]>, ClientError> {
    if b.is_empty() {
        return Ok(None);
    }
    b.try_into().map(Some).map_err(|_| malformed(format!("{what}: {} bytes, not 32", b.len())))
}

/// The wire status as this crate's [`TxStatus`].
pub fn tx_status(s: proto::TxStatus) -> Result<TxStatus, ClientError> {
    let stage = match proto::TxStage::try_from(s.stage) {
        Ok(proto::TxStage::Received) => TxStage::Received,
        Ok(proto::TxStage::Sequenced) => TxStage::Sequenced,
        Ok(proto::TxStage::Proven) => TxStage::Proven,
        Ok(proto::TxStage::Aggregated) => TxStage::Aggregated,
        Ok(proto::TxStage::Finalized) => TxStage::Finalized,
        Ok(proto::TxStage::Rejected) => TxStage::Rejected,
        _ => return Err(malformed(format!("unknown transaction stage {}", s.stage))),
    };
    Ok(TxStatus {
        stage,
        batch: s.batch,
        reason: (!s.reason.is_empty()).then_some(s.reason),
        l1_tx: hash32(&s.l1_tx, "l1_tx")?,
        execute_tx: hash32(&s.execute_tx, "execute_tx")?,
    })
}

/// A `GetAccount` answer as an [`AccountView`], its proof checked against its root.
fn account_view(id: u32, r: proto::GetAccountResponse) -> Result<AccountView, ClientError> {
    let root = digest(&r.root, "root")?;
    let siblings = r
        .siblings
        .iter()
        .enumerate()
        .map(|(i, s)| digest(s, &format!("sibling {i}")))
        .collect::<Result<Vec<_>, _>>()?;
    if siblings.len() != zkr_circuits::smt::DEPTH {
        return Err(malformed(format!("{} siblings, not {}", siblings.len(), zkr_circuits::smt::DEPTH)));
    }
    let account = if r.exists {
        let pubkey = PublicKey::from_canonical_bytes(&r.pubkey).map_err(|e| malformed(format!("public key: {e}")))?;
        Some(Account { pubkey, balance: r.balance, nonce: r.nonce })
    } else {
        None
    };
    let proof = MerkleProof { index: id, siblings };
    if !proof.verify(root, zkr_circuits::state::leaf_of(&account)) {
        return Err(malformed(format!("the Merkle proof of account {id} does not lead to the root it names")));
    }
    Ok(AccountView { id, account, root, proof, batches: r.batches })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::metadata::MetadataValue;

    #[test]
    fn a_refusal_keeps_the_message_and_the_label() {
        let mut s = Status::failed_precondition("nonce too low: account 3 expects 5, got 4");
        s.metadata_mut().insert(REASON_KEY, MetadataValue::from_static("nonce_too_low"));
        let e = ClientError::from(s);
        assert_eq!(e.to_string(), "nonce too low: account 3 expects 5, got 4");
        assert_eq!(e.label(), Some("nonce_too_low"));
        assert_eq!(e.code(), Some(Code::FailedPrecondition));
    }

    #[test]
    fn statuses_convert_and_unknown_stages_are_refused() {
        let s = proto::TxStatus { stage: proto::TxStage::Proven as i32, batch: Some(4), ..Default::default() };
        assert_eq!(tx_status(s).unwrap(), TxStatus::in_batch(TxStage::Proven, 4));
        assert!(tx_status(proto::TxStatus { stage: 99, ..Default::default() }).is_err());
        let bad = proto::TxStatus { stage: 5, execute_tx: vec![1; 31], ..Default::default() };
        assert!(tx_status(bad).is_err());
    }

    #[test]
    fn an_account_proof_is_checked() {
        let keys = zkr_circuits::demo::keys(1, 3);
        let state = zkr_circuits::demo::genesis(&keys);
        let wire = |id: u32| {
            let a = state.account(id);
            proto::GetAccountResponse {
                exists: a.is_some(),
                balance: a.map_or(0, |a| a.balance),
                nonce: a.map_or(0, |a| a.nonce),
                pubkey: a.map(|a| a.pubkey.to_bytes().to_vec()).unwrap_or_default(),
                root: crate::types::digest_to_bytes(&state.root()).to_vec(),
                siblings: state.proof(id).siblings.iter().map(|d| crate::types::digest_to_bytes(d).to_vec()).collect(),
                batches: 0,
            }
        };
        let v = account_view(1, wire(1)).unwrap();
        assert_eq!(v.account.unwrap().balance, zkr_circuits::demo::GENESIS_FUNDS);
        assert!(account_view(7, wire(7)).unwrap().account.is_none());
        let mut lie = wire(1);
        lie.balance += 1;
        assert!(account_view(1, lie).is_err());
        assert!(account_view(2, wire(1)).is_err());
    }
}
