//! NOR flash in RAM, with power cuts on demand: the station's flash for
//! the host simulation, the tests, and the QEMU image (whose emulated board
//! has no flash driver worth the name).
//!
//! It behaves like NOR flash: erase sets a page to 0xFF, a write can only
//! clear bits (it ANDs), words are written one after the other. With a
//! budget of `n` operations (a word written or a page-word erased), the
//! `n+1`-th and every later operation fails and changes nothing: the power
//! was cut in the middle of whatever was being written.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Erase page size.
pub const PAGE: usize = 1024;
/// Write granularity.
pub const WORD: usize = 4;

/// `SIZE` bytes of NOR flash in RAM.
pub struct RamFlash<const SIZE: usize> {
    /// The contents (survive a simulated reset).
    pub bytes: [u8; SIZE],
    budget: Option<usize>,
}

/// The power went (or an out-of-range access).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashError {
    /// The power was cut.
    PowerLost,
    /// Outside the flash or not aligned.
    OutOfBounds,
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::PowerLost => NorFlashErrorKind::Other,
            Self::OutOfBounds => NorFlashErrorKind::OutOfBounds,
        }
    }
}

impl<const SIZE: usize> Default for RamFlash<SIZE> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SIZE: usize> RamFlash<SIZE> {
    /// Erased flash with unlimited power.
    pub const fn new() -> Self {
        Self {
            bytes: [0xFF; SIZE],
            budget: None,
        }
    }

    /// Cuts the power after `operations` more word writes or erases; `None` restores it.
    pub fn cut_after(&mut self, operations: Option<usize>) {
        self.budget = operations;
    }

    /// Whether the power has been cut.
    pub fn powered(&self) -> bool {
        self.budget != Some(0)
    }

    fn spend(&mut self) -> Result<(), FlashError> {
        match &mut self.budget {
            Some(0) => Err(FlashError::PowerLost),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn range(&self, offset: u32, len: usize) -> Result<core::ops::Range<usize>, FlashError> {
        let start = offset as usize;
        let end = start.checked_add(len).ok_or(FlashError::OutOfBounds)?;
        if end > SIZE {
            return Err(FlashError::OutOfBounds);
        }
        Ok(start..end)
    }
}

impl<const SIZE: usize> ErrorType for RamFlash<SIZE> {
    type Error = FlashError;
}

impl<const SIZE: usize> ReadNorFlash for RamFlash<SIZE> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let range = self.range(offset, bytes.len())?;
        bytes.copy_from_slice(&self.bytes[range]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        SIZE
    }
}

impl<const SIZE: usize> NorFlash for RamFlash<SIZE> {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        if from as usize % PAGE != 0 || to as usize % PAGE != 0 || to < from {
            return Err(FlashError::OutOfBounds);
        }
        let range = self.range(from, (to - from) as usize)?;
        for word in range.step_by(WORD) {
            self.spend()?;
            self.bytes[word..word + WORD].fill(0xFF);
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        if offset as usize % WORD != 0 || bytes.len() % WORD != 0 {
            return Err(FlashError::OutOfBounds);
        }
        let range = self.range(offset, bytes.len())?;
        for (i, chunk) in bytes.chunks(WORD).enumerate() {
            self.spend()?;
            let at = range.start + i * WORD;
            for (cell, b) in self.bytes[at..at + WORD].iter_mut().zip(chunk) {
                *cell &= *b;
            }
        }
        Ok(())
    }
}
