//! NOR flash in RAM, with power cuts on demand: the station's flash for
//! the host simulation, the tests, and the QEMU image (whose emulated board
//! has no flash driver worth the name).
//!
//! It behaves like NOR flash: erase sets a page to 0xFF, a write can only
//! clear bits (it ANDs), words are written one after the other. With a
//! budget of `n` operations (a word written or a page-word erased), the
//! `n+1`-th and every later operation fails: the power was cut in the
//! middle of whatever was being written. By default the cut word is left
//! as it was; with [`RamFlash::tear_cut_word`] it is left half done, as a
//! real NOR cell array can be when the supply drops mid-program: half of
//! its bytes programmed (or, for an erase, set back to 0xFF), half not.

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
    tear: bool,
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
            tear: false,
        }
    }

    /// Cuts the power after `operations` more word writes or erases; `None` restores it.
    pub fn cut_after(&mut self, operations: Option<usize>) {
        self.budget = operations;
    }

    /// Whether the word an operation is cut in is left half done (true) or untouched.
    pub fn tear_cut_word(&mut self, tear: bool) {
        self.tear = tear;
    }

    /// Whether the power has been cut.
    pub fn powered(&self) -> bool {
        self.budget != Some(0)
    }

    /// Takes one operation from the budget. The operation the power is cut
    /// in (the first refused) may still half-change its word: `cut` does that.
    fn spend(
        &mut self,
        at: usize,
        cut: fn(&mut [u8], &[u8]),
        data: &[u8],
    ) -> Result<(), FlashError> {
        match &mut self.budget {
            Some(0) => {
                if core::mem::take(&mut self.tear) {
                    cut(&mut self.bytes[at..at + WORD / 2], &data[..WORD / 2]);
                }
                Err(FlashError::PowerLost)
            }
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
            self.spend(word, erase_cells, &[0xFF; WORD])?;
            erase_cells(&mut self.bytes[word..word + WORD], &[0xFF; WORD]);
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        if offset as usize % WORD != 0 || bytes.len() % WORD != 0 {
            return Err(FlashError::OutOfBounds);
        }
        let range = self.range(offset, bytes.len())?;
        for (i, chunk) in bytes.chunks(WORD).enumerate() {
            let at = range.start + i * WORD;
            self.spend(at, program_cells, chunk)?;
            program_cells(&mut self.bytes[at..at + WORD], chunk);
        }
        Ok(())
    }
}

/// Programming can only clear bits.
fn program_cells(cells: &mut [u8], data: &[u8]) {
    for (cell, b) in cells.iter_mut().zip(data) {
        *cell &= *b;
    }
}

/// Erasing sets every bit.
fn erase_cells(cells: &mut [u8], _: &[u8]) {
    cells.fill(0xFF);
}
