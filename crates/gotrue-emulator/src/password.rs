//! Password hashing with bcrypt, as the real server does, with the cost as an option: a low
//! cost keeps tests fast, the real cost (10) makes the emulator as CPU-bound as a real server.
//! Hashing runs on the blocking pool, at most `max_concurrent` at once, so that a benchmark
//! can play a server with fewer cores than the machine it runs on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::error::ApiError;

/// bcrypt's own bounds on the cost (log2 of the rounds).
pub const MIN_COST: u32 = 4;
pub const MAX_COST: u32 = 31;

/// Hashes and checks passwords.
#[derive(Debug, Clone)]
pub struct Hasher {
    cost: u32,
    /// `None`: as many at once as requests ask for.
    permits: Option<Arc<Semaphore>>,
    /// Hashes computed for requests, so that tests can see where the cost model charges.
    hashed: Arc<AtomicU64>,
}

impl Hasher {
    /// `cost` must lie in `MIN_COST..=MAX_COST` (checked when the emulator starts);
    /// `max_concurrent == 0` means no limit.
    pub fn new(cost: u32, max_concurrent: usize) -> Self {
        Hasher {
            cost,
            permits: (max_concurrent > 0).then(|| Arc::new(Semaphore::new(max_concurrent))),
            hashed: Arc::default(),
        }
    }

    /// A bcrypt hash of `password`, computed right here (seeding, outside any request).
    pub fn hash_now(&self, password: &str) -> Result<String, bcrypt::BcryptError> {
        bcrypt::hash(password, self.cost)
    }

    /// A bcrypt hash of `password`, off the async workers and within the concurrency limit.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.hashed.fetch_add(1, Ordering::Relaxed);
        let cost = self.cost;
        self.run(move || bcrypt::hash(password, cost))
            .await
            .and_then(|hashed| {
                hashed.map_err(|e| ApiError::internal(format!("Error hashing password: {e}")))
            })
    }

    /// How many hashes requests have asked for.
    pub fn hashes(&self) -> u64 {
        self.hashed.load(Ordering::Relaxed)
    }

    /// Whether `password` matches `hash`; a hash that is not bcrypt never matches.
    pub async fn verify(&self, password: String, hash: String) -> bool {
        self.run(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .unwrap_or(false)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = match &self.permits {
            Some(permits) => Some(
                permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| ApiError::internal(format!("Error hashing password: {e}")))?,
            ),
            None => None,
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| ApiError::internal(format!("Error hashing password: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_salted_bcrypt_and_verify() {
        let hasher = Hasher::new(MIN_COST, 1);
        let a = hasher.hash("secret".into()).await.expect("hash");
        let b = hasher.hash("secret".into()).await.expect("hash");
        assert_ne!(a, b);
        assert!(a.starts_with("$2b$04$"), "{a}");
        assert!(!a.contains("secret"));
        assert!(hasher.verify("secret".into(), a.clone()).await);
        assert!(!hasher.verify("Secret".into(), a).await);
        assert!(!hasher.verify("secret".into(), "sha256$x$y".into()).await);
    }

    /// Runs two tasks through `hasher` at once and returns how many ran at the same time.
    async fn peak_concurrency(hasher: &Hasher) -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let task = || {
            let (running, peak) = (running.clone(), peak.clone());
            hasher.run(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(100));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        };
        let (a, b) = tokio::join!(task(), task());
        a.and(b).expect("both ran");
        peak.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn the_limit_bounds_hashes_in_flight() {
        assert_eq!(peak_concurrency(&Hasher::new(MIN_COST, 1)).await, 1);
        assert_eq!(peak_concurrency(&Hasher::new(MIN_COST, 0)).await, 2);
    }
}
