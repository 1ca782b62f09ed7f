//! Progress on a terminal, and silence when the output is a file or a pipe.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress display for `what` (e.g. "returns"): a bar with rate and ETA when `total` is
/// known, a counter otherwise. Drawn on stderr only when stderr is a terminal.
pub fn progress(total: Option<u64>, what: &str) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template(&format!(
                "{{bar:30}} {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)"
            ))
            .expect("a valid template"),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template(&format!("{{spinner}} {{pos}} {what} ({{per_sec}})"))
                .expect("a valid template"),
        ),
    };
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(200));
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_hidden_when_not_a_terminal_and_still_counts() {
        // Tests run with stderr captured: nothing is drawn, the count still moves.
        let bar = progress(Some(10), "returns");
        bar.inc(3);
        assert_eq!(bar.position(), 3);
        assert_eq!(bar.length(), Some(10));
        if !std::io::stderr().is_terminal() {
            assert!(bar.is_hidden());
        }
        let spinner = progress(None, "invoices");
        spinner.inc(5);
        assert_eq!(spinner.position(), 5);
    }
}
