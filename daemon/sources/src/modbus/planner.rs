//! The read planner: as few Modbus requests as possible for a set of points.
//!
//! Points of the same table are merged into one request while the merged
//! span stays within the protocol limit (125 registers, 2000 bits) and any
//! hole between points is no longer than the device's largest gap. Addresses
//! found to answer "illegal data address" are *forbidden*: a request never
//! reads through a forbidden gap, and a point whose own registers are
//! forbidden is read on its own, so one bad address costs one point, not
//! its neighbours.

use std::collections::BTreeSet;

use sitewarden_model::catalog::Point;
use sitewarden_model::vocab::RegisterKind;

/// Largest register count of one read (Modbus application protocol 1.1b3, 6.3).
pub const MAX_REGISTERS: u16 = 125;
/// Largest bit count of one read (6.1, 6.2).
pub const MAX_BITS: u16 = 2000;

/// One Modbus read covering one or more points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// Table read.
    pub kind: RegisterKind,
    /// First address.
    pub start: u16,
    /// Registers or bits read.
    pub count: u16,
    /// Indices (into the planned point slice) of the points it covers, by address.
    pub points: Vec<u32>,
}

impl ReadRequest {
    /// One past the last address read.
    pub fn end(&self) -> u32 {
        u32::from(self.start) + u32::from(self.count)
    }
}

/// How far merging may go for one device.
#[derive(Debug, Clone, Copy)]
pub struct PlanLimits {
    /// Largest run of unused registers to read through.
    pub max_gap_registers: u16,
    /// Largest run of unused bits to read through.
    pub max_gap_bits: u16,
}

/// Addresses known to answer "illegal data address", per table.
#[derive(Debug, Clone, Default)]
pub struct Forbidden {
    coils: BTreeSet<u16>,
    discrete_inputs: BTreeSet<u16>,
    holding: BTreeSet<u16>,
    input: BTreeSet<u16>,
}

impl Forbidden {
    fn set(&self, kind: RegisterKind) -> &BTreeSet<u16> {
        match kind {
            RegisterKind::Coil => &self.coils,
            RegisterKind::DiscreteInput => &self.discrete_inputs,
            RegisterKind::Holding => &self.holding,
            RegisterKind::Input => &self.input,
        }
    }

    fn set_mut(&mut self, kind: RegisterKind) -> &mut BTreeSet<u16> {
        match kind {
            RegisterKind::Coil => &mut self.coils,
            RegisterKind::DiscreteInput => &mut self.discrete_inputs,
            RegisterKind::Holding => &mut self.holding,
            RegisterKind::Input => &mut self.input,
        }
    }

    /// True when any address in `start..end` is forbidden.
    pub fn any_in(&self, kind: RegisterKind, start: u32, end: u32) -> bool {
        if start >= end || start > u32::from(u16::MAX) {
            return false;
        }
        let end = end.min(u32::from(u16::MAX) + 1);
        self.set(kind)
            .range(start as u16..)
            .next()
            .is_some_and(|a| u32::from(*a) < end)
    }

    /// Forbids `start..end`; returns true when anything was new.
    pub fn forbid(&mut self, kind: RegisterKind, start: u32, end: u32) -> bool {
        let set = self.set_mut(kind);
        let mut changed = false;
        for a in start..end.min(u32::from(u16::MAX) + 1) {
            changed |= set.insert(a as u16);
        }
        changed
    }

    /// Allows `start..end` again (the point answered on its own); returns
    /// true when anything changed.
    pub fn allow(&mut self, kind: RegisterKind, start: u32, end: u32) -> bool {
        let set = self.set_mut(kind);
        let mut changed = false;
        for a in start..end.min(u32::from(u16::MAX) + 1) {
            changed |= set.remove(&(a as u16));
        }
        changed
    }

    /// Number of forbidden addresses, for the API and tests.
    pub fn len(&self) -> usize {
        self.coils.len() + self.discrete_inputs.len() + self.holding.len() + self.input.len()
    }

