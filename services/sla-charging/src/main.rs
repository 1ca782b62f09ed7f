//! `almo-sla-charging`: the SLA charging service on its own, for its container.

fn main() -> std::process::ExitCode {
    almo_server::service_main("almo-sla-charging", almo_sla_charging::mount)
}
