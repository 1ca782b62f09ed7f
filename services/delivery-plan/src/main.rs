//! `almo-delivery-plan`: the delivery-plan service on its own, for its container.

fn main() -> std::process::ExitCode {
    almo_server::service_main("almo-delivery-plan", almo_delivery_plan::mount)
}
