//! Numbers for people: durations as `250ms`, `1.5s`, `4m57s`.

use std::fmt;
use std::time::Duration;

/// Shows a duration the way the tool's messages spell it.
///
/// ```
/// use std::time::Duration;
/// use ews_photo::HumanDuration;
/// assert_eq!(HumanDuration(Duration::from_millis(250)).to_string(), "250ms");
/// assert_eq!(HumanDuration(Duration::from_millis(1500)).to_string(), "1.5s");
/// assert_eq!(HumanDuration(Duration::from_millis(297_749)).to_string(), "4m57s");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis < 1000 {
            write!(f, "{millis}ms")
        } else if millis < 60_000 {
            let tenths = (millis + 50) / 100;
            if tenths.is_multiple_of(10) {
                write!(f, "{}s", tenths / 10)
            } else {
                write!(f, "{}.{}s", tenths / 10, tenths % 10)
            }
        } else {
            let secs = self.0.as_secs();
            write!(f, "{}m{:02}s", secs / 60, secs % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        let show = |d| HumanDuration(d).to_string();
        assert_eq!(show(Duration::from_millis(250)), "250ms");
        assert_eq!(show(Duration::from_millis(1500)), "1.5s");
        assert_eq!(show(Duration::from_secs(2)), "2s");
        assert_eq!(show(Duration::from_millis(59_990)), "60s");
        assert_eq!(show(Duration::from_millis(297_749)), "4m57s");
    }
}
