//! The site's register of portable extinguishers and hose reels, as the
//! fire-safety manager keeps it (`[tickets] extinguishers`): what stands
//! where, when it was made, last inspected and next serviced. The tickets
//! stage turns it into inspection, service and replacement work.

use jiff::civil::Date;

crate::text_enum! {
    /// What a unit is; sets its service interval and scrap age (GB 50444-2008
    /// clauses 5.3.2 and 5.4.3).
    ExtinguisherKind {
        /// Water-based (water mist, foam): serviced 3 years after manufacture, then yearly; scrapped at 6 years.
        WaterBased = "water_based",
        /// Dry powder: serviced 5 years after manufacture, then every 2 years; scrapped at 10 years.
        DryPowder = "dry_powder",
        /// Clean agent (halocarbon): as dry powder; scrapped at 10 years.
        CleanAgent = "clean_agent",
        /// Carbon dioxide: as dry powder; scrapped at 12 years.
        CarbonDioxide = "carbon_dioxide",
        /// Fire hose reel: inspected monthly, no service interval or scrap age of its own.
        HoseReel = "hose_reel",
    }
}

/// One unit of the register.
#[derive(Debug, Clone, PartialEq)]
pub struct Extinguisher {
    /// The label on the unit (`FE-01`); checklist items start with it.
    pub id: String,
    /// Where it stands, as a person finds it.
    pub location: String,
    /// What it is.
    pub kind: ExtinguisherKind,
    /// As the label says (`4 kg`, `6 L`, `25 m`).
    pub capacity: String,
    /// Manufacture date (a month is read as its first day).
    pub manufactured: Date,
    /// Last monthly inspection before sitewarden recorded any.
    pub last_inspection: Option<Date>,
    /// Next service at a licensed workshop; from the kind's interval when left out.
    pub next_service: Option<Date>,
    /// Scrap date; from the kind's age when left out.
    pub expiry: Option<Date>,
}
