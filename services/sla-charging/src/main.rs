//! `almo-sla-charging`: the SLA charging service on its own, for its container, with its Flight
//! dataset on the same port.

fn main() -> std::process::ExitCode {
    almo_server::service_main_with("almo-sla-charging", || {
        vec![
            almo_sla_charging::mount(),
            almo_flight::mount(vec![almo_sla_charging::flight_datasets]),
        ]
    })
}
