//! The bridge end to end on a real chain (a hardhat node): users deposit on L1, the devnet's watcher hands the
//! deposits to the sequencer, the new accounts sign on L2, withdraw, a forced exit is processed, and the ETH is pulled
//! on L1; the rollup's ETH balance reconciles with what it owes after every step. Then the operator disappears
//! (`kill -9`, its data dir deleted): a deposit expires, exit mode is activated, and users leave with `zkr wallet
//! exit`, whose proofs come from L1 data alone.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use serde_json::json;
use zkr_circuits::demo;
use zkr_circuits::schnorr::SecretKey;
use zkr_circuits::tx::{Domain, ForcedExit, Transfer, Tx, Withdraw};
use zkr_rollup::calldata::{amount_wei, deposit_call, forced_exit_call, open_account_call, AMOUNT_UNIT_WEI};
use zkr_rollup::IZkrRollup;
use zkr_sequencer::proto::wallet_client::WalletClient;
use zkr_sequencer::proto::{self, TxStage};
use zkr_sequencer::TxHash;
use zkr_settle::hardhat::{HardhatNode, HARDHAT_CHAIN_ID, HARDHAT_KEY_0, HARDHAT_KEY_1, HARDHAT_KEY_2};
use zkr_settle::{rebuild_over_rpc, Deployment, RpcL1, L1};

mod common;

async fn view<C: SolCall>(l1: &RpcL1, rollup: Address, call: C) -> C::Return {
    C::abi_decode_returns(&l1.call(rollup, call.abi_encode()).await.unwrap()).unwrap()
}

/// The rollup's ETH balance equals what it owes: the executed L2 state's balances of accounts that have not exited,
/// the deposits not executed yet (still refundable), and every pending withdrawal of `holders`.
async fn reconcile(l1: &RpcL1, d: &Deployment, holders: &[Address], step: &str) {
    let r = rebuild_over_rpc(l1, d.rollup, d.deploy_block).await.unwrap_or_else(|e| panic!("{step}: rebuild: {e}"));
    let mut owed = U256::ZERO;
    for (id, a) in r.rebuilder.state().accounts() {
        if !view(l1, d.rollup, IZkrRollup::exitedCall { accountId: id }).await {
            owed += amount_wei(a.balance);
        }
    }
    let (first, len) = (
        view(l1, d.rollup, IZkrRollup::priorityOpsExecutedCall {}).await,
        view(l1, d.rollup, IZkrRollup::priorityQueueLengthCall {}).await,
    );
    for id in first..len {
        owed += amount_wei(view(l1, d.rollup, IZkrRollup::priorityOpCall { priorityId: id }).await.amount);
    }
    for h in holders {
        owed += view(l1, d.rollup, IZkrRollup::pendingWithdrawalsCall { account: *h }).await;
    }
    let held = l1.balance(d.rollup).await.unwrap();
    assert_eq!(held, owed, "{step}: the rollup holds {held} wei and owes {owed}");
}

async fn rpc(node: &HardhatNode, key: &str) -> RpcL1 {
    RpcL1::connect_with_signer(node.url(), key.parse().unwrap()).await.unwrap()
}

/// Opens an account on L1 under `sk`'s key with `amount` units; returns (account id, priority id).
async fn open_account(l1: &RpcL1, rollup: Address, sk: &SecretKey, amount: u64) -> (u32, u64) {
    let r = l1.send(rollup, open_account_call(&sk.public_key()).abi_encode(), amount_wei(amount)).await.unwrap();
    let ev = r.logs.iter().find_map(|l| IZkrRollup::DepositQueued::decode_log(l).ok()).expect("DepositQueued").data;
    (ev.accountId, ev.priorityId)
}

struct Devnet {
    child: Child,
    log: std::path::PathBuf,
}

impl Devnet {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    dev: &Devnet,
    secs: u64,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}; devnet log:\n{}", dev.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn balance(mut client: WalletClient<tonic::transport::Channel>, account: u32) -> Option<u64> {
    let a = client.get_account(proto::GetAccountRequest { account, proven: false }).await.ok()?.into_inner();
    a.exists.then_some(a.balance)
}

async fn status(mut client: WalletClient<tonic::transport::Channel>, h: TxHash) -> Option<proto::TxStatus> {
    client.get_tx_status(proto::GetTxStatusRequest { tx_hash: h.0.to_vec() }).await.ok().map(|r| r.into_inner())
}

