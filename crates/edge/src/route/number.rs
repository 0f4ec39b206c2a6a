//! Numbers the way edgeHub (.NET) reads them: literals in routes (`double.TryParse` with
//! `NumberStyles.Any`, hex through `long.TryParse`), and strings given to `as_number`. Written by
//! hand because Rust's `f64::from_str` accepts things .NET refuses (`inf`, `nan`) and refuses
//! things .NET accepts (`(5)`, `1,000`, ` 5 `, `5-`).

/// An INTEGER or REAL literal. `None` when .NET cannot parse it (e.g. `e5`): edgeHub then
/// compiles the literal to `undefined`.
pub fn parse_decimal(text: &str) -> Option<f64> {
    parse_dotnet(text)
}

/// A HEX literal `0x...`: parsed as a 64-bit two's complement integer (`long`), so at most 16
/// significant digits and `0xFFFFFFFFFFFFFFFF` is -1.
pub fn parse_hex(text: &str) -> Option<f64> {
    let digits = text.get(2..)?.trim_start_matches('0');
    if digits.len() > 16 {
        return None;
    }
    if digits.is_empty() {
        return Some(0.0);
    }
    let v = u64::from_str_radix(digits, 16).ok()?;
    Some(v as i64 as f64)
}

/// .NET whitespace for number parsing: U+0009..U+000D and space.
fn is_dotnet_space(c: char) -> bool {
    c == ' ' || ('\t'..='\r').contains(&c)
}

/// `double.TryParse(s, NumberStyles.Any, CultureInfo.InvariantCulture)`: surrounding white
/// space, a leading or trailing sign or parentheses, the currency sign `¤`, `,` group
/// separators in the integer part, a decimal point, an exponent, and the symbols `Infinity`,
/// `-Infinity`, `NaN` (any case). Overflow gives infinity, as in .NET Core 3.0 and later.
pub fn parse_dotnet(s: &str) -> Option<f64> {
    let t = s.trim_matches(is_dotnet_space);
    match t.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" | "∞" => return Some(f64::INFINITY),
        "-infinity" | "-∞" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    let mut t = t;
    let mut negative = false;
    let mut paren = false;
    if let Some(inner) = t.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        negative = true;
        paren = true;
        t = inner.trim_matches(is_dotnet_space);
    }
    t = strip_currency(t);
    let mut signs = 0;
    if let Some(rest) = t.strip_prefix(['+', '-']) {
        negative ^= t.starts_with('-');
        signs += 1;
        t = strip_currency(rest);
    }
    if let Some(rest) = t.strip_suffix(['+', '-']) {
        negative ^= t.ends_with('-');
        signs += 1;
        t = strip_currency(rest).trim_end_matches(is_dotnet_space);
    }
    if signs > 1 || (paren && signs > 0) {
        return None;
    }
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let int_digits: String = int.chars().filter(|c| *c != ',').collect();
    let ok_int = int.chars().all(|c| c.is_ascii_digit() || c == ',')
        && !int.starts_with(',')
        && int_digits.chars().all(|c| c.is_ascii_digit());
    let ok_frac = frac.is_none_or(|f| f.chars().all(|c| c.is_ascii_digit()));
    let has_digits = !int_digits.is_empty() || frac.is_some_and(|f| !f.is_empty());
    let ok_exp = exponent.is_none_or(|e| {
        let d = e.strip_prefix(['+', '-']).unwrap_or(e);
        !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())
    });
    if !(ok_int && ok_frac && has_digits && ok_exp) {
        return None;
    }
    let mut normal = if int_digits.is_empty() {
        "0".to_owned()
    } else {
        int_digits
    };
    if let Some(f) = frac.filter(|f| !f.is_empty()) {
        normal.push('.');
        normal.push_str(f);
    }
    if let Some(e) = exponent {
        normal.push('e');
        normal.push_str(e);
    }
    let v: f64 = normal.parse().ok()?;
    Some(if negative { -v } else { v })
}

fn strip_currency(t: &str) -> &str {
    t.strip_prefix('¤')
        .or_else(|| t.strip_suffix('¤'))
        .unwrap_or(t)
        .trim_matches(is_dotnet_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(parse_decimal("-5"), Some(-5.0));
        assert_eq!(parse_decimal(".5"), Some(0.5));
        assert_eq!(parse_decimal("-.5"), Some(-0.5));
        assert_eq!(parse_decimal("1E+5"), Some(1e5));
        assert_eq!(parse_decimal("10e1000"), Some(f64::INFINITY));
        assert_eq!(parse_decimal("e5"), None);
        assert_eq!(parse_hex("0x1F"), Some(31.0));
        assert_eq!(parse_hex("0xFFFFFFFFFFFFFFFF"), Some(-1.0));
        assert_eq!(parse_hex("0x00000000000000000001"), Some(1.0));
        assert_eq!(parse_hex("0x1FFFFFFFFFFFFFFFF"), None);
    }

    #[test]
    fn as_number_strings() {
        for (s, v) in [
            ("3", 3.0),
            (" 3 ", 3.0),
            ("(5)", -5.0),
            ("5-", -5.0),
            ("+5", 5.0),
            ("1,000.5", 1000.5),
            ("10e10", 1e11),
            ("¤5", 5.0),
            ("10000000000000000000000000", 1e25),
            ("Infinity", f64::INFINITY),
        ] {
            assert_eq!(parse_dotnet(s), Some(v), "{s}");
        }
        for s in [
            "", "apple", "inf", "0x10", "1..2", "--5", "5e", ",5", "1.2.3", "(-5)",
        ] {
            assert_eq!(parse_dotnet(s), None, "{s}");
        }
        assert!(parse_dotnet("NaN").unwrap().is_nan());
    }
}
