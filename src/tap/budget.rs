//! The memory requests in flight may take: each reserves what decoding and
//! journaling its body will cost before the body is read, and waits (or is
//! answered 503) while the budget is spent. Together with the session's cap
//! and the judge stage's bounded batches this keeps the tap under `--memory`
//! whatever clients send.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What one body byte costs while its request is handled: the body, its
/// decompressed copy, the events sliced out of it, the record and its
/// journal line (measured with `{}` floods and 15 MB events; see README).
pub const COST_PER_BODY_BYTE: usize = 7;

/// What each event costs a request on top of its bytes (the event's
/// handle and its slice of the body): what makes 500,000 tiny events dearer
/// than one large one.
pub const COST_PER_EVENT: usize = 160;

/// The most the judge stage holds at once: the largest record (its line and
/// its events), with every event's findings, one record at a time.
pub fn judge_cost(max_body: usize) -> usize {
    const PER_BODY_BYTE: usize = 3;
    const PER_EVENT: usize = 360;
    let most_events = crate::event::Endpoint::most_events();
    PER_BODY_BYTE * max_body + PER_EVENT * most_events
}

/// The most a request with a body of `bytes` holds while it is handled,
/// reserved before the body is read: as many events as the bytes could
/// carry (`{},` is 3 bytes), up to the most any request may hold. Shrunk to
/// the real cost once decoded, so nothing ever waits holding a part.
pub fn request_cost(bytes: usize) -> usize {
    let events = (bytes / 3).min(crate::event::Endpoint::most_events());
    COST_PER_BODY_BYTE * bytes + COST_PER_EVENT * events
}

/// Permits are KiB: a budget of terabytes still fits.
const UNIT: usize = 1024;

#[derive(Clone)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    total: usize,
}

/// A reservation, given back when dropped.
pub struct Held {
    permit: Option<OwnedSemaphorePermit>,
}

#[derive(Debug, thiserror::Error)]
#[error("amptap is at its memory budget for requests in flight (--memory); retry")]
pub struct OverBudget;

impl Held {
    /// Bytes it reserves.
    pub fn bytes(&self) -> usize {
        self.permit.as_ref().map_or(0, |p| p.num_permits() * UNIT)
    }
}

impl MemoryBudget {
    pub fn new(bytes: usize) -> Self {
        let total = (bytes / UNIT).max(1);
        MemoryBudget {
            permits: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// Bytes it holds in all.
    pub fn bytes(&self) -> usize {
        self.total * UNIT
    }

    /// Bytes reserved now.
    pub fn in_use(&self) -> usize {
        (self.total - self.permits.available_permits()) * UNIT
    }

    /// Reserves `bytes` (at most the whole budget), waiting up to `wait`.
    pub async fn reserve(&self, bytes: usize, wait: Duration) -> Result<Held, OverBudget> {
        let units = bytes.div_ceil(UNIT).clamp(1, self.total);
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        let acquire = self.permits.clone().acquire_many_owned(units);
        match tokio::time::timeout(wait, acquire).await {
            Ok(Ok(permit)) => Ok(Held {
                permit: Some(permit),
            }),
            _ => Err(OverBudget),
        }
    }

    /// Makes `held` a reservation of `bytes`: gives back the difference, or
    /// waits up to `wait` for the rest (keeping what it holds either way).
    pub async fn resize(
        &self,
        held: &mut Held,
        bytes: usize,
        wait: Duration,
    ) -> Result<(), OverBudget> {
        let want = bytes.div_ceil(UNIT).clamp(1, self.total);
        let have = held.permit.as_ref().map_or(0, |p| p.num_permits());
        if want < have {
            if let Some(permit) = held.permit.as_mut() {
                drop(permit.split(have - want));
            }
        } else if want > have {
            let more = self.reserve((want - have) * UNIT, wait).await?;
            match (&mut held.permit, more.permit) {
                (Some(permit), Some(more)) => permit.merge(more),
                (slot, more) => *slot = more,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_wait_shrink_and_come_back() {
        let budget = MemoryBudget::new(100 * UNIT);
        let mut a = budget
            .reserve(60 * UNIT, Duration::ZERO)
            .await
            .expect("fits");
        assert!(budget
            .reserve(50 * UNIT, Duration::from_millis(10))
            .await
            .is_err());
        budget
            .resize(&mut a, 10 * UNIT, Duration::ZERO)
            .await
            .expect("shrinks");
        assert_eq!(budget.in_use(), 10 * UNIT);
        let mut b = budget
            .reserve(50 * UNIT, Duration::ZERO)
            .await
            .expect("fits now");
        assert!(
            budget
                .resize(&mut b, 95 * UNIT, Duration::ZERO)
                .await
                .is_err(),
            "no room to grow"
        );
        assert_eq!(
            budget.in_use(),
            60 * UNIT,
            "a failed growth keeps what it had"
        );
        budget
            .resize(&mut b, 90 * UNIT, Duration::ZERO)
            .await
            .expect("grows");
        assert_eq!(budget.in_use(), 100 * UNIT);
        drop((a, b));
        assert_eq!(budget.in_use(), 0);
        let whole = budget.reserve(10_000 * UNIT, Duration::ZERO).await;
        assert!(whole.is_ok(), "more than the budget waits for all of it");
    }
}
