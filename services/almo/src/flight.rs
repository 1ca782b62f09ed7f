//! The Flight endpoint of `almo up`: every service's datasets on the suite's one port.

use almo_server::ServiceMount;

/// The Flight service with the datasets of every mounted service.
pub fn mount() -> ServiceMount {
    almo_flight::mount(vec![
        almo_pi_returns::flight_datasets,
        almo_sla_charging::flight_datasets,
        almo_delivery_plan::flight_datasets,
    ])
}
