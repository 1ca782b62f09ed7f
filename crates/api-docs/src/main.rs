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
#[cfg(test)]
mod tests;

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

/// Every contract under `proto`, compiled with source info (so with its comments).
fn contracts(proto: &Path) -> Result<prost_types::FileDescriptorSet, String> {
    let mut files = Vec::new();
    collect(proto, &mut files).map_err(|e| format!("reading {}: {e}", proto.display()))?;
    files.sort();
    protox::compile(&files, [proto]).map_err(|e| format!("{e:?}"))
}

/// The files the reference documents: the suite's packages but the internal ones.
fn documented(set: &prost_types::FileDescriptorSet) -> Vec<&prost_types::FileDescriptorProto> {
    set.file
        .iter()
        .filter(|f| {
            let package = f.package();
            package.starts_with("almo.") && !INTERNAL_PACKAGES.contains(&package)
        })
        .collect()
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
    let set = match contracts(&proto) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("api-docs: {e}");
            return ExitCode::FAILURE;
        }
    };
    let files = documented(&set);
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
