//! Cron expressions for `triggers.crons`, checked the way Cloudflare's Cron
//! Triggers read them, so that a schedule Cloudflare would refuse at deploy
//! time is refused here, with the field that is wrong and why.
//!
//! Where the rules come from:
//!
//! - Cloudflare's documentation, Workers > Configuration > Cron Triggers,
//!   "Supported cron expressions": five fields; minute 0-59, hour 0-23 (both
//!   with `* , - /`); day of month 1-31 (`* , - / L W`); month 1-12 or
//!   case-insensitive three-letter names (`* , - /`); day of week 1-7 or
//!   case-insensitive three-letter names (`* , - / L #`), 1 being Sunday
//!   (`0 17 * * sun` = `0 17 * * 1`, `mon-fri` = `2-6`); examples `6L`,
//!   `friL`, `LW`.
//! - The parser behind Cron Triggers, Cloudflare's `saffron`
//!   (`saffron/src/parse.rs`), for what the table leaves open: fields are
//!   separated by spaces or tabs, with none before or after; `*` stands
//!   alone or takes a step (`*/5`, then more list items); a step is 1 up to
//!   the field's span (59, 23, 30, 11, 6), so `*/0` is refused; `a/n` and
//!   `a-b/n` step from a value; a range may wrap (`FRI-MON`); numbers may
//!   have leading zeros; in the day of month `L`, `LW`, `L-n`, `L-nW` (n
//!   1-30) and `nW` stand alone; in the day of week `L`, `nL` and `n#k` (k
//!   1-5) stand alone; `L` and `W` are upper case; `?` is not accepted.
//!
//! The tests compare [`check`] with `saffron` itself on every form above and
//! on thousands of generated expressions.

use std::fmt;

/// One of the five fields of a cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

const FIELDS: [Field; 5] = [
    Field::Minute,
    Field::Hour,
    Field::DayOfMonth,
    Field::Month,
    Field::DayOfWeek,
];

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        }
    }

    fn min(self) -> u8 {
        match self {
            Field::Minute | Field::Hour => 0,
            _ => 1,
        }
    }

    fn max(self) -> u8 {
        match self {
            Field::Minute => 59,
            Field::Hour => 23,
            Field::DayOfMonth => 31,
            Field::Month => 12,
            Field::DayOfWeek => 7,
        }
    }

    /// The values the field takes, as the messages say them.
    fn range(self) -> &'static str {
        match self {
            Field::Minute => "0-59",
            Field::Hour => "0-23",
            Field::DayOfMonth => "1-31",
            Field::Month => "1-12 or JAN-DEC",
            Field::DayOfWeek => "1-7 (1 = Sunday) or SUN-SAT",
        }
    }

    /// The three-letter names of the values, from the smallest.
    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Month => MONTHS,
            Field::DayOfWeek => WEEKDAYS,
            _ => &[],
        }
    }

    /// The largest step: the span of the field.
    fn max_step(self) -> u8 {
        self.max() - self.min()
    }
}

/// Why an expression is not one Cloudflare accepts. The message names the
/// field and the reason, e.g. `minute 99 is out of range 0-59`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError {
    /// The field that is wrong; None when the expression as a whole is
    /// (the number of fields, whitespace around it).
    pub field: Option<Field>,
    pub message: String,
}

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CronError {}

/// Checks a cron expression; returns it as it goes into the config, with
/// its fields separated by single spaces.
pub fn check(expr: &str) -> Result<String, CronError> {
    let whole = |message: String| CronError {
        field: None,
        message,
    };
    let blank = |c: char| c == ' ' || c == '\t';
    if expr.starts_with(blank) || expr.ends_with(blank) {
        return Err(whole(
            "remove the spaces before and after the expression".to_string(),
        ));
    }
    let fields: Vec<&str> = expr.split(blank).filter(|f| !f.is_empty()).collect();
    if fields.len() != FIELDS.len() {
        let found = match fields.len() {
            0 => "none".to_string(),
            n => n.to_string(),
        };
        return Err(whole(format!(
            "expected five fields (minute hour day-of-month month day-of-week), e.g. \"*/30 * * * *\"; found {found}"
        )));
    }
    for (text, field) in fields.iter().zip(FIELDS) {
        let mut reader = Reader {
            field,
            text,
            pos: 0,
        };
        reader.field()?;
    }
    Ok(fields.join(" "))
}

