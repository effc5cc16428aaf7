// Local L1 for zkr's integration tests (started by zkr_settle::hardhat::HardhatNode) and by hand:
// `cd verifier-contracts && npx hardhat node` (chain id 31337, port 8545).
// Osaka rules like zkr-evm; contract size limits lifted for the generated verifier.
// Sources, cache and artifacts go to a per-node scratch folder so nothing is written into the repository.
const scratch = process.env.ZKR_HARDHAT_SCRATCH || require("os").tmpdir();
module.exports = {
  networks: { hardhat: { chainId: 31337, hardfork: "osaka", allowUnlimitedContractSize: true } },
  paths: { sources: scratch + "/sources", cache: scratch + "/cache", artifacts: scratch + "/artifacts" },
};
