//! Spark's `Time` and `Duration`: epoch milliseconds, integer only, so every platform agrees.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in time (epoch ms), like `org.apache.spark.streaming.Time`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Time(pub i64);

/// A length of time in ms, like `org.apache.spark.streaming.Duration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Duration(pub i64);

impl Time {
    pub fn ms(self) -> i64 {
        self.0
    }
    pub fn plus(self, d: Duration) -> Time {
        Time(self.0 + d.0)
    }
    pub fn minus(self, d: Duration) -> Time {
        Time(self.0 - d.0)
    }
    /// `(self - zero).isMultipleOf(d)`.
    pub fn is_multiple_of(self, zero: Time, d: Duration) -> bool {
        d.0 > 0 && (self.0 - zero.0).rem_euclid(d.0) == 0
    }
    /// The next grid point strictly after `self`: `(floor(now / d) + 1) * d`, Spark's `RecurringTimer.getStartTime`.
    pub fn next_grid_point(self, d: Duration) -> Time {
        Time((self.0.div_euclid(d.0) + 1) * d.0)
    }
    /// `RecurringTimer.getRestartTime(zeroTime)`: the next point of the grid through `zero` strictly after `self`.
    pub fn next_grid_point_from(self, zero: Time, d: Duration) -> Time {
        Time(zero.0 + ((self.0 - zero.0).div_euclid(d.0) + 1) * d.0)
    }
}

impl Duration {
    pub fn ms(self) -> i64 {
        self.0
    }
    pub fn seconds(s: i64) -> Duration {
        Duration(s * 1000)
    }
}

impl fmt::Display for Time {
    /// Spark prints times as `1767268805000 ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

/// Renders epoch ms as `HH:MM:SS` (UTC) for tables; the day is left out on purpose.
pub fn clock(t: Time) -> String {
    let s = t.0.div_euclid(1000).rem_euclid(86_400);
    let ms = t.0.rem_euclid(1000);
    if ms == 0 {
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}:{:02}.{:03}", s / 3600, s / 60 % 60, s % 60, ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_points() {
        let d = Duration::seconds(5);
        assert_eq!(Time(12_000).next_grid_point(d), Time(15_000));
        assert_eq!(Time(15_000).next_grid_point(d), Time(20_000));
        assert_eq!(Time(63_000).next_grid_point_from(Time(0), d), Time(65_000));
        assert_eq!(Time(63_000).next_grid_point_from(Time(1_000), d), Time(66_000));
        assert!(Time(20_000).is_multiple_of(Time(0), Duration::seconds(10)));
        assert!(!Time(25_000).is_multiple_of(Time(0), Duration::seconds(10)));
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(Time(43_205_000)), "12:00:05");
        assert_eq!(clock(Time(43_205_250)), "12:00:05.250");
    }
}