/// Reads one field.
struct Reader<'a> {
    field: Field,
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    /// An error about the whole field: `day-of-week "5L,3": …`.
    fn fail(&self, why: impl fmt::Display) -> CronError {
        CronError {
            field: Some(self.field),
            message: format!("{} {:?}: {why}", self.field.name(), self.text),
        }
    }

    /// An error about a number of the field: `minute 99 is …`.
    fn fail_number(&self, what: impl fmt::Display) -> CronError {
        CronError {
            field: Some(self.field),
            message: format!("{} {what}", self.field.name()),
        }
    }

    /// What is wrong where reading stopped.
    fn unexpected(&self) -> CronError {
        let expected = format!(
            "expected a value {}, `*`, a range (1-5), a list (1,5) or a step (*/5)",
            self.field.range()
        );
        let why = match self.peek() {
            None => format!("ends too early; {expected}"),
            Some('?') => "`?` is not accepted by Cloudflare; use `*`".to_string(),
            Some('L') if !matches!(self.field, Field::DayOfMonth | Field::DayOfWeek) => {
                "`L` (last) is only allowed in the day-of-month and day-of-week fields".to_string()
            }
            Some('W') if self.field != Field::DayOfMonth => {
                "`W` (nearest weekday) is only allowed in the day-of-month field".to_string()
            }
            Some('#') if self.field != Field::DayOfWeek => {
                "`#` (nth weekday of the month) is only allowed in the day-of-week field"
                    .to_string()
            }
            Some(c @ ('L' | 'W' | '#')) => format!(
                "`{c}` must follow a single value and stand alone, as in {}",
                match self.field {
                    Field::DayOfWeek => "`5L`, `friL`, `L` or `2#1`",
                    _ => "`15W`, `L`, `LW`, `L-3` or `L-3W`",
                }
            ),
            Some(c) if self.pos == 0 => format!("unexpected {c:?}; {expected}"),
            Some(c) => format!("unexpected {c:?} after {:?}", &self.text[..self.pos]),
        };
        self.fail(why)
    }

    /// Fails unless the whole field has been read.
    fn end(&self) -> Result<(), CronError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// Digits as a number (None when there are none); a number too large
    /// for any field saturates, so it is reported as out of range.
    fn number(&mut self) -> Option<(u32, &'a str)> {
        let all: &'a str = self.text;
        let digits = all[self.pos..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if digits == 0 {
            return None;
        }
        let text = &all[self.pos..self.pos + digits];
        self.pos += digits;
        let value = text.parse::<u32>().unwrap_or(u32::MAX);
        Some((value, text))
    }

    /// A value of the field: a number in its range or a three-letter name.
    fn value(&mut self) -> Result<u8, CronError> {
        if let Some((value, text)) = self.number() {
            let (min, max) = (self.field.min(), self.field.max());
            return match u8::try_from(value) {
                Ok(v) if (min..=max).contains(&v) => Ok(v),
                _ => Err(self.fail_number(format_args!(
                    "{text} is out of range {}",
                    self.field.range()
                ))),
            };
        }
        let rest = &self.text[self.pos..];
        if let Some(index) = self.field.names().iter().position(|name| {
            rest.get(..3)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(name))
        }) {
            self.pos += 3;
            return Ok(self.field.min() + index as u8);
        }
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if word.len() > 1 || (word.len() == 1 && !matches!(word.as_str(), "L" | "W")) {
            let names = match self.field.names() {
                [] => String::new(),
                names => format!(" (names are {} to {})", names[0], names[names.len() - 1]),
            };
            return Err(self.fail(format_args!(
                "{word:?} is not a {} value; use {}{names}",
                self.field.name(),
                self.field.range()
            )));
        }
        Err(self.unexpected())
    }

    /// The number after `/`: 1 up to the span of the field.
    fn step(&mut self) -> Result<(), CronError> {
        let Some((step, text)) = self.number() else {
            return Err(self.unexpected());
        };
        let max = self.field.max_step();
        if (1..=u32::from(max)).contains(&step) {
            Ok(())
        } else {
            Err(self.fail_number(format_args!("step /{text} is out of range 1-{max}")))
        }
    }

    /// One list item: a value (or `*`), optionally `-value`, optionally
    /// `/step`.
    fn item(&mut self) -> Result<(), CronError> {
        if !self.eat('*') {
            self.value()?;
        }
        if self.eat('/') {
            self.step()
        } else if self.eat('-') {
            self.value()?;
            if self.eat('/') { self.step() } else { Ok(()) }
        } else {
            Ok(())
        }
    }

    /// `,item` until the end of the list.
    fn more_items(&mut self) -> Result<(), CronError> {
        while self.eat(',') {
            self.item()?;
        }
        self.end()
    }

    /// What may follow a first value (a range, a step, more items).
    fn after_value(&mut self) -> Result<(), CronError> {
        if self.eat('-') {
            self.value()?;
            if self.eat('/') {
                self.step()?;
            }
        } else if self.eat('/') {
            self.step()?;
        }
        self.more_items()
    }

    fn field(&mut self) -> Result<(), CronError> {
        if self.eat('*') {
            if self.at_end() {
                return Ok(());
            }
            if !self.eat('/') {
                return Err(self.fail(
                    "`*` stands alone or takes a step (*/5); it cannot start a range or a list",
                ));
            }
            self.step()?;
            return self.more_items();
        }
        match self.field {
            Field::DayOfMonth => self.day_of_month(),
            Field::DayOfWeek => self.day_of_week(),
            _ => {
                self.value()?;
                self.after_value()
            }
        }
    }

    /// `L`, `LW`, `L-n`, `L-nW`, `nW`, or values.
    fn day_of_month(&mut self) -> Result<(), CronError> {
        if self.eat('L') {
            if !self.eat('W') && self.eat('-') {
                let Some((offset, text)) = self.number() else {
                    return Err(self.unexpected());
                };
                if !(1..=30).contains(&offset) {
                    return Err(self.fail_number(format_args!(
                        "L-{text}: the offset from the last day is out of range 1-30"
                    )));
                }
                self.eat('W');
            }
            return self.end();
        }
        self.value()?;
        if self.eat('W') {
            return self.end();
        }
        self.after_value()
    }

    /// `L`, `nL`, `n#k`, or values.
    fn day_of_week(&mut self) -> Result<(), CronError> {
        if self.eat('L') {
            return self.end();
        }
        self.value()?;
        if self.eat('L') {
            return self.end();
        }
        if self.eat('#') {
            let Some((nth, text)) = self.number() else {
                return Err(self.unexpected());
            };
            if !(1..=5).contains(&nth) {
                return Err(self.fail_number(format_args!(
                    "#{text}: the week of the month is out of range 1-5"
                )));
            }
            return self.end();
        }
        self.after_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(expr: &str) -> String {
        check(expr).unwrap_err().message
    }

    #[test]
    fn the_documented_examples_are_accepted() {
        for expr in [
            "* * * * *",
            "*/30 * * * *",
            "45 * * * *",
            "0 17 * * sun",
            "0 17 * * 1",
            "10 7 * * mon-fri",
            "10 7 * * 2-6",
            "0 15 1 * *",
            "0 18 * * 6L",
            "0 18 * * friL",
            "59 23 LW * *",
            "*/3 * * * *",
            "0 15 1 * *",
        ] {
            assert_eq!(check(expr).unwrap(), expr);
        }
    }

    #[test]
    fn every_form_of_every_field_is_accepted() {
        for expr in [
            "0,15,30,45 0-23/2 1-31 1-12 1-7",
            "5/15 3/4 2/7 2/3 2/2",
            "1-59/59 0-23/23 1-31/30 1-12/11 1-7/6",
            "50-10 22-2 28-3 NOV-FEB FRI-MON",
            "*/5,7 */2,3 */10,15 */3,dec */2,sat",
            "1,*/20 1,* 1,*-5 jan,* sun,*/2",
            "007 00 01 Jan sUn",
            "0 0 L * *",
            "0 0 LW * *",
            "0 0 L-3 * *",
            "0 0 L-30W * *",
            "0 0 15W * *",
            "0 0 * * L",
            "0 0 * * 7L",
            "0 0 * * MON#1",
            "0 0 * * 2#5",
            "0 0 * JAN-DEC/11 SUN-SAT/6",
        ] {
            assert_eq!(check(expr).unwrap(), expr, "{expr}");
        }
    }

    #[test]
    fn fields_may_be_separated_by_several_spaces_and_are_written_with_one() {
        assert_eq!(check("0  0\t* *   *").unwrap(), "0 0 * * *");
        assert_eq!(
            error(" 0 0 * * *"),
            "remove the spaces before and after the expression"
        );
        assert_eq!(
            error("0 0 * * * "),
            "remove the spaces before and after the expression"
        );
    }

    #[test]
    fn errors_name_the_field_and_the_reason() {
        for (expr, message) in [
            ("99 * * * *", "minute 99 is out of range 0-59"),
            ("99 99 99 99 99", "minute 99 is out of range 0-59"),
            ("0 24 * * *", "hour 24 is out of range 0-23"),
            ("0 0 0 * *", "day-of-month 0 is out of range 1-31"),
            ("0 0 32 * *", "day-of-month 32 is out of range 1-31"),
            ("0 0 * 13 *", "month 13 is out of range 1-12 or JAN-DEC"),
            (
                "0 0 * * 0",
                "day-of-week 0 is out of range 1-7 (1 = Sunday) or SUN-SAT",
            ),
            (
                "0 0 * * 1-8",
                "day-of-week 8 is out of range 1-7 (1 = Sunday) or SUN-SAT",
            ),
            ("*/0 * * * *", "minute step /0 is out of range 1-59"),
            ("*/60 * * * *", "minute step /60 is out of range 1-59"),
            ("0 */24 * * *", "hour step /24 is out of range 1-23"),
            ("0 0 * */12 *", "month step /12 is out of range 1-11"),
            ("0 0 * * */7", "day-of-week step /7 is out of range 1-6"),
            (
                "99999999999 * * * *",
                "minute 99999999999 is out of range 0-59",
            ),
            (
                "a b c d e",
                "minute \"a\": \"a\" is not a minute value; use 0-59",
            ),
            (
                "0 0 * JANUARY *",
                "month \"JANUARY\": unexpected 'U' after \"JAN\"",
            ),
            (
                "0 0 * * funday",
                "day-of-week \"funday\": \"funday\" is not a day-of-week value; use 1-7 (1 = Sunday) or SUN-SAT (names are SUN to SAT)",
            ),
            (
                "0 0 ? * *",
                "day-of-month \"?\": `?` is not accepted by Cloudflare; use `*`",
            ),
            (
                "5L * * * *",
                "minute \"5L\": `L` (last) is only allowed in the day-of-month and day-of-week fields",
            ),
            (
                "0 0 * * 15W",
                "day-of-week 15 is out of range 1-7 (1 = Sunday) or SUN-SAT",
            ),
            (
                "0 0 * * 5W",
                "day-of-week \"5W\": `W` (nearest weekday) is only allowed in the day-of-month field",
            ),
            (
                "0 0 1#2 * *",
                "day-of-month \"1#2\": `#` (nth weekday of the month) is only allowed in the day-of-week field",
            ),
            (
                "0 0 15W,20 * *",
                "day-of-month \"15W,20\": unexpected ',' after \"15W\"",
            ),
            (
                "0 0 * * 5L,3",
                "day-of-week \"5L,3\": unexpected ',' after \"5L\"",
            ),
            (
                "0 0 * * 1,5L",
                "day-of-week \"1,5L\": `L` must follow a single value and stand alone, as in `5L`, `friL`, `L` or `2#1`",
            ),
            (
                "0 0 * * fril",
                "day-of-week \"fril\": unexpected 'l' after \"fri\"",
            ),
            (
                "0 0 L-31 * *",
                "day-of-month L-31: the offset from the last day is out of range 1-30",
            ),
            (
                "0 0 * * 2#6",
                "day-of-week #6: the week of the month is out of range 1-5",
            ),
            (
                "*,5 * * * *",
                "minute \"*,5\": `*` stands alone or takes a step (*/5); it cannot start a range or a list",
            ),
            (
                "1- * * * *",
                "minute \"1-\": ends too early; expected a value 0-59, `*`, a range (1-5), a list (1,5) or a step (*/5)",
            ),
            (
                "-1 * * * *",
                "minute \"-1\": unexpected '-'; expected a value 0-59, `*`, a range (1-5), a list (1,5) or a step (*/5)",
            ),
            (
                "* * * *",
                "expected five fields (minute hour day-of-month month day-of-week), e.g. \"*/30 * * * *\"; found 4",
            ),
            (
                "* * * * * *",
                "expected five fields (minute hour day-of-month month day-of-week), e.g. \"*/30 * * * *\"; found 6",
            ),
            (
                "",
                "expected five fields (minute hour day-of-month month day-of-week), e.g. \"*/30 * * * *\"; found none",
            ),
            (
                "* * * * *\n",
                "day-of-week \"*\\n\": `*` stands alone or takes a step (*/5); it cannot start a range or a list",
            ),
            (
                "0 0 * * $(rm)",
                "day-of-week \"$(rm)\": unexpected '$'; expected a value 1-7 (1 = Sunday) or SUN-SAT, `*`, a range (1-5), a list (1,5) or a step (*/5)",
            ),
        ] {
            let error = check(expr).unwrap_err();
            assert_eq!(error.message, message, "{expr:?}");
        }
        assert_eq!(check("0 24 * * *").unwrap_err().field, Some(Field::Hour));
        assert_eq!(check("* * * *").unwrap_err().field, None);
    }

    /// Cloudflare's parser for Cron Triggers.
    fn cloudflare_accepts(expr: &str) -> bool {
        expr.parse::<saffron::Cron>().is_ok()
    }

    fn assert_agrees(expr: &str) {
        assert_eq!(
            check(expr).is_ok(),
            cloudflare_accepts(expr),
            "{expr:?}: kvgen says {:?}",
            check(expr)
        );
    }

    /// Tokens for one field: every form, and the mistakes next to them.
    const TOKENS: &[&str] = &[
        "*",
        "*/1",
        "*/0",
        "*/5",
        "*/6",
        "*/7",
        "*/11",
        "*/12",
        "*/23",
        "*/24",
        "*/30",
        "*/31",
        "*/59",
        "*/60",
        "*/",
        "*,1",
        "*-1",
        "**",
        "0",
        "1",
        "5",
        "7",
        "8",
        "12",
        "13",
        "23",
        "24",
        "31",
        "32",
        "59",
        "60",
        "255",
        "256",
        "007",
        "-1",
        "1-5",
        "5-1",
        "1-",
        "1-5/2",
        "1-5/0",
        "5/15",
        "5/",
        "1,2",
        "1,*",
        "1,*/5",
        "1,*-5",
        "1,",
        ",1",
        "1,,2",
        "1//2",
        "L",
        "LW",
        "L-1",
        "L-3",
        "L-30",
        "L-31",
        "L-0",
        "L-3W",
        "L-",
        "LL",
        "l",
        "W",
        "1W",
        "15W",
        "31W",
        "0W",
        "32W",
        "15W,1",
        "1,15W",
        "1-5W",
        "5L",
        "7L",
        "0L",
        "8L",
        "friL",
        "fril",
        "FRIL",
        "L5",
        "1#1",
        "1#5",
        "1#0",
        "1#6",
        "7#3",
        "8#1",
        "#1",
        "1#",
        "mon#2",
        "1#1,2",
        "jan",
        "JAN",
        "Jan",
        "dec",
        "JANUARY",
        "ja",
        "jan-dec",
        "JAN-DEC/11",
        "jan/2",
        "jan,feb",
        "sun",
        "SUN",
        "sat",
        "sun-sat",
        "MON-FRI",
        "fri-mon",
        "SUNDAY",
        "mon,wed,fri",
        "?",
        "",
        "a",
        "$",
        "é",
        "1\u{0}",
        "٣",
    ];

    #[test]
    fn every_token_in_every_field_is_judged_as_cloudflare_judges_it() {
        for position in 0..5 {
            for token in TOKENS {
                let mut fields = ["*"; 5];
                fields[position] = token;
                assert_agrees(&fields.join(" "));
            }
        }
        for expr in [
            " * * * * *",
            "* * * * * ",
            "*  * * * *",
            "*\t* * * *",
            "* * * *",
            "* * * * * *",
            "",
            "* * * * *\n",
            "0 0 31 2 *",
            "59 23 LW * *",
        ] {
            assert_agrees(expr);
        }
    }

    #[test]
    fn generated_expressions_are_judged_as_cloudflare_judges_them() {
        // A fixed linear congruential generator, so every run checks the
        // same expressions.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as usize) % n
        };
        let pieces = [
            "0", "1", "2", "5", "6", "7", "9", "12", "23", "30", "31", "59", "60", "*", "/", ",",
            "-", "L", "W", "#", "jan", "DEC", "sun", "Fri", "?",
        ];
        let mut accepted = 0;
        for _ in 0..20_000 {
            // Each field is `*` half of the time, so that whole expressions
            // are often valid and a wrong field is compared on its own.
            let fields: Vec<String> = (0..5)
                .map(|_| {
                    if next(2) == 0 {
                        return "*".to_string();
                    }
                    let len = 1 + next(5);
                    (0..len).map(|_| pieces[next(pieces.len())]).collect()
                })
                .collect();
            let expr = fields.join(" ");
            assert_agrees(&expr);
            accepted += usize::from(check(&expr).is_ok());
        }
        // The corpus holds plenty of both kinds (1022 accepted of 20000), so
        // the comparison means something.
        assert!((500..19_500).contains(&accepted), "{accepted}");
    }
}
