//! The sector as the regulator sees it, generated from a seed: councils of the four authority
//! types (DOMAIN.md, 003 Table 6), ALMOs under their councils (some councils with two), CIPFA-style
//! peer groups, and every organisation's signed-off returns — four quarters and the year — for
//! 30 measures over the years asked for.
//!
//! The 30 measures are the 22 Tenant Satisfaction Measures and 8 indicators of the shipped
//! catalogue with quarterly returns (BVPI 63, 66a, 184a, 185, old BVPI 68, 69, 72 and 73). The
//! shipped definitions cover 2000/01-2007/08 (the BVPIs) and 2023/24 on (the TSMs); for the
//! years between, the bench imports copies of the nearest shipped definition (same unit,
//! ranges, splits and frequency) through `ImportCatalogue`, as the catalogue is meant to grow,
//! so every measure is in force in every year and every value is validated against a real
//! definition's rules.
//!
//! Figures are plausible by construction: each series (organisation, measure, split, period)
//! starts inside the definition's usual range and moves each year by less than half the largest
//! change on last year it allows, clamped to the usual range and rounded to its precision, so
//! no value raises a warning and none needs an explanation. About one return in twenty was
//! submitted after its deadline (late).

use std::collections::HashMap;

use almo_db::Db;
use almo_db::entity::{organisation, peer_group, peer_group_member};
use almo_pi_returns::domain::catalogue::{self, Definition};
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::pi_returns as pb;
use chrono::{NaiveDate, TimeZone, Utc};
use sea_orm::{EntityTrait, Set, TransactionTrait};

/// The measures every organisation reports.
pub const MEASURES: [&str; 30] = [
    "TP01",
    "TP02",
    "TP03",
    "TP04",
    "TP05",
    "TP06",
    "TP07",
    "TP08",
    "TP09",
    "TP10",
    "TP11",
    "TP12",
    "BS01",
    "BS02",
    "BS03",
    "BS04",
    "BS05",
    "RP01",
    "RP02",
    "CH01",
    "CH02",
    "NM01",
    "BVPI 63",
    "BVPI 66a",
    "BVPI 184a",
    "BVPI 185",
    "old BVPI 68",
    "old BVPI 69",
    "old BVPI 72",
    "old BVPI 73",
];

/// The four authority types (003 Table 6) with their GSS prefixes, and how many councils in
/// twenty are of each (London 2, metropolitan 3, unitary 4, district 11).
const TYPES: [(&str, &str, u64); 4] = [
    ("E09", "london_borough", 2),
    ("E08", "metropolitan", 3),
    ("E06", "unitary", 4),
    ("E07", "district", 11),
];

/// Councils in a peer group (CIPFA nearest-neighbour groups are of about this size).
const PEER_GROUP_SIZE: usize = 15;

pub const REGULATOR: &str = "RSH";
pub const OPERATOR: &str = "OPERATOR";

/// SplitMix64's output function: a well-mixed 64-bit hash of `z`.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1) from the parts of a key.
fn unit(parts: &[u64]) -> f64 {
    let h = parts.iter().fold(0x5eed_2026_u64, |acc, p| {
        mix(acc ^ p.wrapping_mul(0x100_0000_01b3))
    });
    (h >> 11) as f64 / (1u64 << 53) as f64
}

pub struct Org {
    pub id: String,
    pub kind: &'static str,
    pub authority_type: Option<&'static str>,
    pub council: Option<String>,
    pub stock: i32,
}

pub struct PeerGroup {
    pub id: String,
    pub members: Vec<String>,
}

pub struct Sector {
    pub orgs: Vec<Org>,
    pub peer_groups: Vec<PeerGroup>,
    pub years: std::ops::RangeInclusive<i32>,
    /// The definitions the bench imports so that every measure is in force in every year.
    pub added: Vec<Definition>,
    /// The shipped catalogue and `added`: what the service validates against.
    defs: Vec<Definition>,
}

