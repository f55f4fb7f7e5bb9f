//! Photos with a request or a repair: what the requester sent, the broken
//! part, the finished work. Kept in `operations.db` with the ticket they
//! belong to (so a backup of the database holds them), each at most
//! [`MAX_PHOTO_BYTES`] and at most [`MAX_PHOTOS`] per ticket, and only
//! JPEG, PNG or WebP whose first bytes say so.

use super::*;

/// Largest photo kept: a phone photo at reduced size, not a RAW file.
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;
/// Most photos kept per ticket.
pub const MAX_PHOTOS: i64 = 6;

/// A stored photo, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoInfo {
    /// Id, increasing.
    pub id: i64,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: String,
    /// Size.
    pub bytes: usize,
    /// When it was added.
    pub at: Timestamp,
}

/// The image type whose signature `bytes` start with, if it is one we keep.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some("image/png"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some("image/webp"),
        _ => None,
    }
}

impl TicketStore {
    /// Keeps `bytes` as a photo of ticket `id`, noted in its history as
    /// added by `actor`.
    pub fn add_photo(
        &self,
        id: i64,
        bytes: &[u8],
        actor: &str,
        now: Timestamp,
    ) -> Result<PhotoInfo, TicketError> {
        if bytes.len() > MAX_PHOTO_BYTES {
            return Err(TicketError::Invalid(format!(
                "the photo is {} bytes; at most {MAX_PHOTO_BYTES} are kept (send it at a smaller size)",
                bytes.len()
            )));
        }
        let Some(content_type) = image_type(bytes) else {
            return Err(TicketError::Invalid(
                "only JPEG, PNG or WebP photos are kept".into(),
            ));
        };
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if load(&tx, id)?.is_none() {
            return Err(TicketError::NotFound(id));
        }
        let count: i64 = tx
            .prepare_cached("SELECT count(*) FROM ticket_photo WHERE ticket = ?1")?
            .query_row([id], |r| r.get(0))?;
        if count >= MAX_PHOTOS {
            return Err(TicketError::Invalid(format!(
                "ticket {id} has {MAX_PHOTOS} photos already"
            )));
        }
        tx.prepare_cached(
            "INSERT INTO ticket_photo (ticket, content_type, bytes, at_us) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, content_type, bytes, micros(now)])?;
        let photo = tx.last_insert_rowid();
        history(&tx, id, now, actor, "photo", None, None, None)?;
        tx.commit()?;
        Ok(PhotoInfo {
            id: photo,
            content_type: content_type.to_owned(),
            bytes: bytes.len(),
            at: now,
        })
    }

    /// The photos of `tickets` (those that have any), for a board.
    pub fn photos_of(
        &self,
        tickets: &[i64],
    ) -> rusqlite::Result<std::collections::HashMap<i64, Vec<PhotoInfo>>> {
        let conn = lock(&self.reader);
        let mut out = std::collections::HashMap::new();
        for &id in tickets {
            let list = photos(&conn, id)?;
            if !list.is_empty() {
                out.insert(id, list);
            }
        }
        Ok(out)
    }

    /// Photo `photo` of ticket `id`: its type and bytes.
    pub fn photo(&self, id: i64, photo: i64) -> rusqlite::Result<Option<(String, Vec<u8>)>> {
        lock(&self.reader)
            .prepare_cached(
                "SELECT content_type, bytes FROM ticket_photo WHERE ticket = ?1 AND id = ?2",
            )?
            .query_row(params![id, photo], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
    }
}

/// The photos of ticket `id`, oldest first, without their bytes.
pub(super) fn photos(conn: &Connection, id: i64) -> rusqlite::Result<Vec<PhotoInfo>> {
    conn.prepare_cached(
        "SELECT id, content_type, length(bytes), at_us FROM ticket_photo WHERE ticket = ?1 ORDER BY id",
    )?
    .query_map([id], |r| {
        Ok(PhotoInfo {
            id: r.get(0)?,
            content_type: r.get(1)?,
            bytes: r.get::<_, i64>(2)? as usize,
            at: from_micros(r.get(3)?),
        })
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::image_type;

    #[test]
    fn only_images_that_say_so_in_their_first_bytes_are_taken() {
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0]), Some("image/jpeg"));
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"<svg onload=alert(1)>"), None);
        assert_eq!(image_type(b"GIF89a"), None);
        assert_eq!(image_type(&[]), None);
    }
}
