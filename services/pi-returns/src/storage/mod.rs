//! The PI returns queries. Writes take the transaction of an idempotent write; every read of
//! returns is filtered by what the caller may see ([`Visibility`]).

pub mod benchmark_points;
mod benchmarks;
mod catalogue;
mod comparison;
pub(crate) mod import;
mod query;
mod reporters;
mod returns;
mod surveys;
mod values;

pub use benchmarks::{
    Group, almo_councils_of_type, benchmark_values, organisations_of_council, peer_group_members,
};
pub use catalogue::{Imported, import_definition, load_catalogue, seed_catalogue};
pub use comparison::{Landlord, SignedOffFigure, landlords, signed_off_figures};
pub use query::{
    EXPORT_VALUE_AT, ReturnFilter, Visibility, count_returns, export_statement,
    matching as returns_matching, query_returns,
};
pub use reporters::{almos_live_in, expected_reporters, stock_size};
pub use returns::{
    claim_version, find_return, get_return, insert_return, returns_for_period,
    update_return_if_version,
};
pub use surveys::{put_survey, surveys_of};
pub use values::{
    NewValue, append_values, codes_present, current_values, history, insert_values,
    last_year_values,
};