impl Sector {
    /// `orgs` organisations (a fifth of them ALMOs) reporting for `years`.
    pub fn new(orgs: usize, years: std::ops::RangeInclusive<i32>) -> Self {
        let almos = orgs / 5;
        let councils = orgs - almos;
        let mut out = Vec::with_capacity(orgs);
        let mut by_type: HashMap<&str, Vec<String>> = HashMap::new();
        for i in 0..councils {
            let slot = (i % 20) as u64;
            let mut acc = 0;
            let (prefix, ty, _) = TYPES
                .iter()
                .find(|(_, _, n)| {
                    acc += n;
                    slot < acc
                })
                .expect("the shares add up to twenty");
            let id = format!("{prefix}{i:06}");
            by_type.entry(ty).or_default().push(id.clone());
            out.push(Org {
                id,
                kind: "council",
                authority_type: Some(ty),
                council: None,
                // From 400 to 40,000 homes: a few under the 1,000 that must submit the TSMs.
                stock: 400 + (unit(&[1, i as u64]) * 39_600.0) as i32,
            });
        }
        for j in 0..almos {
            // Most councils with an ALMO have one; the last tenth of the ALMOs are second ALMOs.
            let first = almos * 9 / 10;
            let council = if j < first { j * 4 } else { (j - first) * 8 } % councils;
            out.push(Org {
                id: format!("ALMO-{j:05}"),
                kind: "almo",
                authority_type: None,
                council: Some(out[council].id.clone()),
                stock: 3_000 + (unit(&[2, j as u64]) * 27_000.0) as i32,
            });
        }
        let mut peer_groups = Vec::new();
        let mut types: Vec<_> = by_type.into_iter().collect();
        types.sort();
        for (ty, ids) in types {
            for (k, members) in ids.chunks(PEER_GROUP_SIZE).enumerate() {
                peer_groups.push(PeerGroup {
                    id: format!("NN-{ty}-{k:03}"),
                    members: members.to_vec(),
                });
            }
        }
        let (defs, added) = catalogue_for(&years);
        Sector {
            orgs: out,
            peer_groups,
            years,
            added,
            defs,
        }
    }

