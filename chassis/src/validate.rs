//! Input rules for what clients send, shared by every service that takes a name, an email,
//! a phone number or an amount of money. A rule broken names the field; the service turns
//! it into a 422 and writes nothing. Domain rules (which statuses exist) stay in services.

use rust_decimal::Decimal;

/// The largest order total accepted.
pub const MAX_TOTAL: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 2); // 1,000,000.00

/// One field that breaks a rule.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

pub fn invalid(field: &'static str, message: &str) -> Invalid {
    Invalid {
        field,
        message: message.to_owned(),
    }
}

/// Whether `c` may be stored in a text field. Postgres refuses NUL in text (SQLSTATE 22021,
/// which became a 500), and XML 1.0 has no way to write the other control characters or
/// U+FFFE/U+FFFF: stored, they would make every XML representation of the row ill-formed.
/// Tabs and newlines are refused too: no name, address or number holds one.
fn printable(c: char) -> bool {
    !c.is_control() && c != '\u{FFFE}' && c != '\u{FFFF}'
}

fn printable_only(field: &'static str, value: &str) -> Result<(), Invalid> {
    if value.chars().all(printable) {
        Ok(())
    } else {
        Err(invalid(field, "must not contain control characters"))
    }
}

/// A person's name: at most 200 printable characters as sent, not all spaces; stored
/// trimmed. Every rule is checked on the value as sent, as the OpenAPI documents state them:
/// a client that follows the document is never refused, one that does not always is.
pub fn name(value: &str) -> Result<String, Invalid> {
    printable_only("name", value)?;
    if value.chars().count() > 200 {
        return Err(invalid("name", "must be at most 200 characters"));
    }
    match value.trim() {
        "" => Err(invalid("name", "must not be empty")),
        trimmed => Ok(trimmed.to_owned()),
    }
}

/// An email address: something@domain, at most 254 characters, no spaces; stored
/// lower-case.
pub fn email(value: &str) -> Result<String, Invalid> {
    printable_only("email", value)?;
    let well_formed = value.chars().count() <= 254
        && !value.chars().any(char::is_whitespace)
        && matches!(value.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@'));
    if well_formed {
        Ok(value.to_lowercase())
    } else {
        Err(invalid("email", "must be an address like name@example.com"))
    }
}

/// A phone number: digits, spaces, `+`, `-`, `(`, `)`, with at least one digit; at most
/// 32 characters. Absent (or null) is no phone; an empty or blank one is refused, as the
/// documents say, rather than silently taken for none. Stored trimmed.
pub fn phone(value: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(value) = value else {
        return Ok(None);
    };
    let allowed = |c: char| c.is_ascii_digit() || " +-()".contains(c);
    if value.len() <= 32 && value.chars().all(allowed) && value.chars().any(|c| c.is_ascii_digit())
    {
        Ok(Some(value.trim().to_owned()))
    } else {
        Err(invalid(
            "phone",
            "must hold only digits, spaces, + - ( ), with at least one digit, at most 32 characters",
        ))
    }
}

/// An order total: positive, at most two decimals, at most 1,000,000.00.
pub fn total(value: Decimal) -> Result<Decimal, Invalid> {
    if value <= Decimal::ZERO {
        Err(invalid("total", "must be greater than 0"))
    } else if value > MAX_TOTAL {
        Err(invalid("total", "must be at most 1000000.00"))
    } else if value.normalize().scale() > 2 {
        Err(invalid("total", "must have at most two decimals"))
    } else {
        let mut cents = value;
        cents.rescale(2); // "12.5" is stored and shown as "12.50"
        Ok(cents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn accepts_ordinary_input_and_normalises_it() {
        assert_eq!(name("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert_eq!(email("Ada@Example.COM").unwrap(), "ada@example.com");
        assert_eq!(
            phone(Some("+44 (20) 7946-0000")).unwrap().as_deref(),
            Some("+44 (20) 7946-0000")
        );
        assert_eq!(phone(None).unwrap(), None);
        assert_eq!(
            total(Decimal::from_str("12.5").unwrap())
                .unwrap()
                .to_string(),
            "12.50"
        );
    }

    #[test]
    fn names_the_field_that_breaks_a_rule() {
        assert_eq!(name(" ").unwrap_err().field, "name");
        assert_eq!(name(&"x".repeat(201)).unwrap_err().field, "name");
        for bad in ["", "a@", "@b.c", "a b@c.d", "a@b", "a@@b.c", "a@.b"] {
            assert_eq!(email(bad).unwrap_err().field, "email", "{bad:?}");
        }
        assert_eq!(
            phone(Some("'; DROP TABLE customers; --"))
                .unwrap_err()
                .field,
            "phone"
        );
    }

    #[test]
    fn checks_the_value_as_sent_before_trimming_it() {
        // The documents bound the value the client sends: 201 characters are too many even
        // when trimming would leave 200, and an email with a space is refused, not trimmed.
        assert!(name(&format!("{} ", "x".repeat(200))).is_err());
        assert_eq!(name(&format!(" {}", "x".repeat(199))).unwrap().len(), 199);
        assert!(email(" ada@example.com").is_err());
        // Characters, not bytes: 254 of them fit whatever their encoding.
        assert!(email(&format!("{}@b.de", "é".repeat(249))).is_ok());
        for blank in ["", "  "] {
            assert_eq!(phone(Some(blank)).unwrap_err().field, "phone", "{blank:?}");
        }
        assert_eq!(phone(Some(" 0123 ")).unwrap().as_deref(), Some("0123"));
    }

    #[test]
    fn refuses_control_characters_that_postgres_or_xml_cannot_hold() {
        for bad in [
            "Ada\0",
            "Ada\u{1}",
            "A\tda",
            "Ada\u{1b}[31m",
            "Ada\u{7f}",
            "A\u{85}da",
            "Ada\u{FFFF}",
        ] {
            assert_eq!(name(bad).unwrap_err().field, "name", "{bad:?}");
        }
        for bad in ["a\0@example.com", "a@exa\u{7}mple.com"] {
            assert_eq!(email(bad).unwrap_err().field, "email", "{bad:?}");
        }
        assert_eq!(phone(Some("1\u{0}2")).unwrap_err().field, "phone");
        assert_eq!(name("Zoë Ŝtraße 李").unwrap(), "Zoë Ŝtraße 李");
    }

    #[test]
    fn keeps_totals_positive_bounded_and_in_cents() {
        for bad in ["0", "-1", "0.001", "1000000.01", "99999999999"] {
            assert_eq!(
                total(Decimal::from_str(bad).unwrap()).unwrap_err().field,
                "total",
                "{bad}"
            );
        }
        assert!(total(MAX_TOTAL).is_ok());
    }
}
