//! Dates (RFC 5322 §3.3 with the obsolete zones and years of §4.3, and
//! the malformed forms mail software writes: asctime order, no weekday or
//! seconds, two-digit years, named zones, dots in the time).

/// A date and time with the offset it was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    /// Year, four digits.
    pub year: i32,
    /// 1-12.
    pub month: u8,
    /// 1-31.
    pub day: u8,
    /// 0-23.
    pub hour: u8,
    /// 0-59.
    pub minute: u8,
    /// 0-60 (a leap second is kept).
    pub second: u8,
    /// The zone's offset from UTC in minutes (east positive).
    pub offset_minutes: i32,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

impl DateTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix_time(&self) -> i64 {
        let days = days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.offset_minutes) * 60
    }

    /// The date of `unix_time` seen in the zone `offset_minutes` east of UTC.
    pub fn from_unix_time(unix_time: i64, offset_minutes: i32) -> Self {
        let local = unix_time + i64::from(offset_minutes) * 60;
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400);
        DateTime {
            year: year as i32,
            month: month as u8,
            day: day as u8,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
            offset_minutes,
        }
    }

    /// Writes the date as RFC 5322 §3.3 does: `Tue, 1 Jul 2003 10:52:37 +0200`.
    pub fn to_rfc5322(&self) -> String {
        let days = days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        let weekday = DAYS[days.rem_euclid(7) as usize];
        let month = MONTHS[usize::from(self.month.clamp(1, 12)) - 1];
        let month = format!("{}{}", month[..1].to_ascii_uppercase(), &month[1..]);
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let offset = self.offset_minutes.abs();
        format!(
            "{weekday}, {} {month} {:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            self.day,
            self.year,
            self.hour,
            self.minute,
            self.second,
            offset / 60,
            offset % 60
        )
    }
}

/// Offsets of the zone names RFC 5322 §4.3 lists (military letters read as
/// +0000, as it advises, since their sign was often written backwards).
fn named_zone(name: &str) -> Option<i32> {
    Some(match name {
        "ut" | "utc" | "gmt" | "z" => 0,
        "edt" => -4 * 60,
        "est" | "cdt" => -5 * 60,
        "cst" | "mdt" => -6 * 60,
        "mst" | "pdt" => -7 * 60,
        "pst" => -8 * 60,
        "cet" | "met" | "bst" => 60,
        "cest" | "mest" | "eet" => 120,
        "eest" | "msk" => 180,
        "jst" | "kst" => 540,
        _ if name.len() == 1 && name.as_bytes()[0].is_ascii_alphabetic() => 0,
        _ => return None,
    })
}

/// Reads a date; `None` when no day, month, year and time can be found or they are out of range.
pub fn parse_date(value: &[u8]) -> Option<DateTime> {
    match canonical(value) {
        Some(fields) => checked(fields),
        None => lenient(value),
    }
}

/// Day, month, year, time and zone as read, before the range checks.
type Fields = (u8, u8, i32, (u8, u8, u8), i32);

/// The form nearly every Date and Received field has, read without
/// allocating: `[Www,] D Mmm YYYY hh:mm[:ss] +hhmm [(comment)]`. `None`
/// for anything else, which [`lenient`] then reads.
fn canonical(v: &[u8]) -> Option<Fields> {
    let mut p = Cursor { v, at: 0 };
    p.spaces();
    if p.v.get(p.at + 3) == Some(&b',') && p.v[p.at..p.at + 3].iter().all(u8::is_ascii_alphabetic) {
        p.at += 4;
        p.spaces();
    }
    let day = p.number(1, 2)? as u8;
    p.space()?;
    let name = p.v.get(p.at..p.at + 3)?;
    let month = MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(name))? as u8
        + 1;
    p.at += 3;
    p.space()?;
    let year = p.number(4, 4)? as i32;
    p.space()?;
    let hour = p.number(2, 2)? as u8;
    p.byte(b':')?;
    let minute = p.number(2, 2)? as u8;
    let second = match p.byte(b':') {
        Some(()) => p.number(2, 2)? as u8,
        None => 0,
    };
    p.space()?;
    let sign = match p.v.get(p.at)? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    p.at += 1;
    let zone = p.number(4, 4)? as i32;
    let (zh, zm) = (zone / 100, zone % 100);
    if zh >= 24 || zm >= 60 {
        return None;
    }
    p.spaces();
    // Only a simple trailing comment, such as "(PDT)".
    if let Some(rest) = p.v[p.at..].strip_prefix(b"(") {
        let close = memchr::memchr(b')', rest)?;
        if rest[..close].contains(&b'(') {
            return None;
        }
        p.at += close + 2;
        p.spaces();
    }
    (p.at == v.len()).then_some((
        day,
        month,
        year,
        (hour, minute, second),
        sign * (zh * 60 + zm),
    ))
}

