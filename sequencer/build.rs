//! Compiles the wallet API with protox (pure Rust: no `protoc` needed) and tonic-build.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/zkr/wallet/v1/wallet.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"])?;
    tonic_build::configure().build_server(true).build_client(true).compile_fds(fds)?;
    Ok(())
}
