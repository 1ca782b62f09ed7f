//! A council's type, for benchmarking (003 Table 6, §74), follows from its ONS GSS code:
//! E09 London borough, E08 metropolitan district, E06 unitary authority, E07 district.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorityType {
    LondonBorough,
    Metropolitan,
    Unitary,
    District,
}

impl AuthorityType {
    pub const ALL: [AuthorityType; 4] = [
        AuthorityType::LondonBorough,
        AuthorityType::Metropolitan,
        AuthorityType::Unitary,
        AuthorityType::District,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthorityType::LondonBorough => "london_borough",
            AuthorityType::Metropolitan => "metropolitan",
            AuthorityType::Unitary => "unitary",
            AuthorityType::District => "district",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The ONS code prefix of councils of this type.
    pub fn ons_prefix(self) -> &'static str {
        match self {
            AuthorityType::LondonBorough => "E09",
            AuthorityType::Metropolitan => "E08",
            AuthorityType::Unitary => "E06",
            AuthorityType::District => "E07",
        }
    }
}

/// The type of the council with this ONS GSS code, or why the code is not a council's.
pub fn authority_type_of(ons_code: &str) -> Result<AuthorityType, String> {
    let code = ons_code.trim();
    if code.len() != 9 || !code.is_ascii() {
        return Err("must be 9 characters: E06, E07, E08 or E09 followed by six digits".into());
    }
    let (prefix, digits) = code.split_at(3);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the last six characters must be digits".into());
    }
    AuthorityType::ALL
        .into_iter()
        .find(|t| t.ons_prefix() == prefix)
        .ok_or_else(|| {
            format!(
                "{prefix} is not a housing authority code: E06 unitary, E07 district, \
                 E08 metropolitan, E09 London borough"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn authority_type_follows_ons_code_prefix() {
        assert_eq!(
            authority_type_of("E09000022"),
            Ok(AuthorityType::LondonBorough)
        );
        assert_eq!(
            authority_type_of("E08000035"),
            Ok(AuthorityType::Metropolitan)
        );
        assert_eq!(authority_type_of("E06000018"), Ok(AuthorityType::Unitary));
        assert_eq!(authority_type_of("E07000178"), Ok(AuthorityType::District));
    }

    #[test]
    fn codes_that_are_not_english_housing_authorities_are_refused() {
        for bad in [
            "E10000003",
            "W06000015",
            "S12000033",
            "E0900002",
            "E09-00022",
            "",
        ] {
            assert!(authority_type_of(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_council_code_maps_back_to_its_prefix(t in 0usize..4, n in 0u32..1_000_000) {
            let ty = AuthorityType::ALL[t];
            let code = format!("{}{:06}", ty.ons_prefix(), n);
            prop_assert_eq!(authority_type_of(&code), Ok(ty));
        }
    }
}
