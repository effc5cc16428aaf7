//! L2 amounts in the units people use. One L2 unit is [`AMOUNT_UNIT_WEI`] wei, 1 gwei: the contract's `AMOUNT_UNIT`,
//! by which `openAccount` and `deposit` divide `msg.value` (refusing a value that is not a whole number of units) and
//! by which every withdrawal, exit and refund is multiplied back. So balances, amounts and fees on L2 are whole
//! numbers of gwei, at most 2^62 − 1 (about 4.6 billion ETH).

use thiserror::Error;
use zkr_circuits::tx::MAX_AMOUNT;

use crate::calldata::AMOUNT_UNIT_WEI;

/// Decimal digits of an L2 unit below one ETH (1 ETH = 10^9 gwei).
pub const UNIT_DECIMALS: usize = 9;

// The unit names below ("gwei", 10^9 per ETH) hold only while the contract's unit is 1 gwei.
const _: () = assert!(AMOUNT_UNIT_WEI == 1_000_000_000);

/// Why an amount does not parse.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum AmountError {
    #[error("{input:?} is not an amount: write e.g. 0.1eth, 2500gwei, 1000000000wei or 2500 (gwei, the L2 unit)")]
    Syntax { input: String },
    #[error("{input:?} is finer than 1 gwei, the smallest L2 amount")]
    TooFine { input: String },
    #[error("{input:?} is above the largest L2 amount, {MAX_AMOUNT} gwei")]
    TooLarge { input: String },
}

/// Parses an amount into L2 units (gwei): `0.1eth`, `1.5 ETH`, `100gwei`, `1000000000wei`, or a plain integer in L2
/// units (gwei). Case does not matter; `_` may separate digits. Refuses a value that is not a whole number of gwei
/// or is above 2^62 − 1 gwei.
pub fn parse_amount(input: &str) -> Result<u64, AmountError> {
    let syntax = || AmountError::Syntax { input: input.to_string() };
    let s: String = input.trim().to_ascii_lowercase().chars().filter(|c| *c != '_').collect();
    let (number, decimals) = if let Some(n) = s.strip_suffix("gwei") {
        (n, 0)
    } else if let Some(n) = s.strip_suffix("wei") {
        (n, -(UNIT_DECIMALS as i32))
    } else if let Some(n) = s.strip_suffix("eth") {
        (n, UNIT_DECIMALS as i32)
    } else {
        (s.as_str(), 0)
    };
    let number = number.trim_end();
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty()) || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    // value = int.frac × 10^decimals gwei: the significant digits as one integer, shifted
    let frac = frac.trim_end_matches('0');
    let mut digits = format!("{int}{frac}").trim_start_matches('0').to_string();
    if digits.is_empty() {
        return Ok(0);
    }
    let shift = decimals - frac.len() as i32;
    if shift < 0 {
        let cut = shift.unsigned_abs() as usize;
        if digits.len() <= cut || !digits[digits.len() - cut..].bytes().all(|b| b == b'0') {
            return Err(AmountError::TooFine { input: input.to_string() });
        }
        digits.truncate(digits.len() - cut);
    } else {
        digits.push_str(&"0".repeat(shift as usize));
    }
    let too_large = || AmountError::TooLarge { input: input.to_string() };
    if digits.len() > 19 {
        return Err(too_large());
    }
    let value: u64 = digits.parse().map_err(|_| too_large())?;
    if value > MAX_AMOUNT {
        return Err(too_large());
    }
    Ok(value)
}

/// `units` (gwei) in ETH, without trailing zeros: `1.5 ETH`, `0.000000001 ETH`, `0 ETH`.
pub fn format_eth(units: u64) -> String {
    let per_eth = 10u64.pow(UNIT_DECIMALS as u32);
    let (whole, frac) = (units / per_eth, units % per_eth);
    if frac == 0 {
        format!("{whole} ETH")
    } else {
        let frac = format!("{frac:0width$}", width = UNIT_DECIMALS);
        format!("{whole}.{} ETH", frac.trim_end_matches('0'))
    }
}

/// `units` with both units named: `1.5 ETH (1500000000 gwei)`.
pub fn describe_amount(units: u64) -> String {
    format!("{} ({units} gwei)", format_eth(units))
}

/// The wei of `units` as a decimal string (what `msg.value` carries).
pub fn units_to_wei_string(units: u64) -> String {
    (units as u128 * AMOUNT_UNIT_WEI as u128).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_in_every_unit() {
        assert_eq!(parse_amount("0.1eth"), Ok(100_000_000));
        assert_eq!(parse_amount("1.5 ETH"), Ok(1_500_000_000));
        assert_eq!(parse_amount(".5eth"), Ok(500_000_000));
        assert_eq!(parse_amount("100gwei"), Ok(100));
        assert_eq!(parse_amount("100 Gwei"), Ok(100));
        assert_eq!(parse_amount("2.0gwei"), Ok(2));
        assert_eq!(parse_amount("3000000000wei"), Ok(3));
        assert_eq!(parse_amount("1_000"), Ok(1000));
        assert_eq!(parse_amount("0"), Ok(0));
        assert_eq!(parse_amount("0.000000001eth"), Ok(1));
        assert_eq!(parse_amount(&format!("{MAX_AMOUNT}")), Ok(MAX_AMOUNT));
    }

    #[test]
    fn amounts_finer_than_a_gwei_or_too_large_are_refused() {
        assert!(matches!(parse_amount("0.0000000001eth"), Err(AmountError::TooFine { .. })));
        assert!(matches!(parse_amount("1.5gwei"), Err(AmountError::TooFine { .. })));
        assert!(matches!(parse_amount("1wei"), Err(AmountError::TooFine { .. })));
        assert!(matches!(parse_amount(&format!("{}", MAX_AMOUNT as u128 + 1)), Err(AmountError::TooLarge { .. })));
        assert!(matches!(parse_amount("5000000000eth"), Err(AmountError::TooLarge { .. })));
        assert!(matches!(parse_amount("1".repeat(40).as_str()), Err(AmountError::TooLarge { .. })));
        for bad in ["", "eth", ".", "1.2.3", "-1", "1e9", "0x10", "ten gwei", "1 btc"] {
            assert!(matches!(parse_amount(bad), Err(AmountError::Syntax { .. })), "{bad:?}");
        }
    }

    #[test]
    fn amounts_print_with_both_units() {
        assert_eq!(describe_amount(1_500_000_000), "1.5 ETH (1500000000 gwei)");
        assert_eq!(describe_amount(1), "0.000000001 ETH (1 gwei)");
        assert_eq!(describe_amount(0), "0 ETH (0 gwei)");
        assert_eq!(format_eth(2_000_000_000), "2 ETH");
        assert_eq!(units_to_wei_string(3), "3000000000");
        for units in [0, 1, 999, 1_000_000_000, 123_456_789_012, MAX_AMOUNT] {
            assert_eq!(parse_amount(&format_eth(units).replace(' ', "")), Ok(units));
        }
    }
}
