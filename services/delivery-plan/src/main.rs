//! `almo-delivery-plan`: the delivery-plan service on its own, for its container, with its
//! Flight dataset on the same port.

fn main() -> std::process::ExitCode {
    almo_server::service_main_with("almo-delivery-plan", || {
        vec![
            almo_delivery_plan::mount(),
            almo_flight::mount(vec![almo_delivery_plan::flight_datasets]),
        ]
    })
}
