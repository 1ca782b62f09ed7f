//! `almo-pi-returns`: the PI returns service on its own, for its container, with its Flight
//! datasets on the same port.

fn main() -> std::process::ExitCode {
    almo_server::service_main_with("almo-pi-returns", || {
        vec![
            almo_pi_returns::mount(),
            almo_flight::mount(vec![almo_pi_returns::flight_datasets]),
        ]
    })
}
