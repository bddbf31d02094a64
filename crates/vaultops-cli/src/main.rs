//! `vaultops`: the command-line entry point; a thin shell over the library crates.

fn main() -> anyhow::Result<()> {
    Ok(())
}