    /// True when nothing is forbidden.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Plans the requests for `points` (any order). Pure: same input, same plan.
pub fn plan(points: &[Point], limits: PlanLimits, forbidden: &Forbidden) -> Vec<ReadRequest> {
    let mut order: Vec<u32> = (0..points.len() as u32).collect();
    order.sort_by_key(|&i| {
        let p = &points[i as usize];
        (p.kind, p.address, p.width())
    });
    let mut requests: Vec<ReadRequest> = Vec::new();
    let mut current_solo = false;
    for index in order {
        let p = &points[index as usize];
        let solo = forbidden.any_in(p.kind, u32::from(p.address), p.end());
        let merged = match requests.last_mut() {
            Some(r) if !solo && !current_solo && can_extend(r, p, limits, forbidden) => {
                let end = r.end().max(p.end());
                r.count = (end - u32::from(r.start)) as u16;
                r.points.push(index);
                true
            }
            _ => false,
        };
        if !merged {
            requests.push(ReadRequest {
                kind: p.kind,
                start: p.address,
                count: p.width(),
                points: vec![index],
            });
            current_solo = solo;
        }
    }
    requests
}

fn can_extend(r: &ReadRequest, p: &Point, limits: PlanLimits, forbidden: &Forbidden) -> bool {
    if r.kind != p.kind {
        return false;
    }
    let (max_count, max_gap) = if p.kind.is_bit_table() {
        (MAX_BITS, limits.max_gap_bits)
    } else {
        (MAX_REGISTERS, limits.max_gap_registers)
    };
    let start = u32::from(p.address);
    let gap = start.saturating_sub(r.end());
    let new_end = r.end().max(p.end());
    gap <= u32::from(max_gap)
        && new_end - u32::from(r.start) <= u32::from(max_count)
        && !forbidden.any_in(p.kind, r.end(), start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitewarden_model::vocab::{DataType, WordOrder};

    fn point(kind: RegisterKind, address: u16, data_type: DataType) -> Point {
        Point::for_tests(kind, address, data_type, WordOrder::HighFirst)
    }

    const LIMITS: PlanLimits = PlanLimits {
        max_gap_registers: 4,
        max_gap_bits: 16,
    };

    fn spans(requests: &[ReadRequest]) -> Vec<(RegisterKind, u16, u16)> {
        requests
            .iter()
            .map(|r| (r.kind, r.start, r.count))
            .collect()
    }

    #[test]
    fn merges_adjacent_and_small_gaps_splits_large_gaps() {
        let points = vec![
            point(RegisterKind::Holding, 0, DataType::U16),
            point(RegisterKind::Holding, 1, DataType::F32),
            point(RegisterKind::Holding, 7, DataType::U16), // gap of 4 after 0..3
            point(RegisterKind::Holding, 20, DataType::U16), // gap of 12
        ];
        let plan = plan(&points, LIMITS, &Forbidden::default());
        assert_eq!(
            spans(&plan),
            vec![
                (RegisterKind::Holding, 0, 8),
                (RegisterKind::Holding, 20, 1)
            ]
        );
        assert_eq!(plan[0].points, vec![0, 1, 2]);
    }

    #[test]
    fn never_merges_different_tables() {
        let points = vec![
            point(RegisterKind::Input, 0, DataType::U16),
            point(RegisterKind::Holding, 1, DataType::U16),
            point(RegisterKind::Coil, 0, DataType::Bool),
            point(RegisterKind::DiscreteInput, 1, DataType::Bool),
        ];
        assert_eq!(plan(&points, LIMITS, &Forbidden::default()).len(), 4);
    }

    #[test]
    fn respects_the_125_register_limit() {
        // 100 f32 values back to back: 200 registers.
        let points: Vec<Point> = (0..100)
            .map(|i| point(RegisterKind::Input, i * 2, DataType::F32))
            .collect();
        let plan = plan(&points, LIMITS, &Forbidden::default());
        assert!(plan.iter().all(|r| r.count <= MAX_REGISTERS));
        assert_eq!(
            spans(&plan),
            vec![
                (RegisterKind::Input, 0, 124),
                (RegisterKind::Input, 124, 76)
            ]
        );
        // Every point is in exactly one request.
        let covered: usize = plan.iter().map(|r| r.points.len()).sum();
        assert_eq!(covered, 100);
    }

    #[test]
    fn respects_the_2000_bit_limit() {
        let points: Vec<Point> = (0..2500)
            .map(|i| point(RegisterKind::Coil, i, DataType::Bool))
            .collect();
        let plan = plan(&points, LIMITS, &Forbidden::default());
        assert_eq!(
            spans(&plan),
            vec![
                (RegisterKind::Coil, 0, 2000),
                (RegisterKind::Coil, 2000, 500)
            ]
        );
    }

    #[test]
    fn bits_of_one_register_share_a_read() {
        let mut a = point(RegisterKind::Holding, 5, DataType::Bit);
        a.bit = 0;
        let mut b = point(RegisterKind::Holding, 5, DataType::Bit);
        b.bit = 7;
        assert_eq!(
            spans(&plan(&[a, b], LIMITS, &Forbidden::default())),
            vec![(RegisterKind::Holding, 5, 1)]
        );
    }

    #[test]
    fn a_forbidden_gap_splits_and_a_forbidden_point_reads_alone() {
        let points = vec![
            point(RegisterKind::Holding, 0, DataType::U16),
            point(RegisterKind::Holding, 3, DataType::U16),
            point(RegisterKind::Holding, 4, DataType::U16),
            point(RegisterKind::Holding, 5, DataType::U16),
        ];
        let mut forbidden = Forbidden::default();
        forbidden.forbid(RegisterKind::Holding, 1, 2); // in the gap 1..3
        forbidden.forbid(RegisterKind::Holding, 4, 5); // point at 4 itself
        assert_eq!(
            spans(&plan(&points, LIMITS, &forbidden)),
            vec![
                (RegisterKind::Holding, 0, 1),
                (RegisterKind::Holding, 3, 1),
                (RegisterKind::Holding, 4, 1),
                (RegisterKind::Holding, 5, 1),
            ]
        );
        forbidden.allow(RegisterKind::Holding, 4, 5);
        assert_eq!(
            spans(&plan(&points, LIMITS, &forbidden)),
            vec![(RegisterKind::Holding, 0, 1), (RegisterKind::Holding, 3, 3)]
        );
    }

    #[test]
    fn a_value_at_the_top_of_the_address_space_plans() {
        let points = vec![point(RegisterKind::Holding, 65534, DataType::U32)];
        assert_eq!(
            spans(&plan(&points, LIMITS, &Forbidden::default())),
            vec![(RegisterKind::Holding, 65534, 2)]
        );
    }
}
