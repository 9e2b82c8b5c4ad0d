//! Offset pagination: `?limit=&offset=`, checked the same way by every list endpoint.

use serde::Deserialize;

/// The page size when the client names none.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page a client may ask for.
pub const MAX_LIMIT: i64 = 200;

/// The furthest a client may page. Far beyond any table here, and far from `i64::MAX`:
/// `offset + limit` must never overflow (it did, and dropped the connection), and an
/// `OFFSET` makes Postgres read and discard that many rows, so a bound also bounds the cost.
pub const MAX_OFFSET: i64 = 1_000_000;

/// `?limit=&offset=` as sent by the client.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PageParams {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl PageParams {
    /// Checks the bounds; the error names the parameter and its allowed range.
    pub fn page(self) -> Result<Page, String> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        let offset = self.offset.unwrap_or(0);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(format!("limit must be between 1 and {MAX_LIMIT}"));
        }
        if !(0..=MAX_OFFSET).contains(&offset) {
            return Err(format!("offset must be between 0 and {MAX_OFFSET}"));
        }
        Ok(Page { limit, offset })
    }
}

impl Page {
    /// The next page's offset, when rows remain after this page.
    pub fn next(self, total: i64) -> Option<i64> {
        self.offset
            .checked_add(self.limit)
            .filter(|next| *next < total)
    }

    /// The previous page's offset, when this page is not the first.
    pub fn prev(self) -> Option<i64> {
        (self.offset > 0).then(|| self.offset.saturating_sub(self.limit).max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(limit: Option<i64>, offset: Option<i64>) -> Result<Page, String> {
        PageParams { limit, offset }.page()
    }

    #[test]
    fn refuses_an_offset_beyond_the_bound_and_names_it() {
        for offset in [-1, MAX_OFFSET + 1, i64::MAX] {
            let message = page(Some(MAX_LIMIT), Some(offset)).unwrap_err();
            assert!(message.starts_with("offset "), "{message}");
        }
    }

    #[test]
    fn links_pages_without_overflowing() {
        let last = page(Some(MAX_LIMIT), Some(MAX_OFFSET)).unwrap();
        let first = page(None, None).unwrap();

        assert_eq!(last.next(i64::MAX), Some(MAX_OFFSET + MAX_LIMIT));
        assert_eq!(last.prev(), Some(MAX_OFFSET - MAX_LIMIT));
        assert_eq!(first.next(DEFAULT_LIMIT), None);
        assert_eq!(first.prev(), None);
        let odd = Page {
            limit: 50,
            offset: 20,
        };
        assert_eq!(odd.prev(), Some(0));
    }
}

/// An integer query parameter as JSON Schema means it: `7` and `7.0` are the same number
/// (a generated client may write either). Floats count up to 2^53 - 1, the last integer a
/// double holds exactly; anything with a fraction is refused. For `Option<i64>` fields:
/// `#[serde(default, deserialize_with = "chassis::http::page::whole_number")]`.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    let text = String::deserialize(deserializer)?;
    if let Ok(n) = text.parse::<i64>() {
        return Ok(Some(n));
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_991.0 => {
            Ok(Some(v as i64))
        }
        _ => Err(D::Error::custom(format!("{text:?} is not a whole number"))),
    }
}

#[cfg(test)]
mod whole_number_tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Params {
        #[serde(default, deserialize_with = "super::whole_number")]
        n: Option<i64>,
    }

    fn n(query: &str) -> Option<Option<i64>> {
        serde_urlencoded::from_str::<Params>(query)
            .ok()
            .map(|p| p.n)
    }

    #[test]
    fn reads_whole_numbers_written_either_way_and_nothing_else() {
        assert_eq!(n(""), Some(None));
        assert_eq!(n("n=7"), Some(Some(7)));
        assert_eq!(n("n=7.0"), Some(Some(7)));
        assert_eq!(n("n=-3"), Some(Some(-3)));
        for bad in ["n=7.5", "n=abc", "n=", "n=1e300", "n=NaN", "n=inf"] {
            assert_eq!(n(bad), None, "{bad}");
        }
    }
}
