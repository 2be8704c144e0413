//! Ctrl-C as a stream of events, so a workflow can react to the first and the second one
//! differently and a test can send them without signals.

use tokio::sync::mpsc;

/// Interrupt requests arriving at a workflow.
#[derive(Debug)]
pub struct Interrupts {
    receiver: mpsc::UnboundedReceiver<()>,
    /// The task forwarding Ctrl-C, stopped when this is dropped.
    forwarder: Option<tokio::task::JoinHandle<()>>,
}

/// Sends interrupts to an [`Interrupts`] made by [`Interrupts::manual`].
#[derive(Debug, Clone)]
pub struct InterruptHandle(mpsc::UnboundedSender<()>);

impl InterruptHandle {
    /// Interrupts, as one Ctrl-C would.
    pub fn interrupt(&self) {
        // The workflow may be gone already; then there is nothing to interrupt.
        let _ = self.0.send(());
    }
}

impl Interrupts {
    /// Every Ctrl-C (SIGINT) the process receives from now on. Must be called inside a Tokio
    /// runtime; installing the handler means Ctrl-C no longer kills the process by itself.
    pub fn ctrl_c() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let forwarder = tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                if sender.send(()).is_err() {
                    break;
                }
            }
        });
        Interrupts {
            receiver,
            forwarder: Some(forwarder),
        }
    }

    /// Interrupts sent through the returned handle (tests).
    pub fn manual() -> (InterruptHandle, Self) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (
            InterruptHandle(sender),
            Interrupts {
                receiver,
                forwarder: None,
            },
        )
    }

    /// Waits for the next interrupt; never returns when none can come any more.
    pub async fn next(&mut self) {
        if self.receiver.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        if let Some(forwarder) = &self.forwarder {
            forwarder.abort();
        }
    }
}
