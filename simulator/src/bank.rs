//! A device's four Modbus tables and how values are written into them.

use crate::profile::SimPoint;

/// Which table a point lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Function 1/5/15.
    Coil,
    /// Function 2.
    Discrete,
    /// Function 3/6/16.
    Holding,
    /// Function 4.
    Input,
}

impl Table {
    /// Parses a profile's `kind`.
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "coil" => Some(Self::Coil),
            "discrete-input" => Some(Self::Discrete),
            "holding" => Some(Self::Holding),
            "input" => Some(Self::Input),
            _ => None,
        }
    }
}

/// The four tables, each as long as the highest mapped address needs. A read
/// past the end is "illegal data address", as on real equipment.
#[derive(Debug, Clone, Default)]
pub struct Bank {
    /// Coils.
    pub coils: Vec<bool>,
    /// Discrete inputs.
    pub discrete: Vec<bool>,
    /// Holding registers.
    pub holding: Vec<u16>,
    /// Input registers.
    pub input: Vec<u16>,
}

/// Registers a data type occupies.
pub fn width(data_type: &str) -> usize {
    match data_type {
        "u32" | "i32" | "f32" => 2,
        "u64" | "i64" | "f64" => 4,
        _ => 1,
    }
}

impl Bank {
    /// Tables sized for a register map.
    pub fn for_points(points: &[SimPoint]) -> Self {
        let mut bank = Self::default();
        for p in points {
            let end = usize::from(p.address) + width(p.data_type.as_deref().unwrap_or("u16"));
            match Table::parse(&p.kind) {
                Some(Table::Coil) => grow(&mut bank.coils, usize::from(p.address) + 1),
                Some(Table::Discrete) => grow(&mut bank.discrete, usize::from(p.address) + 1),
                Some(Table::Holding) => grow(&mut bank.holding, end),
                Some(Table::Input) => grow(&mut bank.input, end),
                None => {}
            }
        }
        bank
    }

    /// Writes an engineering value into the point's registers or bit.
    pub fn write(&mut self, point: &SimPoint, value: f64) {
        let address = usize::from(point.address);
        let on = value != 0.0;
        let table = Table::parse(&point.kind);
        match table {
            Some(Table::Coil) => set_bit(&mut self.coils, address, on),
            Some(Table::Discrete) => set_bit(&mut self.discrete, address, on),
            Some(Table::Holding) => write_register_value(&mut self.holding, point, value),
            Some(Table::Input) => write_register_value(&mut self.input, point, value),
            None => {}
        }
    }
}

fn grow<T: Default + Clone>(table: &mut Vec<T>, len: usize) {
    if table.len() < len {
        table.resize(len, T::default());
    }
}

fn set_bit(table: &mut [bool], address: usize, on: bool) {
    if let Some(slot) = table.get_mut(address) {
        *slot = on;
    }
}

fn write_register_value(table: &mut [u16], point: &SimPoint, value: f64) {
    let address = usize::from(point.address);
    let data_type = point.data_type.as_deref().unwrap_or("u16");
    let raw = (value - point.offset.unwrap_or(0.0)) / point.scale.unwrap_or(1.0);
    let n = width(data_type);
    let bits: u64 = match data_type {
        "bool" => u64::from(value != 0.0),
        "bit" => {
            let bit = point.bit.unwrap_or(0) & 15;
            let Some(slot) = table.get_mut(address) else {
                return;
            };
            if value != 0.0 {
                *slot |= 1 << bit;
            } else {
                *slot &= !(1 << bit);
            }
            return;
        }
        "u16" => raw.round().clamp(0.0, 65535.0) as u64,
        "i16" => u64::from(raw.round().clamp(-32768.0, 32767.0) as i16 as u16),
        "u32" => raw.round().clamp(0.0, u32::MAX as f64) as u64,
        "i32" => u64::from(raw.round().clamp(i32::MIN as f64, i32::MAX as f64) as i32 as u32),
        "u64" => raw.round().max(0.0) as u64,
        "i64" => raw.round() as i64 as u64,
        "f32" => u64::from((raw as f32).to_bits()),
        "f64" => raw.to_bits(),
        _ => return,
    };
    // Most significant word first, then reversed for low-first devices.
    let words = [
        (bits >> 48) as u16,
        (bits >> 32) as u16,
        (bits >> 16) as u16,
        bits as u16,
    ];
    let mut value_words: Vec<u16> = words[4 - n..].to_vec();
    if point.word_order.as_deref() == Some("low-first") {
        value_words.reverse();
    }
    if let Some(slots) = table.get_mut(address..address + n) {
        slots.copy_from_slice(&value_words);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(kind: &str, data_type: &str, order: Option<&str>) -> SimPoint {
        SimPoint {
            name: "p".into(),
            role: None,
            kind: kind.into(),
            address: 2,
            data_type: Some(data_type.into()),
            bit: Some(3),
            word_order: order.map(Into::into),
            scale: None,
            offset: None,
            zone: None,
            topic: None,
            json_pointer: None,
        }
    }

    #[test]
    fn encodes_word_orders_and_bits() {
        let p = point("holding", "u32", None);
        let mut bank = Bank::for_points(std::slice::from_ref(&p));
        bank.write(&p, 65538.0);
        assert_eq!(&bank.holding[2..4], &[1, 2]);
        let q = point("holding", "u32", Some("low-first"));
        bank.write(&q, 65538.0);
        assert_eq!(&bank.holding[2..4], &[2, 1]);
        let b = point("holding", "bit", None);
        bank.write(&b, 1.0);
        assert_eq!(bank.holding[2], 2 | 8);
        bank.write(&b, 0.0);
        assert_eq!(bank.holding[2], 2);
    }
}