struct Cursor<'a> {
    v: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn spaces(&mut self) {
        while matches!(self.v.get(self.at), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.at += 1;
        }
    }

    /// At least one space or tab (folding included).
    fn space(&mut self) -> Option<()> {
        let start = self.at;
        self.spaces();
        (self.at > start).then_some(())
    }

    fn byte(&mut self, b: u8) -> Option<()> {
        (self.v.get(self.at) == Some(&b)).then(|| self.at += 1)
    }

    #[inline]
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let mut n = 0;
        let mut digits = 0;
        while let Some(&d) = self.v.get(self.at + digits) {
            if !d.is_ascii_digit() {
                break;
            }
            if digits == max {
                return None;
            }
            n = n * 10 + u32::from(d - b'0');
            digits += 1;
        }
        if digits < min {
            return None;
        }
        self.at += digits;
        Some(n)
    }
}

/// The range checks every reading ends with.
fn checked((day, month, year, (hour, minute, second), offset): Fields) -> Option<DateTime> {
    let valid = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour < 24
        && minute < 60
        && second <= 60;
    valid.then_some(DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        offset_minutes: offset,
    })
}

/// Any date form mail software writes.
fn lenient(value: &[u8]) -> Option<DateTime> {
    let text = crate::charset::lossy(value).to_ascii_lowercase();
    // Comments such as "(PDT)" carry nothing the numeric zone does not.
    let cleaned: std::borrow::Cow<'_, str> = if text.contains('(') {
        let mut cleaned = String::with_capacity(text.len());
        let mut depth = 0;
        for c in text.chars() {
            match c {
                '(' => depth += 1,
                ')' if depth > 0 => depth -= 1,
                _ if depth > 0 => {}
                c => cleaned.push(c),
            }
        }
        cleaned.into()
    } else {
        text.as_str().into()
    };
    let mut day = None;
    let mut month = None;
    let mut year: Option<i32> = None;
    let mut time = None;
    let mut offset = None;
    // "01-Jan-2001" is three words.
    let words = cleaned
        .split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .flat_map(|w| {
            let split = !w.starts_with(['+', '-'])
                && w.contains('-')
                && w.bytes().any(|b| b.is_ascii_alphabetic());
            w.split(move |c| split && c == '-')
        });
    for word in words {
        let word = word.trim_end_matches('.');
        if word.contains(':') && time.is_none() {
            // 10:52:37, 10:52, and a zone glued on: 10:52:37+0200.
            let (clock, zone) = match word.find(['+', '-']) {
                Some(i) => (&word[..i], Some(&word[i..])),
                None => (word, None),
            };
            let mut fields = clock.split([':', '.']).map(|f| f.parse::<u8>().ok());
            let h = fields.next()??;
            let m = fields.next()??;
            let s = fields.next().flatten().unwrap_or(0);
            time = Some((h, m, s));
            if let Some(zone) = zone {
                offset = numeric_zone(zone);
            }
        } else if let Some(z) = (word.starts_with(['+', '-']) && offset.is_none())
            .then(|| numeric_zone(word))
            .flatten()
        {
            offset = Some(z);
        } else if let Some(m) = MONTHS
            .iter()
            .position(|m| word.starts_with(m))
            .filter(|_| month.is_none())
        {
            month = Some(m as u8 + 1);
        } else if let Ok(n) = word.parse::<u32>() {
            let digits = word.len();
            if day.is_none()
                && digits <= 2
                && (1..=31).contains(&n)
                && (year.is_none() || month.is_some())
            {
                day = Some(n as u8);
            } else if month.is_none() && year.is_none() && digits <= 2 && (1..=12).contains(&n) {
                // A numeric month, as in "20 11 79".
                month = Some(n as u8);
            } else if year.is_none() {
                year = Some(match (digits, n) {
                    (1 | 2, n) if n < 50 => 2000 + n as i32,
                    (1 | 2, n) => 1900 + n as i32,
                    (3, n) => 1900 + n as i32,
                    (_, n) => n as i32,
                });
            }
        } else if time.is_some()
            && offset.is_none()
            && let Some(z) = named_zone(
                word.trim_end_matches(|c: char| !c.is_ascii_alphabetic())
                    .split(|c: char| !c.is_ascii_alphabetic())
                    .next()
                    .unwrap_or(""),
            )
        {
            offset = Some(z);
        } else if let Some((y, rest)) = iso_date(word) {
            year = Some(y);
            month = Some(rest.0);
            day = Some(rest.1);
        }
    }
    checked((day?, month?, year?, time?, offset.unwrap_or(0)))
}

