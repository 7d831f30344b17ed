//! A target's API URL and the hosts a run may drive: loopback always,
//! any other only when asked explicitly.

use super::plan::RunError;
use crate::harness::slowdb::api_key_prefix;

/// Splits an API URL that `flag` gave into the base (`http://host:port`)
/// and the prefix of each request's path and query (`/api?key=key`).
pub(crate) fn split_target(
    flag: &'static str,
    url: &str,
    allow_remote: bool,
) -> Result<(String, String), RunError> {
    let bad = |why: &str| RunError::BadUrl {
        flag,
        url: url.to_owned(),
        why: why.to_owned(),
    };
    let uri: hyper::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad("expected http://HOST:PORT[/api]"));
    }
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    check_host(authority.host(), allow_remote).map_err(|why| bad(&why))?;
    if authority.port_u16().is_none() {
        return Err(bad("no port"));
    }
    let path = match uri.path() {
        "" | "/" => "/api",
        path => path,
    };
    Ok((
        format!("http://{authority}"),
        api_key_prefix(path, uri.query()),
    ))
}

/// Whether `host` is this machine: `localhost` or a loopback address
/// (127.0.0.0/8, `[::1]`).
pub(crate) fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Loopback hosts are always allowed (127.0.0.2, .3, ... stand in for
/// separate hosts); any other only when `allow_remote` (`--allow-remote`)
/// says so explicitly.
pub(crate) fn check_host(host: &str, allow_remote: bool) -> Result<(), String> {
    if is_loopback(host) {
        return Ok(());
    }
    if allow_remote {
        log::info!("{host} is not a loopback address: reaching it over the network");
        return Ok(());
    }
    Err(format!(
        "host {host:?} is not a loopback address (127.0.0.0/8, localhost): \
         give --allow-remote to reach other hosts"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_url_names_the_flag_that_gave_it() {
        let error = split_target("--peers", "ftp://127.0.0.1:8001", false).unwrap_err();
        assert!(matches!(
            error,
            RunError::BadUrl {
                flag: "--peers",
                ..
            }
        ));
        assert!(error.is_usage());
        assert_eq!(
            error.to_string(),
            r#"--peers "ftp://127.0.0.1:8001": expected http://HOST:PORT[/api]"#
        );
        let error = split_target("--target", "http://10.0.0.1:9999", false).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(r#"--target "http://10.0.0.1:9999": host "10.0.0.1""#),
            "{error}"
        );
        assert_eq!(
            split_target("--target", "http://127.0.0.2:9999/api?g=scores", false).unwrap(),
            (
                "http://127.0.0.2:9999".to_owned(),
                "/api?g=scores&key=key".to_owned()
            )
        );
    }
}
