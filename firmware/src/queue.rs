//! The power-cut-safe record queue on NOR flash.
//!
//! Two regions:
//!
//! * **Journal** (two pages, used in turn): 16-byte entries holding the
//!   confirm watermark (highest sequence number the daemon confirmed) and
//!   the boot counter. Both only grow, so the largest valid entry wins. The
//!   page in use always holds both current values, so the other page can
//!   be erased at any moment without losing anything.
//! * **Ring** (the other pages): 64-byte record slots written in order.
//!   A page is erased for reuse only when every record in it is confirmed;
//!   a page still holding an unconfirmed record makes the queue full.
//!
//! Every entry and slot carries a CRC-32, written in the same write as its
//! content: a power cut leaves it complete (and acknowledged) or torn (and
//! ignored on the next boot, never acknowledged). So a reset at any moment
//! loses no record the daemon has not confirmed, and brings back none it
//! has. No heap: the queue is found again by scanning the flash at boot.

use embedded_storage::nor_flash::NorFlash;

use crate::crc::crc32;
use crate::record::RECORD_LEN;

/// A stored record: its sequence number and bytes.
pub type Stored = (u32, [u8; RECORD_LEN]);

/// Bytes per record slot.
pub const SLOT: usize = 64;
/// Bytes per journal entry.
pub const ENTRY: usize = 16;
/// Journal pages.
pub const JOURNAL_PAGES: usize = 2;

const SLOT_MAGIC: u8 = 0xA5;
const ENTRY_MAGIC: u8 = 0x5A;
const KIND_WATERMARK: u8 = 1;
const KIND_BOOT: u8 = 2;

/// Why a queue operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError<E> {
    /// Every page holds an unconfirmed record: nothing is overwritten.
    Full,
    /// Confirm of anything but the oldest waiting record.
    NotOldest,
    /// Nothing is waiting.
    Empty,
    /// The flash failed (or the power went).
    Flash(E),
    /// The flash is too small or its pages do not fit the layout.
    Geometry,
}

/// The queue over a flash of `F`.
pub struct Queue<F> {
    flash: F,
    pages: usize,
    page_size: usize,
    /// Highest confirmed sequence number (0: none).
    watermark: u32,
    /// Boot counter, this boot included.
    boot: u32,
    /// Next sequence number to give.
    next_seq: u32,
    /// Journal page in use and its next free entry.
    journal: (usize, usize),
    /// Ring position of the next slot to write (page index within the ring, slot).
    write: (usize, usize),
    /// Records waiting.
    waiting: u32,
}

impl<F: NorFlash> Queue<F> {
    /// Finds the queue on `flash` after a reset, and counts this boot.
    pub fn open(flash: F) -> Result<Self, QueueError<F::Error>> {
        let page_size = F::ERASE_SIZE;
        let pages = flash.capacity() / page_size;
        if pages < JOURNAL_PAGES + 2
            || page_size % SLOT != 0
            || SLOT % F::WRITE_SIZE != 0
            || ENTRY % F::WRITE_SIZE != 0
        {
            return Err(QueueError::Geometry);
        }
        let mut q = Self {
            flash,
            pages,
            page_size,
            watermark: 0,
            boot: 0,
            next_seq: 1,
            journal: (0, 0),
            write: (0, 0),
            waiting: 0,
        };
        q.scan_journal()?;
        q.scan_ring()?;
        q.boot += 1;
        q.ensure_journal_holds_current()?;
        q.append_entry(KIND_BOOT, q.boot)?;
        Ok(q)
    }

    /// Gives the flash back (to simulate a reset in tests).
    pub fn into_flash(self) -> F {
        self.flash
    }

    /// Boot counter, this boot included.
    pub fn boot(&self) -> u32 {
        self.boot
    }

    /// Records waiting for confirmation.
    pub fn waiting(&self) -> u32 {
        self.waiting
    }

