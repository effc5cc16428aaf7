//! Compiles the coordinator's .proto with protox (pure Rust: no protoc needed).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(["zkr/prover/v1/coordinator.proto"], ["proto"])?;
    tonic_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}
