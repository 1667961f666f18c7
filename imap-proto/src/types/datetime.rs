//! `date` (SEARCH) and `date-time` (INTERNALDATE, APPEND) values.

use super::{InvalidValue, invalid};

pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar date such as `1-Feb-1994`, as SEARCH uses (no time, no zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// Validates a date; years 1..=9999.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, InvalidValue> {
        if (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
        {
            Ok(Date { year, month, day })
        } else {
            Err(invalid("date"))
        }
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(&self) -> i64 {
        // Howard Hinnant's days-from-civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date of a day counted from 1970-01-01; `None` outside years 1..=9999.
    pub fn from_days_since_epoch(days: i64) -> Option<Self> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(u16::try_from(year).ok()?, month as u8, day as u8).ok()
    }

    pub(crate) fn month_name(&self) -> &'static str {
        MONTHS[usize::from(self.month - 1)]
    }
}

/// A date and time with its zone, such as `17-Jul-1996 02:44:25 -0700`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    /// Minutes east of UTC.
    offset: i16,
}

impl DateTime {
    /// Validates a date-time; the zone offset is in minutes east of UTC (within ±99:59).
    pub fn new(
        date: Date,
        hour: u8,
        minute: u8,
        second: u8,
        offset: i16,
    ) -> Result<Self, InvalidValue> {
        // Seconds up to 60 allow a leap second.
        if hour < 24 && minute < 60 && second <= 60 && offset.unsigned_abs() <= 99 * 60 + 59 {
            Ok(DateTime {
                date,
                hour,
                minute,
                second,
                offset,
            })
        } else {
            Err(invalid("date-time"))
        }
    }

    /// The time of a Unix timestamp, in the given zone (minutes east of UTC).
    pub fn from_unix(seconds: i64, offset: i16) -> Option<Self> {
        let local = seconds + i64::from(offset) * 60;
        let date = Date::from_days_since_epoch(local.div_euclid(86_400))?;
        let secs = local.rem_euclid(86_400);
        DateTime::new(
            date,
            (secs / 3600) as u8,
            (secs / 60 % 60) as u8,
            (secs % 60) as u8,
            offset,
        )
        .ok()
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.date.days_since_epoch() * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.offset) * 60
    }

    /// The date in the value's own zone.
    pub fn date(&self) -> Date {
        self.date
    }

    /// Hour, minute and second in the value's own zone.
    pub fn time(&self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }

    /// The zone: minutes east of UTC.
    pub fn offset(&self) -> i16 {
        self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_round_trip() {
        for days in [-719_162, -1, 0, 1, 11_016, 20_000, 2_932_896] {
            let d = Date::from_days_since_epoch(days).unwrap();
            assert_eq!(d.days_since_epoch(), days);
        }
        assert_eq!(Date::new(2000, 2, 29).unwrap().days_since_epoch(), 11_016);
        assert!(Date::new(1900, 2, 29).is_err());
        let dt = DateTime::from_unix(837_596_665, -420).unwrap();
        assert_eq!(
            (dt.date(), dt.time()),
            (Date::new(1996, 7, 17).unwrap(), (2, 44, 25))
        );
        assert_eq!(dt.unix(), 837_596_665);
    }
}
