//! How the command line's values are read: sizes, addresses, names.

use std::net::SocketAddr;

use amptap::event::Region;
use amptap::report::Format;

/// `--region`: clap lists the names, the core parses them.
pub fn region_parser() -> impl clap::builder::TypedValueParser<Value = Region> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Region::NAMES).try_map(|s| s.parse::<Region>())
}

/// `--format`: clap lists the names, the core parses them.
pub fn format_parser() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Format::NAMES).try_map(|s| s.parse::<Format>())
}

/// `kafka://HOST:PORT/TOPIC[?from=…]`, said wrong in the address's own words.
pub fn parse_kafka(text: &str) -> Result<amptap::kafka::KafkaUrl, String> {
    text.parse()
        .map_err(|e: amptap::kafka::AddressError| e.to_string())
}

/// `127.0.0.1:8787`, `[::1]:8787`, `localhost:8787` (the IPv4 loopback), or
/// a host name that resolves.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?}: expected HOST:PORT, e.g. 127.0.0.1:8787"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{text:?}: {port:?} is not a port number"))?;
    if host.eq_ignore_ascii_case("localhost") || host.is_empty() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| format!("{text:?}: {host:?} does not resolve to an address"))
}

/// `128MiB`, `512M`, `1GiB`, `64k`; a plain number is MiB.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: usize = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size: use e.g. 128MiB or 1GiB"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "m" | "mb" | "mib" => 20,
        "k" | "kb" | "kib" => 10,
        "g" | "gb" | "gib" => 30,
        "b" => 0,
        other => return Err(format!("unknown unit {other:?}: use KiB, MiB or GiB")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("64 KiB"), Ok(64 << 10));
        assert_eq!(parse_size("200"), Ok(200 << 20));
        assert_eq!(parse_size("0"), Ok(0));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