    /// The sequence number the next record gets.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// Whether a new record would find no room.
    pub fn is_full(&mut self) -> bool {
        matches!(self.room(), Ok(false))
    }

    fn ring_pages(&self) -> usize {
        self.pages - JOURNAL_PAGES
    }

    fn slots_per_page(&self) -> usize {
        self.page_size / SLOT
    }

    fn slot_offset(&self, page: usize, slot: usize) -> u32 {
        ((JOURNAL_PAGES + page) * self.page_size + slot * SLOT) as u32
    }

    fn entry_offset(&self, page: usize, entry: usize) -> u32 {
        (page * self.page_size + entry * ENTRY) as u32
    }

    fn scan_journal(&mut self) -> Result<(), QueueError<F::Error>> {
        let mut pages = [JournalPage::default(); JOURNAL_PAGES];
        for (page, found) in pages.iter_mut().enumerate() {
            *found = self.scan_journal_page(page)?;
            self.watermark = self.watermark.max(found.watermark);
            self.boot = self.boot.max(found.boot);
        }
        let active = active_journal_page(&pages, self.watermark, self.boot);
        self.journal = (active, pages[active].used);
        Ok(())
    }

    fn scan_journal_page(&mut self, page: usize) -> Result<JournalPage, QueueError<F::Error>> {
        let mut found = JournalPage::default();
        for e in 0..self.page_size / ENTRY {
            let mut b = [0u8; ENTRY];
            self.flash
                .read(self.entry_offset(page, e), &mut b)
                .map_err(QueueError::Flash)?;
            if b.iter().all(|x| *x == 0xFF) {
                continue;
            }
            found.used = e + 1;
            match decode_entry(&b) {
                Some((KIND_WATERMARK, value)) => found.watermark = found.watermark.max(value),
                Some((KIND_BOOT, value)) => found.boot = found.boot.max(value),
                _ => {}
            }
        }
        Ok(found)
    }

    fn scan_ring(&mut self) -> Result<(), QueueError<F::Error>> {
        let mut max_seq = 0u32;
        let mut max_at = None;
        let mut waiting = 0u32;
        for page in 0..self.ring_pages() {
            for slot in 0..self.slots_per_page() {
                if let Some((seq, _)) = self.read_slot(page, slot)? {
                    if seq > self.watermark {
                        waiting += 1;
                    }
                    if seq >= max_seq {
                        max_seq = seq;
                        max_at = Some((page, slot));
                    }
                }
            }
        }
        self.waiting = waiting;
        self.next_seq = max_seq.max(self.watermark).wrapping_add(1).max(1);
        self.write = match max_at {
            Some((page, slot)) => self.after(page, slot),
            None => (0, 0),
        };
        Ok(())
    }

    fn after(&self, page: usize, slot: usize) -> (usize, usize) {
        if slot + 1 < self.slots_per_page() {
            (page, slot + 1)
        } else {
            ((page + 1) % self.ring_pages(), 0)
        }
    }

    /// A valid record slot: its sequence number and record bytes.
    fn read_slot(
        &mut self,
        page: usize,
        slot: usize,
    ) -> Result<Option<Stored>, QueueError<F::Error>> {
        let mut b = [0u8; SLOT];
        self.flash
            .read(self.slot_offset(page, slot), &mut b)
            .map_err(QueueError::Flash)?;
        if b[0] != SLOT_MAGIC || crc32(&b[..SLOT - 4]).to_le_bytes() != b[SLOT - 4..] {
            return Ok(None);
        }
        let seq = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        let mut record = [0u8; RECORD_LEN];
        record.copy_from_slice(&b[8..8 + RECORD_LEN]);
        Ok(Some((seq, record)))
    }

    fn slot_is_erased(&mut self, page: usize, slot: usize) -> Result<bool, QueueError<F::Error>> {
        let mut b = [0u8; SLOT];
        self.flash
            .read(self.slot_offset(page, slot), &mut b)
            .map_err(QueueError::Flash)?;
        Ok(b.iter().all(|x| *x == 0xFF))
    }