    pub fn authority_types(&self) -> impl Iterator<Item = &'static str> {
        TYPES.iter().map(|(_, ty, _)| *ty)
    }

    /// Writes the directory: the organisations, the peer groups, the regulator and the operator.
    pub async fn write_directory(&self, db: &Db) -> anyhow::Result<()> {
        let txn = db.conn().begin().await?;
        let now = Utc::now();
        let org = |id: &str, kind: &str, ty: Option<&str>, council: Option<&str>, stock| {
            let almo = kind == "almo";
            organisation::ActiveModel {
                id: Set(id.into()),
                name: Set(format!("Sector {id}")),
                kind: Set(kind.into()),
                authority_type: Set(ty.map(String::from)),
                region: Set(None),
                council_id: Set(council.map(String::from)),
                section27_consent_date: Set(almo.then(|| date(1999, 10, 1))),
                go_live_date: Set(almo.then(|| date(2000, 4, 1))),
                agreement_end_date: Set(None),
                end_date: Set(None),
                stock_size: Set(stock),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            }
        };
        let mut rows = vec![
            org(REGULATOR, "regulator", None, None, None),
            org(OPERATOR, "operator", None, None, None),
        ];
        rows.extend(self.orgs.iter().map(|o| {
            org(
                &o.id,
                o.kind,
                o.authority_type,
                o.council.as_deref(),
                Some(o.stock),
            )
        }));
        for chunk in rows.chunks(500) {
            organisation::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        for g in &self.peer_groups {
            peer_group::Entity::insert(peer_group::ActiveModel {
                id: Set(g.id.clone()),
                name: Set(format!("Nearest neighbours {}", g.id)),
                kind: Set("cipfa_nearest_neighbours".into()),
                owner_organisation_id: Set(g.members[0].clone()),
                justification: Set("CIPFA nearest-neighbour model".into()),
                created_at: Set(now),
            })
            .exec_without_returning(&txn)
            .await?;
            peer_group_member::Entity::insert_many(g.members.iter().map(|m| {
                peer_group_member::ActiveModel {
                    peer_group_id: Set(g.id.clone()),
                    member_id: Set(m.clone()),
                }
            }))
            .exec_without_returning(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// The figures, year by year: the generator keeps each series' level between years.
    pub fn generator(&self) -> Generator<'_> {
        Generator {
            sector: self,
            levels: HashMap::new(),
        }
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// The shipped catalogue with copies filling the years it leaves uncovered for a measure; and
/// those copies.
fn catalogue_for(years: &std::ops::RangeInclusive<i32>) -> (Vec<Definition>, Vec<Definition>) {
    let shipped = catalogue::seed();
    let mut added = Vec::new();
    for code in MEASURES {
        let mut gap: Option<(i32, i32)> = None;
        let mut gaps = Vec::new();
        for y in years.clone() {
            if catalogue::in_force(&shipped, code, y).is_none() {
                gap = Some(gap.map_or((y, y), |(a, _)| (a, y)));
            } else if let Some(g) = gap.take() {
                gaps.push(g);
            }
        }
        gaps.extend(gap);
        for (from, to) in gaps {
            let nearest = shipped
                .iter()
                .filter(|d| d.code == code)
                .min_by_key(|d| (d.from_year - from).abs())
                .expect("every measure is in the shipped catalogue");
            let mut copy = nearest.clone();
            copy.from_year = from;
            copy.to_year = Some(to);
            copy.source = format!(
                "almo-bench national: {code} as defined from {}, in force {from}-{to} for the \
                 benchmark's sector",
                nearest.from_year
            );
            added.push(copy);
        }
    }
    let mut defs = shipped;
    defs.extend(added.iter().cloned());
    (defs, added)
}

/// Generates the returns of one year after another.
pub struct Generator<'a> {
    sector: &'a Sector,
    /// Each series' level as a fraction of its definition's usual range.
    levels: HashMap<(usize, usize, usize, i32), f64>,
}

impl Generator<'_> {
    /// Every organisation's returns for `year`: its four quarters, then the year.
    pub fn year(&mut self, year: i32) -> Vec<pb::ImportedReturn> {
        let sector = self.sector;
        let mut out = Vec::with_capacity(sector.orgs.len() * 5);
        for (o, org) in sector.orgs.iter().enumerate() {
            for number in [1, 2, 3, 4, 0] {
                let quarterly = number != 0;
                let mut values = Vec::new();
                for (m, code) in MEASURES.iter().enumerate() {
                    let def = catalogue::in_force(&sector.defs, code, year)
                        .expect("every measure is in force in every year");
                    if !def.reported_in(quarterly) {
                        continue;
                    }
                    let splits = std::iter::once("").chain(def.splits.iter().map(String::as_str));
                    for (s, split) in splits.enumerate() {
                        let v = self.next((o, m, s, number), year, def);
                        values.push(pb::ValueInput {
                            indicator_code: (*code).into(),
                            split: split.into(),
                            value: Some(v),
                            ..Default::default()
                        });
                    }
                }
                out.push(signed_off(org, year, number, values, o));
            }
        }
        out
    }

    /// The series' figure for `year`: its level moved by less than half the largest change the
    /// definition allows without an explanation, inside the usual range, rounded.
    fn next(&mut self, key: (usize, usize, usize, i32), year: i32, def: &Definition) -> f64 {
        let range = def.usual_max - def.usual_min;
        let (o, m, s, p) = key;
        let h = |salt: u64| unit(&[salt, o as u64, m as u64, s as u64, p as u64, year as u64]);
        let allowed = if def.max_change_on_last_year > 0.0 {
            def.max_change_on_last_year.min(range * 0.1)
        } else {
            range * 0.1
        };
        // Less than half the allowed change, less a step of rounding at each end.
        let step = ((allowed / 2.0 - 2.0 * 10f64.powi(-(def.precision as i32))) / range).max(0.0);
        let level = match self.levels.get(&key) {
            None => 0.15 + 0.7 * h(3),
            Some(l) => (l + (2.0 * h(4) - 1.0) * step).clamp(0.0, 1.0),
        };
        self.levels.insert(key, level);
        let f = 10f64.powi(def.precision as i32);
        let v = ((def.usual_min + level * range) * f).round() / f;
        v.clamp(def.usual_min, def.usual_max)
    }
}

/// A return as the predecessor system signed it off: a quarter's within three weeks of its end
/// (due by the end of the month after), the year's on 1 June (due 30 June); one in twenty a
/// fortnight after its deadline.
fn signed_off(
    org: &Org,
    year: i32,
    number: i32,
    values: Vec<pb::ValueInput>,
    o: usize,
) -> pb::ImportedReturn {
    let (kind, submitted) = match number {
        0 => (PeriodKind::Year, date(year + 1, 6, 1)),
        q => {
            let end_month = [6, 9, 12, 3][(q - 1) as usize];
            let end_year = if q == 4 { year + 1 } else { year };
            let end = date(end_year, end_month, 1) + chrono::Months::new(1);
            (PeriodKind::Quarter, end + chrono::Days::new(20))
        }
    };
    let late = unit(&[5, o as u64, year as u64, number as u64]) < 0.05;
    let submitted = if late {
        submitted + chrono::Days::new(45)
    } else {
        submitted
    };
    let at = |d: NaiveDate, h: u32| {
        almo_server::timestamp(Utc.from_utc_datetime(&d.and_hms_opt(h, 0, 0).expect("an hour")))
    };
    pb::ImportedReturn {
        organisation_id: org.id.clone(),
        period: Some(Period {
            year: Some(FinancialYear { start_year: year }),
            kind: kind as i32,
            number: number.max(1),
        }),
        values,
        submitted_by: format!("officer@{}", org.id),
        submit_time: Some(at(submitted, 10)),
        signed_off_by: format!("certifier@{}", org.id),
        sign_off_time: Some(at(submitted + chrono::Days::new(2), 15)),
    }
}
