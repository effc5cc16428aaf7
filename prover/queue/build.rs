// Rebuild when a migration is added: `sqlx::migrate!` embeds the folders' contents.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
