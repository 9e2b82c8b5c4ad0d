//! Compiles the scenario catalogue in: every folder of `migrations/scenarios` becomes an
//! entry of `$OUT_DIR/scenarios.rs`, its files included as text, its shape files only when
//! the folder has them. A new folder needs no Rust; the order is `catalogue.txt`'s.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/scenarios");
    println!("cargo::rerun-if-changed={}", root.display());
    let order = std::fs::read_to_string(root.join("catalogue.txt"))
        .expect("migrations/scenarios/catalogue.txt lists the scenarios in teaching order");
    let mut out = String::from("&[\n");
    for id in order
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let folder = root.join(id);
        println!("cargo::rerun-if-changed={}", folder.display());
        let file = |name: &str| folder.join(name).display().to_string();
        let optional = |name: &str| {
            if folder.join(name).is_file() {
                format!("Some(include_str!({:?}))", file(name))
            } else {
                "None".to_owned()
            }
        };
        let _ = writeln!(
            out,
            "    ({id:?}, include_str!({:?}), include_str!({:?}), include_str!({:?}), {}, {}),",
            file("scenario.toml"),
            file("legacy.sql"),
            file("migrated.sql"),
            optional("legacy-shape.sql"),
            optional("migrated-shape.sql"),
        );
    }
    out.push(']');
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("scenarios.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
