//! `cargo xtask`: developer and CI tasks; a thin shell over the library crates.

fn main() -> anyhow::Result<()> {
    Ok(())
}
