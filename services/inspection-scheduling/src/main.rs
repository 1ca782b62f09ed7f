//! `almo-inspection-scheduling`: the inspection scheduling service on its own, for its container.

fn main() -> std::process::ExitCode {
    almo_server::service_main(
        "almo-inspection-scheduling",
        almo_inspection_scheduling::mount,
    )
}
