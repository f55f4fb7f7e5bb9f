//! Puts memory.x where the linker finds it.
use std::io::Write as _;

fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if let Ok(mut f) = std::fs::File::create(out.join("memory.x")) {
        let _ = f.write_all(include_bytes!("memory.x"));
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
}