/// `2003-07-01` (ISO 8601, sometimes written in Date fields).
fn iso_date(word: &str) -> Option<(i32, (u8, u8))> {
    let mut it = word.splitn(3, '-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.get(..2)?.parse().ok()?;
    Some((y, (m, d)))
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `+hhmm` / `-hhmm` (also `+hh:mm` and `+h`).
fn numeric_zone(word: &str) -> Option<i32> {
    let sign = if word.starts_with('-') { -1 } else { 1 };
    let digits: String = word[1..].chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i32 = digits.parse().ok()?;
    let (h, m) = if digits.len() <= 2 {
        (n, 0)
    } else {
        (n / 100, n % 100)
    };
    (m < 60 && h < 24).then_some(sign * (h * 60 + m))
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Wherever the allocation-free reader answers, the lenient one agrees.
        #[test]
        fn canonical_agrees_with_lenient(
            s in "( ?(Mon|tue|WED|Xyz), ?)?[ \t]{0,2}[0-9]{1,3} (Jan|feb|MAR|Dec|Foo|July) [0-9]{2,5}[ \r\n\t]{1,3}[0-9]{1,3}:[0-9]{2}(:[0-9]{2})? [+-][0-9]{4}( \\(([A-Z]{3}|[a-z( ]{0,4})\\))?[ x]?"
        ) {
            if let Some(fields) = canonical(s.as_bytes()) {
                prop_assert_eq!(checked(fields), lenient(s.as_bytes()), "{:?}", s);
            }
        }
    }

    #[test]
    fn canonical_reads_the_usual_forms() {
        for s in [
            "Tue, 1 Jul 2003 10:52:37 +0200",
            "1 Jul 2003 10:52 -0000 (UTC)",
            "Tue,  01 JUL 2003\r\n 10:52:37 +0200",
        ] {
            assert!(canonical(s.as_bytes()).is_some(), "{s}");
            assert_eq!(parse_date(s.as_bytes()), lenient(s.as_bytes()), "{s}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd_hms_z(v: &str) -> Option<(i32, u8, u8, u8, u8, u8, i32)> {
        parse_date(v.as_bytes()).map(|d| {
            (
                d.year,
                d.month,
                d.day,
                d.hour,
                d.minute,
                d.second,
                d.offset_minutes,
            )
        })
    }

    #[test]
    fn reads_standard_obsolete_and_broken_dates() {
        for (text, want) in [
            (
                "Tue, 1 Jul 2003 10:52:37 +0200",
                (2003, 7, 1, 10, 52, 37, 120),
            ),
            (
                "Fri, 21 Nov 1997 09:55:06 -0600",
                (1997, 11, 21, 9, 55, 6, -360),
            ),
            ("21 Nov 97 09:55:06 GMT", (1997, 11, 21, 9, 55, 6, 0)),
            (
                "Thu,\r\n 13\r\n  Feb\r\n    1969\r\n 23:32\r\n -0330 (Newfoundland Time)",
                (1969, 2, 13, 23, 32, 0, -210),
            ),
            (
                "Mon, 26 Aug 2002 10:22:51 PDT",
                (2002, 8, 26, 10, 22, 51, -420),
            ),
            ("Wed Aug 28 12:00:01 2002", (2002, 8, 28, 12, 0, 1, 0)),
            (
                "Sun, 1 Sep 02 3:04:05 +0100 (BST)",
                (2002, 9, 1, 3, 4, 5, 60),
            ),
            ("2002-09-01 10:00:00 +0000", (2002, 9, 1, 10, 0, 0, 0)),
            (
                "Monday, 01-Jan-2001 00:00:00.00 EST",
                (2001, 1, 1, 0, 0, 0, -300),
            ),
            (
                "Thu, 10 Jul 1997 14:53:31 EST5EDT",
                (1997, 7, 10, 14, 53, 31, -300),
            ),
            (
                "20 11 (some \n 44 comments(more)) 79 05:34:27 -0300",
                (1979, 11, 20, 5, 34, 27, -180),
            ),
        ] {
            assert_eq!(ymd_hms_z(text), Some(want), "{text}");
        }
        assert_eq!(ymd_hms_z("not a date"), None);
        assert_eq!(ymd_hms_z("31 Feb 2003 10:00:00 +0000"), None);
    }

    #[test]
    fn converts_and_writes() {
        let d = parse_date(b"Tue, 1 Jul 2003 10:52:37 +0200").unwrap();
        assert_eq!(d.unix_time(), 1_057_049_557);
        assert_eq!(DateTime::from_unix_time(1_057_049_557, 120), d);
        assert_eq!(d.to_rfc5322(), "Tue, 1 Jul 2003 10:52:37 +0200");
        assert_eq!(
            DateTime::from_unix_time(0, -90).to_rfc5322(),
            "Wed, 31 Dec 1969 22:30:00 -0130"
        );
    }
}
