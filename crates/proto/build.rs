//! Compiles every contract under `proto/` with protox (pure Rust: no system `protoc`) and writes
//! the descriptor set that the reflection service serves.

use std::path::{Path, PathBuf};

use prost::Message;

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let root = root.canonicalize()?;
    let mut files = Vec::new();
    collect(&root, &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed={}", root.display());
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let fds = protox::compile(&files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("almo_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // prost's codec answers an undecodable message INTERNAL; ours says INVALID_ARGUMENT.
        .codec_path("crate::codec::Codec")
        .compile_fds_with_config(fds, {
            // `prost::Name` on every message, so the codec knows which request it is reading.
            let mut config = tonic_prost_build::Config::new();
            config.enable_type_names();
            // An ALMO's latest options review would make `Organisation.details` lopsided.
            config.boxed(".almo.directory.v1.Almo.latest_review");
            config
        })?;
    Ok(())
}
