//! Stopping a run early, on SIGINT or SIGTERM.
//!
//! One [`Trigger`] and any number of [`Interrupt`]s share one flag, a `tokio::sync::watch`
//! channel holding the signal that stopped the run, if any. The trigger sets it once; every
//! interrupt sees it, whether it was already waiting or looks later, so a signal that lands
//! before the run starts listening is not lost. The run listens in its collecting loop: when the
//! interrupt fires it stops waiting and reports the problems that finished
//! ([`run`](super::run)).
//!
//! [`on_signals`] wires a trigger to the process's SIGINT and SIGTERM. The first signal fires
//! it; a second one ends the process at once, with the code a shell gives a process killed by
//! that signal (128 + its number: 130 for SIGINT, 143 for SIGTERM).

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// The signal that stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (`kill`, a scheduler's stop).
    Terminate,
}

impl Signal {
    /// The exit code of a process stopped by this signal: 128 + the signal's number, as shells
    /// report it.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    /// Its usual name.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// The side that stops the run: held by the signal listener (or a test).
#[derive(Debug)]
pub struct Trigger {
    tx: watch::Sender<Option<Signal>>,
}

impl Trigger {
    /// Fires every interrupt made from this trigger. Only the first call counts: the signal it
    /// names is the one the run reports. Returns whether this call was the first.
    pub fn fire(&self, signal: Signal) -> bool {
        // `send_if_modified` sets the value even when no interrupt is listening yet.
        self.tx.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(signal);
            }
            first
        })
    }
}

/// The side that listens: cheap to clone, one for each place that stops early.
#[derive(Debug, Clone)]
pub struct Interrupt {
    rx: watch::Receiver<Option<Signal>>,
}

impl Interrupt {
    /// An interrupt that never fires (its trigger is gone): what a run without one listens to.
    pub fn never() -> Self {
        channel().1
    }

    /// The signal, if the trigger has fired.
    pub fn signal(&self) -> Option<Signal> {
        *self.rx.borrow()
    }

    /// Waits until the trigger fires and returns its signal; at once if it already has. Never
    /// returns if the trigger is dropped without firing.
    pub async fn fired(&mut self) -> Signal {
        // `wait_for` looks at the current value first, so a signal that came earlier counts.
        if let Ok(current) = self.rx.wait_for(Option::is_some).await {
            if let Some(signal) = *current {
                return signal;
            }
        }
        // The trigger is gone without firing: nothing can fire this interrupt any more.
        std::future::pending().await
    }
}

/// A trigger and an interrupt that listens to it.
pub fn channel() -> (Trigger, Interrupt) {
    let (tx, rx) = watch::channel(None);
    (Trigger { tx }, Interrupt { rx })
}

/// Listens for SIGINT and SIGTERM on a thread of its own, for the rest of the process's life.
/// The handlers are installed before this returns, so no signal slips past between the two.
/// The first signal fires the returned interrupt; a second one ends the process at once with
/// its exit code ([`Signal::exit_code`]).
pub fn on_signals() -> std::io::Result<Interrupt> {
    // The listener's own runtime, so that it answers while the run's runtime is busy or gone.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    let (mut int, mut term) = {
        let _entered = runtime.enter();
        (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?)
    };
    let (trigger, interrupt) = channel();
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        runtime.block_on(async move {
            loop {
                let signal = tokio::select! {
                    Some(()) = int.recv() => Signal::Interrupt,
                    Some(()) = term.recv() => Signal::Terminate,
                    else => return,
                };
                if !trigger.fire(signal) {
                    eprintln!("{}: a second signal; exiting now", signal.name());
                    std::process::exit(i32::from(signal.exit_code()));
                }
                eprintln!("{}: stopping: writing the problems that finished (a second signal exits at once)", signal.name());
            }
        });
    })?;
    Ok(interrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
    }

    #[test]
    fn a_signal_before_the_wait_is_seen_and_only_the_first_counts() {
        let (trigger, mut interrupt) = channel();
        let late = interrupt.clone();
        assert_eq!(interrupt.signal(), None);
        assert!(trigger.fire(Signal::Terminate));
        assert!(!trigger.fire(Signal::Interrupt), "a second fire changes nothing");
        assert_eq!(block_on(interrupt.fired()), Signal::Terminate);
        assert_eq!(late.signal(), Some(Signal::Terminate), "every clone sees it");
        // Fired once, it stays fired, even with the trigger gone.
        drop(trigger);
        assert_eq!(block_on(interrupt.fired()), Signal::Terminate);
    }

    #[test]
    fn a_waiting_interrupt_wakes_when_fired_from_another_thread() {
        let (trigger, mut interrupt) = channel();
        let fire = std::thread::spawn(move || trigger.fire(Signal::Interrupt));
        assert_eq!(block_on(interrupt.fired()), Signal::Interrupt);
        assert!(fire.join().unwrap());
    }

    #[test]
    fn an_interrupt_whose_trigger_is_gone_never_fires() {
        let mut never = Interrupt::never();
        let waited = block_on(async { tokio::time::timeout(std::time::Duration::from_millis(20), never.fired()).await });
        assert!(waited.is_err(), "it fired: {waited:?}");
        assert_eq!(never.signal(), None);
    }

    #[test]
    fn exit_codes_are_128_plus_the_signal_number() {
        assert_eq!((Signal::Interrupt.exit_code(), Signal::Terminate.exit_code()), (128 + 2, 128 + 15));
    }
}