fn wallet_exit(node: &HardhatNode, d: &Deployment, account: u32, key: &str, extra: &[&str]) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_zkr"))
        .env("ZKR_TEST_USER_KEY", key)
        .args(["wallet", "exit", "--rpc-url", node.url(), "--rollup", &d.rollup.to_string()])
        .args(["--account", &account.to_string(), "--private-key-env", "ZKR_TEST_USER_KEY", "--json"])
        .args(["--from-block", &d.deploy_block.to_string()])
        .args(extra)
        .output()
        .expect("runs zkr wallet exit");
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "zkr wallet exit failed:\n{out}\n{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn deposits_withdrawals_and_forced_exits_reconcile_and_users_exit_without_the_operator() {
    let node = Arc::new(HardhatNode::start().expect("hardhat starts (npm ci --prefix verifier-contracts)"));
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("l1.toml");
    let (d, _) = common::l1_deploy(node.url(), &record, &["--capacity", "2", "--epoch-height", "1"]);
    let miner = node.mine_every(Duration::from_millis(200));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let operator = rt.block_on(rpc(&node, HARDHAT_KEY_0));
    let (u1, u2) = (rt.block_on(rpc(&node, HARDHAT_KEY_1)), rt.block_on(rpc(&node, HARDHAT_KEY_2)));
    let holders = [operator.sender(), u1.sender(), u2.sender()];
    let keys = demo::keys(4242, 2);
    let domain = Domain { chain_id: HARDHAT_CHAIN_ID, rollup_id: 1 };

    // a deposit made before the operator runs waits in the L1 queue
    let (a1, _) = rt.block_on(open_account(&u1, d.rollup, &keys[0], 1_000_000));
    rt.block_on(reconcile(&operator, &d, &holders, "after the first deposit"));

    let port = common::free_port();
    let config = dir.path().join("devnet.toml");
    std::fs::write(
        &config,
        format!(
            "max_wait_ms = 1000\nepoch_timeout_ms = 3000\n[bridge]\nconfirmations = 2\npoll_ms = 200\n[l1]\n\
             mode = \"rpc\"\nurl = \"{}\"\nprivate_key_env = \"ZKR_TEST_L1_KEY\"\ndeployment = {:?}\n\
             confirmations = 2\nconfirmation_timeout_s = 120\n",
            node.url(),
            record.display().to_string()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("devnet.log");
    let child = Command::new(env!("CARGO_BIN_EXE_zkr"))
        .env("ZKR_TEST_L1_KEY", HARDHAT_KEY_0)
        .args(["devnet", "--capacity", "2", "--epoch-height", "1", "--workers", "2", "--forever"])
        .args(["--grpc", &format!("127.0.0.1:{port}"), "--http", "off", "--config", config.to_str().unwrap()])
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(dir.path().join("devnet.err")).unwrap()))
        .spawn()
        .expect("starts zkr devnet");
    let dev = Devnet { child, log };

    rt.block_on(async {
        let mut client = wait_for("the wallet API", &dev, 300, || async {
            WalletClient::connect(format!("http://127.0.0.1:{port}")).await.ok()
        })
        .await;
        // the deposit opens account a1 on L2 (soft confirmation), with the L1 transaction in its status
        assert_eq!(wait_for("deposit 1 on L2", &dev, 120, || balance(client.clone(), a1)).await, 1_000_000);
        let (a2, p2) = open_account(&u2, d.rollup, &keys[1], 500_000).await;
        assert_eq!(wait_for("deposit 2 on L2", &dev, 120, || balance(client.clone(), a2)).await, 500_000);
        let dep2 = Tx::Deposit(zkr_circuits::tx::Deposit {
            priority_id: p2,
            to: a2,
            pubkey: keys[1].public_key(),
            amount: 500_000,
        });
        let st = status(client.clone(), TxHash::of(&dep2.id())).await.expect("the deposit has a status");
        assert_eq!(st.l1_tx.len(), 32, "{st:?}");

        // the new accounts sign: a transfer and a withdrawal to the depositor's L1 address
        let t = Tx::Transfer(Transfer { from: a1, to: a2, amount: 100_000, fee: 0, nonce: 0 }).sign(&keys[0], &domain);
        let w = Tx::Withdraw(Withdraw { from: a1, amount: 200_000, fee: 0, nonce: 1, l1_address: u1.sender().0 .0 })
            .sign(&keys[0], &domain);
        for tx in [&t, &w] {
            client.submit_tx(proto::SubmitTxRequest { tx: tx.to_bytes() }).await.expect("accepted");
        }
        // the forced exit of a2 (its whole balance, to its owner) goes through L1
        let r = u2.send(d.rollup, forced_exit_call(a2).abi_encode(), U256::ZERO).await.unwrap();
        let fe = IZkrRollup::ForcedExitQueued::decode_log(&r.logs[0]).unwrap().data;
        let exit_tx =
            Tx::ForcedExit(ForcedExit { priority_id: fe.priorityId, account: a2, l1_address: u2.sender().0 .0 });
        for (what, h) in [("the withdrawal", TxHash::of(&w.tx.id())), ("the forced exit", TxHash::of(&exit_tx.id()))] {
            let st = wait_for(what, &dev, 600, || {
                let c = client.clone();
                async move { status(c, h).await.filter(|s| s.stage == TxStage::Finalized as i32) }
            })
            .await;
            assert_eq!(st.execute_tx.len(), 32, "{what}: the execute transaction is reported: {st:?}");
        }
        reconcile(&operator, &d, &holders, "after the withdrawal and the forced exit executed").await;
        let pending = |a: Address| view(&operator, d.rollup, IZkrRollup::pendingWithdrawalsCall { account: a });
        assert_eq!(pending(u1.sender()).await, amount_wei(200_000));
        assert_eq!(pending(u2.sender()).await, amount_wei(600_000), "a2's deposit and the transfer it received");
        for u in [&u1, &u2] {
            u.send(d.rollup, IZkrRollup::withdrawPendingCall {}.abi_encode(), U256::ZERO).await.unwrap();
        }
        reconcile(&operator, &d, &holders, "after both users pulled").await;
        assert_eq!(balance(client.clone(), a1).await, Some(700_000));
    });

    // the operator disappears: kill -9, its data dir gone
    drop(dev);
    std::fs::remove_dir_all(&data).unwrap();
    rt.block_on(async {
        // a top-up nobody processes expires; then anyone may switch the rollup into exit mode
        let call = deposit_call(a1, &keys[0].public_key()).abi_encode();
        u1.send(d.rollup, call, amount_wei(5_000)).await.unwrap();
        node.rpc("evm_increaseTime", json!([3 * 24 * 3600 + 60])).unwrap();
        node.mine(1).unwrap();
        reconcile(&operator, &d, &holders, "with the top-up expired").await;
    });
    // user 1 activates exit mode and leaves with a proof rebuilt from L1 alone
    let v = wallet_exit(&node, &d, a1, HARDHAT_KEY_1, &["--activate"]);
    assert_eq!(v["balance"], 700_000, "{v}");
    assert_eq!(v["pulled_wei"], (U256::from(700_000u64) * U256::from(AMOUNT_UNIT_WEI)).to_string(), "{v}");
    // an operator that comes back (or one that censored the expired operation) can settle nothing more
    rt.block_on(async {
        let next = view(&operator, d.rollup, IZkrRollup::totalExecutedCall {}).await + 1;
        let call = IZkrRollup::executeEpochCall { epoch: next, withdrawals: vec![] }.abi_encode();
        let err = operator.send(d.rollup, call, U256::ZERO).await.unwrap_err();
        let selector = IZkrRollup::ExitModeActive::SELECTOR;
        assert!(
            matches!(&err, zkr_settle::L1Error::Reverted { data, .. } if data.starts_with(&selector)),
            "expected ExitModeActive, got {err}"
        );
    });
    // the operator, exit owner of the genesis accounts, leaves with genesis account 1 the same way
    let v = wallet_exit(&node, &d, 1, HARDHAT_KEY_0, &[]);
    assert!(v["balance"].as_u64().unwrap() > 0, "{v}");
    rt.block_on(async {
        reconcile(&operator, &d, &holders, "after two exits").await;
        // the expired top-up goes back to its depositor
        let q = view(&operator, d.rollup, IZkrRollup::priorityQueueLengthCall {}).await;
        u1.send(d.rollup, IZkrRollup::refundDepositCall { priorityId: q - 1 }.abi_encode(), U256::ZERO).await.unwrap();
        u1.send(d.rollup, IZkrRollup::withdrawPendingCall {}.abi_encode(), U256::ZERO).await.unwrap();
        reconcile(&operator, &d, &holders, "after the refund").await;
    });
    // an account leaves once
    let o = Command::new(env!("CARGO_BIN_EXE_zkr"))
        .env("ZKR_TEST_USER_KEY", HARDHAT_KEY_1)
        .args(["wallet", "exit", "--rpc-url", node.url(), "--rollup", &d.rollup.to_string()])
        .args(["--account", &a1.to_string(), "--private-key-env", "ZKR_TEST_USER_KEY"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("has exited already"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    drop(miner);
}
