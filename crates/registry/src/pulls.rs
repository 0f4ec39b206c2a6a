//! Pull counts per repository, tag and day, kept off the hot path: a pull (a `GET` of a
//! manifest by tag) bumps a counter in memory; [`PullCounter::flush`] writes the batch to the
//! metadata database in one transaction (`edgecert serve` flushes every few seconds and at
//! shutdown). Counts survive restarts once flushed; a `kill -9` loses at most the last
//! interval's, never a pull's response time.
//!
//! Pulls by digest are not counted: every `docker pull` of a tag also fetches the platform
//! manifest by digest, and counting both would double every pull.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::meta::{Meta, MetaError, PullKey};

#[derive(Debug, Default)]
pub struct PullCounter {
    pending: Mutex<HashMap<PullKey, u64>>,
}

/// Today's UTC date as `YYYY-MM-DD` (civil-from-days, Howard Hinnant's algorithm).
pub fn utc_day(t: SystemTime) -> String {
    let days = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

impl PullCounter {
    /// Counts one pull of `repository:tag`.
    pub fn record(&self, repository: &str, tag: &str) {
        let key = PullKey {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            day: utc_day(SystemTime::now()),
        };
        if let Ok(mut p) = self.pending.lock() {
            *p.entry(key).or_insert(0) += 1;
        }
    }

    /// Writes what was counted since the last flush; on a database error the batch is kept
    /// for the next flush.
    pub async fn flush(&self, meta: &Meta) -> Result<usize, MetaError> {
        let batch: Vec<(PullKey, u64)> = match self.pending.lock() {
            Ok(mut p) => p.drain().collect(),
            Err(_) => return Ok(0),
        };
        if batch.is_empty() {
            return Ok(0);
        }
        if let Err(e) = meta.add_pulls(&batch).await {
            if let Ok(mut p) = self.pending.lock() {
                for (k, n) in batch {
                    *p.entry(k).or_insert(0) += n;
                }
            }
            return Err(e);
        }
        Ok(batch.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn days() {
        assert_eq!(utc_day(UNIX_EPOCH), "1970-01-01");
        assert_eq!(
            utc_day(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29"
        );
        assert_eq!(
            utc_day(UNIX_EPOCH + Duration::from_secs(1_796_601_599)),
            "2026-12-06"
        );
    }
}