    /// Whether the ring page holds a record not yet confirmed.
    fn page_has_waiting(&mut self, page: usize) -> Result<bool, QueueError<F::Error>> {
        for slot in 0..self.slots_per_page() {
            if let Some((seq, _)) = self.read_slot(page, slot)?
                && seq > self.watermark
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether there is room at the write position (erasing is allowed there).
    fn room(&mut self) -> Result<bool, QueueError<F::Error>> {
        let (page, slot) = self.write;
        if slot != 0 {
            return Ok(true);
        }
        Ok(!self.page_has_waiting(page)?)
    }

    /// Stores a record; returns its sequence number once it is on flash.
    /// `make` builds the record bytes for the sequence number given.
    pub fn push(
        &mut self,
        make: impl FnOnce(u32) -> [u8; RECORD_LEN],
    ) -> Result<u32, QueueError<F::Error>> {
        loop {
            let (page, slot) = self.write;
            if slot == 0 {
                if self.page_has_waiting(page)? {
                    return Err(QueueError::Full);
                }
                if !self.page_is_erased(page)? {
                    let from = self.slot_offset(page, 0);
                    self.flash
                        .erase(from, from + self.page_size as u32)
                        .map_err(QueueError::Flash)?;
                }
            }
            // A slot torn by an earlier power cut is skipped, never rewritten.
            if self.slot_is_erased(page, slot)? {
                break;
            }
            self.write = self.after(page, slot);
        }
        let (page, slot) = self.write;
        let seq = self.next_seq;
        let mut b = [0xFFu8; SLOT];
        b[0] = SLOT_MAGIC;
        b[1] = 1;
        b[2] = 0;
        b[3] = 0;
        b[4..8].copy_from_slice(&seq.to_be_bytes());
        b[8..8 + RECORD_LEN].copy_from_slice(&make(seq));
        let crc = crc32(&b[..SLOT - 4]).to_le_bytes();
        b[SLOT - 4..].copy_from_slice(&crc);
        self.flash
            .write(self.slot_offset(page, slot), &b)
            .map_err(QueueError::Flash)?;
        self.next_seq = seq.wrapping_add(1);
        self.write = self.after(page, slot);
        self.waiting += 1;
        Ok(seq)
    }

    fn page_is_erased(&mut self, page: usize) -> Result<bool, QueueError<F::Error>> {
        for slot in 0..self.slots_per_page() {
            if !self.slot_is_erased(page, slot)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The oldest waiting record: its sequence number and bytes.
    pub fn oldest(&mut self) -> Result<Option<Stored>, QueueError<F::Error>> {
        let mut best: Option<(u32, [u8; RECORD_LEN])> = None;
        for page in 0..self.ring_pages() {
            for slot in 0..self.slots_per_page() {
                if let Some((seq, record)) = self.read_slot(page, slot)?
                    && seq > self.watermark
                    && best.as_ref().is_none_or(|(b, _)| seq < *b)
                {
                    best = Some((seq, record));
                }
            }
        }
        Ok(best)
    }

    /// Releases the oldest waiting record; anything else is refused.
    pub fn confirm(&mut self, seq: u32) -> Result<(), QueueError<F::Error>> {
        let Some((oldest, _)) = self.oldest()? else {
            return Err(QueueError::Empty);
        };
        if seq != oldest {
            return Err(QueueError::NotOldest);
        }
        self.append_entry(KIND_WATERMARK, seq)?;
        self.watermark = seq;
        self.waiting = self.waiting.saturating_sub(1);
        Ok(())
    }

    /// The page in use must hold both current values before anything else.
    fn ensure_journal_holds_current(&mut self) -> Result<(), QueueError<F::Error>> {
        let (page, _) = self.journal;
        let (mut has_watermark, mut has_boot) = (self.watermark == 0, self.boot <= 1);
        for e in 0..self.page_size / ENTRY {
            let mut b = [0u8; ENTRY];
            self.flash
                .read(self.entry_offset(page, e), &mut b)
                .map_err(QueueError::Flash)?;
            match decode_entry(&b) {
                Some((KIND_WATERMARK, v)) if v == self.watermark => has_watermark = true,
                Some((KIND_BOOT, v)) if v == self.boot - 1 => has_boot = true,
                _ => {}
            }
        }
        if !has_watermark {
            self.append_entry(KIND_WATERMARK, self.watermark)?;
        }
        if !has_boot {
            self.append_entry(KIND_BOOT, self.boot - 1)?;
        }
        Ok(())
    }

    fn append_entry(&mut self, kind: u8, value: u32) -> Result<(), QueueError<F::Error>> {
        let per_page = self.page_size / ENTRY;
        if self.journal.1 + 3 > per_page {
            self.switch_journal()?;
        }
        let (page, entry) = self.journal;
        self.flash
            .write(self.entry_offset(page, entry), &encode_entry(kind, value))
            .map_err(QueueError::Flash)?;
        self.journal.1 += 1;
        Ok(())
    }

    /// Erases the other journal page and moves both values there.
    fn switch_journal(&mut self) -> Result<(), QueueError<F::Error>> {
        let other = 1 - self.journal.0;
        let from = self.entry_offset(other, 0);
        self.flash
            .erase(from, from + self.page_size as u32)
            .map_err(QueueError::Flash)?;
        self.flash
            .write(from, &encode_entry(KIND_WATERMARK, self.watermark))
            .map_err(QueueError::Flash)?;
        self.flash
            .write(from + ENTRY as u32, &encode_entry(KIND_BOOT, self.boot))
            .map_err(QueueError::Flash)?;
        self.journal = (other, 2);
        Ok(())
    }
}

/// What one journal page holds: its largest values and the entries used.
#[derive(Debug, Clone, Copy, Default)]
struct JournalPage {
    watermark: u32,
    boot: u32,
    used: usize,
}

/// The journal page in use is the one holding the current values, never
/// merely the fuller one. Appends go only to the page in use and a switch
/// copies both values before any later append, so the page in use is the
/// only one holding the newest boot counter (every boot appends one); it
/// is also the one to keep, because the next switch erases the other.
/// While a switch is cut short the old page still holds both values and
/// stays in use. With no valid entries anywhere, page 0.
fn active_journal_page(pages: &[JournalPage; JOURNAL_PAGES], watermark: u32, boot: u32) -> usize {
    let current = |p: &JournalPage| p.watermark == watermark && p.boot == boot;
    match (current(&pages[0]), current(&pages[1])) {
        (true, false) => 0,
        (false, true) => 1,
        // Both current (a switch just finished): the new page, the emptier one.
        (true, true) => usize::from(pages[1].used < pages[0].used),
        // Neither holds both (cannot happen after a whole switch): the newer boot.
        (false, false) => usize::from(pages[1].boot > pages[0].boot),
    }
}

fn encode_entry(kind: u8, value: u32) -> [u8; ENTRY] {
    let mut b = [0xFFu8; ENTRY];
    b[0] = ENTRY_MAGIC;
    b[1] = kind;
    b[2] = 0;
    b[3] = 0;
    b[4..8].copy_from_slice(&value.to_be_bytes());
    b[8..12].fill(0);
    let crc = crc32(&b[..12]).to_le_bytes();
    b[12..].copy_from_slice(&crc);
    b
}

fn decode_entry(b: &[u8; ENTRY]) -> Option<(u8, u32)> {
    if b[0] != ENTRY_MAGIC || crc32(&b[..12]).to_le_bytes() != b[12..] {
        return None;
    }
    Some((b[1], u32::from_be_bytes([b[4], b[5], b[6], b[7]])))
}
