//! The almo-exchange gRPC contracts. The `.proto` files under `proto/` are the one source of
//! truth; this crate only compiles them.

pub mod codec;
pub mod limits;

/// The encoded `FileDescriptorSet` of every contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/almo_descriptor.bin"));

pub mod almo {
    pub mod common {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/almo.common.v1.rs"));
        }
    }
    pub mod directory {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/almo.directory.v1.rs"));
        }
    }
    pub mod delivery_plan {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/almo.delivery_plan.v1.rs"));
        }
    }
    pub mod inspection {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/almo.inspection.v1.rs"));
        }
    }
    pub mod pi_returns {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/almo.pi_returns.v1.rs"));
        }
    }
    pub mod sla_charging {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/almo.sla_charging.v1.rs"));
        }
    }
    pub mod bench {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/almo.bench.v1.rs"));
        }
    }
}

pub use almo::common::v1 as common;
pub use almo::delivery_plan::v1 as delivery_plan;
pub use almo::directory::v1 as directory;
pub use almo::inspection::v1 as inspection;
pub use almo::pi_returns::v1 as pi_returns;
pub use almo::sla_charging::v1 as sla_charging;
