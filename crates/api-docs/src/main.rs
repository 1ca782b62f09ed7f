//! Writes the API reference for integrators (`docs/api/`) from the contracts under `proto/` and
//! their comments, compiled with protox (no system `protoc`) with source info.
//!
//! `cargo run -p almo-api-docs -- docs/api` regenerates it; CI regenerates into a temporary
//! directory and diffs, so the reference never drifts from the contracts. `--proto <dir>` reads
//! another tree of contracts (the default is the workspace's `proto/`).
//!
//! An RPC's comment carries an `Access:` and an `Errors:` paragraph; the generator names every
//! RPC whose comment lacks one, and `--strict` makes that a failure.

mod comments;
mod render;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Packages that are not part of the integrators' contract (the load-test echo).
const INTERNAL_PACKAGES: &[&str] = &["almo.bench.v1"];

const USAGE: &str = "usage: api-docs [--strict] [--proto <dir>] <output directory>";

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut strict = false;
    let mut proto = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--strict" => strict = true,
            "--proto" => match args.next() {
                Some(dir) => proto = PathBuf::from(dir),
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if out.is_none() && !arg.starts_with('-') => out = Some(PathBuf::from(arg)),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(out) = out else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let mut files = Vec::new();
    if let Err(e) = collect(&proto, &mut files) {
        eprintln!("api-docs: reading {}: {e}", proto.display());
        return ExitCode::FAILURE;
    }
    files.sort();
    let set = match protox::compile(&files, [&proto]) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("api-docs: {e:?}");
            return ExitCode::FAILURE;
        }
    };
    let files: Vec<_> = set
        .file
        .iter()
        .filter(|f| {
            let package = f.package();
            package.starts_with("almo.") && !INTERNAL_PACKAGES.contains(&package)
        })
        .collect();
    let docs = render::Reference::new(&files);
    let missing = docs.undocumented_rpcs();
    if let Err(e) = docs.write(&out) {
        eprintln!("api-docs: writing {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    for m in &missing {
        eprintln!("api-docs: {m}");
    }
    if strict && !missing.is_empty() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
