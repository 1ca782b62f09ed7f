//! `almo.delivery_plan.v1.DeliveryPlanService` (DOMAIN.md §1): the Delivery Plan a council agrees
//! with its ALMO, versioned and amended only by joint agreement; variances reported against it,
//! one by one or pushed in bulk; on track / at risk / off track for every target and period, with
//! an exception when a target stays off track; the Decent Homes countdown.

pub mod cli;
pub mod demo;
pub mod domain;
mod grpc;
pub mod lifecycle;
pub mod plan_file;
mod storage;

use almo_proto::delivery_plan::delivery_plan_service_server::DeliveryPlanServiceServer;
use almo_server::{ServiceContext, ServiceMount};
use tonic::service::interceptor::InterceptedService;

pub use grpc::flight::{datasets as flight_datasets, variances_schema};
pub use grpc::{DeliveryPlans, SERVICE_NAME};

/// Where the service reads today's date: whether a period has ended, and so whether an actual
/// may be reported for it, is decided on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock, read as the date in Europe/London.
    London,
    /// A fixed date, for tests that must not depend on the day they run.
    Fixed(chrono::NaiveDate),
}

impl Clock {
    pub fn today(self) -> chrono::NaiveDate {
        match self {
            Clock::London => domain::today::london_date(chrono::Utc::now()),
            Clock::Fixed(d) => d,
        }
    }
}

/// The delivery-plan service, ready to mount, on the system clock.
pub fn mount() -> ServiceMount {
    mount_with_clock(Clock::London)
}

/// The delivery-plan service reading today's date from `clock`.
pub fn mount_with_clock(clock: Clock) -> ServiceMount {
    mount_with_watch_poll(clock, almo_db::notify::poll_interval_from_env())
}

/// The delivery-plan service reading today's date from `clock`, its event watches polling every
/// `poll` when no wake-up comes (`ALMO_WATCH_POLL_MS` otherwise; see `almo_db::notify`).
pub fn mount_with_watch_poll(clock: Clock, poll: std::time::Duration) -> ServiceMount {
    ServiceMount {
        name: SERVICE_NAME,
        add: Box::new(move |ctx: &ServiceContext, routes| {
            let plans = DeliveryPlans::with_watch_poll(ctx.clone(), clock, poll);
            let server = DeliveryPlanServiceServer::new(plans)
                .max_decoding_message_size(ctx.max_request_bytes);
            routes.add_service(InterceptedService::new(server, ctx.auth_interceptor()));
            almo_server::consumer::spawn(ctx, lifecycle::CONSUMER, |db| async move {
                lifecycle::consume(&db).await
            });
        }),
    }
}
