//! Holding back a connection's reads while its request waits for room.
//!
//! actix-http reads a connection ahead of its handler: while a handler waits
//! (for its share of the body budget, say) the dispatcher goes on filling
//! its read buffer, up to 128 KiB, plus 32 KiB of body chunks queued for the
//! handler, per connection. A few hundred stalled uploads waiting for room
//! thus hold tens of megabytes that the budget never counted.
//!
//! A [`Gate`] sits on each connection's read side. The listener closes it as
//! it hands a request with a large declared body to the App (see
//! [`LARGE_BODY`]), before the dispatcher can read further; the body reader
//! opens it once the body has its budget (`crate::body`), and it opens in any
//! case when the App has answered, so the dispatcher can drain, read the next
//! request or see the client go. While it is closed the body's bytes stay in
//! the kernel's socket buffer, where TCP flow control stops the sender.

use futures_util::task::AtomicWaker;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Requests whose declared body is over this many bytes have their
/// connection's reads held back until the body reader asks for the body
/// (`crate::body::SMALL_BODY`: smaller bodies fit in the budget's reserve and
/// mostly arrive with their head).
pub const LARGE_BODY: u64 = crate::body::SMALL_BODY as u64;

#[derive(Default)]
struct State {
    closed: AtomicBool,
    waker: AtomicWaker,
}

/// One connection's read gate; clones share it. Kept in the connection's
/// data, so a handler finds it with `HttpRequest::conn_data::<Gate>()`.
#[derive(Clone, Default)]
pub struct Gate(Arc<State>);

impl Gate {
    /// Holds back reads from now on.
    pub fn close(&self) {
        self.0.closed.store(true, Ordering::Release);
    }

    /// Lets reads go on, waking the reader if it is waiting.
    pub fn open(&self) {
        if self.0.closed.swap(false, Ordering::AcqRel) {
            self.0.waker.wake();
        }
    }

    /// Whether reads are held back now.
    pub fn is_closed(&self) -> bool {
        self.0.closed.load(Ordering::Acquire)
    }

    /// Ready when reads may go on; otherwise the task is woken on [`open`].
    ///
    /// [`open`]: Gate::open
    pub fn poll_open(&self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.is_closed() {
            return Poll::Ready(());
        }
        self.0.waker.register(cx.waker());
        // Opened between the check and the registration: go on.
        if self.is_closed() {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

/// Opens its gate when dropped: held for the time the App handles a request,
/// so that the gate opens when the answer is ready or the request is dropped.
pub struct OpenOnDrop(pub Option<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        if let Some(g) = &self.0 {
            g.open();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Gate;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A closed gate keeps its reader waiting and wakes it exactly when it
    /// opens; an open gate never makes it wait.
    #[test]
    fn a_closed_gate_waits_and_wakes_its_reader_when_opened() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let gate = Gate::default();
        assert_eq!(gate.poll_open(&mut cx), Poll::Ready(()));
        gate.close();
        assert_eq!(gate.poll_open(&mut cx), Poll::Pending);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        gate.clone().open();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(gate.poll_open(&mut cx), Poll::Ready(()));
        // Opening an open gate wakes no one.
        gate.open();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }
}
