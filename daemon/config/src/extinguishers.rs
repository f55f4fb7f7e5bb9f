//! The extinguisher register file (`[tickets] extinguishers`): one
//! `[[extinguisher]]` per portable extinguisher or hose reel, checked with
//! positions like every other config file.

use serde::Deserialize;
use sitewarden_model::catalog::{Extinguisher, ExtinguisherKind};

use super::Spanned;
use super::load::FileId;
use super::validate::{Validator, at};

/// The register file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtinguisherFile {
    /// The units, in the order the fire-safety manager keeps them.
    #[serde(default)]
    pub extinguisher: Vec<ExtinguisherSection>,
}

/// One unit as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtinguisherSection {
    /// The label on the unit.
    pub id: Spanned<String>,
    /// Where it stands.
    pub location: String,
    /// `water_based`, `dry_powder`, `clean_agent`, `carbon_dioxide` or `hose_reel`.
    pub kind: ExtinguisherKind,
    /// As the label says (`4 kg`).
    pub capacity: String,
    /// `YYYY-MM` or `YYYY-MM-DD`.
    pub manufactured: Spanned<String>,
    /// `YYYY-MM-DD` of the last monthly inspection on paper.
    #[serde(default)]
    pub last_inspection: Option<Spanned<String>>,
    /// `YYYY-MM-DD` of the next workshop service, when the label says.
    #[serde(default)]
    pub next_service: Option<Spanned<String>>,
    /// `YYYY-MM-DD` scrap date, when the label says.
    #[serde(default)]
    pub expiry: Option<Spanned<String>>,
}

/// Checks the register; units with errors are left out (and reported).
pub(super) fn check_extinguishers(
    v: &mut Validator<'_>,
    file: FileId,
    register: &ExtinguisherFile,
) -> Vec<Extinguisher> {
    let mut units: Vec<Extinguisher> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for s in &register.extinguisher {
        let errors_before = v.error_count();
        let id = s.id.get_ref().trim();
        if id.is_empty() || id.contains('·') {
            v.error(
                &at(file, &s.id),
                "an extinguisher id is the label on the unit: not empty, no `·`",
            );
        }
        if !seen.insert(id) {
            v.error(
                &at(file, &s.id),
                format!("extinguisher `{id}` is listed twice"),
            );
        }
        let manufactured = month_or_date(v, file, &s.manufactured, "manufactured");
        let mut date = |value: &Option<Spanned<String>>, name: &str| {
            value.as_ref().and_then(|d| {
                let parsed = d.get_ref().parse::<jiff::civil::Date>().ok();
                if parsed.is_none() {
                    v.error(
                        &at(file, d),
                        format!("{name} `{}` is not a date (YYYY-MM-DD)", d.get_ref()),
                    );
                }
                parsed
            })
        };
        let last_inspection = date(&s.last_inspection, "last_inspection");
        let next_service = date(&s.next_service, "next_service");
        let expiry = date(&s.expiry, "expiry");
        if let (Some(made), Some(e), Some(pos)) = (manufactured, expiry, &s.expiry)
            && e <= made
        {
            v.error(
                &at(file, pos),
                format!("expiry {e} is not after manufacture {made}"),
            );
        }
        let Some(manufactured) = manufactured else {
            continue;
        };
        if v.error_count() == errors_before {
            units.push(Extinguisher {
                id: id.to_owned(),
                location: s.location.trim().to_owned(),
                kind: s.kind,
                capacity: s.capacity.trim().to_owned(),
                manufactured,
                last_inspection,
                next_service,
                expiry,
            });
        }
    }
    units
}

/// `YYYY-MM` (its first day) or `YYYY-MM-DD`: labels often give the month only.
fn month_or_date(
    v: &mut Validator<'_>,
    file: FileId,
    value: &Spanned<String>,
    name: &str,
) -> Option<jiff::civil::Date> {
    let text = value.get_ref();
    let parsed = text
        .parse::<jiff::civil::Date>()
        .ok()
        .or_else(|| format!("{text}-01").parse().ok());
    if parsed.is_none() {
        v.error(
            &at(file, value),
            format!("{name} `{text}` is not a month (YYYY-MM) or a date (YYYY-MM-DD)"),
        );
    }
    parsed
}
