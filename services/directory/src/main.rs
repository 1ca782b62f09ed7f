//! `almo-directory`: the directory service on its own, for its container.

fn main() -> std::process::ExitCode {
    almo_server::service_main("almo-directory", almo_directory::mount)
}
