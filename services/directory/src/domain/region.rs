//! The nine English regions, as the regulator groups authorities.

pub const REGIONS: [&str; 9] = [
    "North East",
    "North West",
    "Yorkshire and the Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
];

/// The canonical spelling of a region, matched without regard to case.
pub fn canonical_region(name: &str) -> Option<&'static str> {
    let name = name.trim();
    REGIONS.into_iter().find(|r| r.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_match_case_insensitively_and_unknown_ones_are_refused() {
        assert_eq!(canonical_region("north west"), Some("North West"));
        assert_eq!(canonical_region(" London "), Some("London"));
        assert_eq!(canonical_region("Wales"), None);
    }
}
