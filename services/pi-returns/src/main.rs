//! `almo-pi-returns`: the PI returns service on its own, for its container.

fn main() -> std::process::ExitCode {
    almo_server::service_main("almo-pi-returns", almo_pi_returns::mount)
}
