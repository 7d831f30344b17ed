//! Addresses given in place of the name service, as curl's `--resolve
//! HOST:PORT:ADDR` gives them: a peer keeps its name (`nodes-0.nodes:8001`,
//! a headless Service's DNS name) on the ring and in the results, and is
//! reached at the address given for it. What the cluster's DNS does in
//! Kubernetes, this does where there is none, as in the manifests'
//! rehearsal on loopback addresses.

use std::net::IpAddr;
use std::str::FromStr;

/// One name's address: `HOST:PORT:ADDR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The host as URLs name it.
    pub host: String,
    /// The port the URLs give with it.
    pub port: u16,
    /// Where to connect instead.
    pub address: IpAddr,
}

impl FromStr for Resolved {
    type Err = String;

    fn from_str(text: &str) -> Result<Resolved, String> {
        let bad = |why: &str| format!("{text:?}: {why}; expected HOST:PORT:ADDR");
        let mut parts = text.splitn(3, ':');
        let (Some(host), Some(port), Some(address)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("three parts are needed"));
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = port.parse().map_err(|_| bad("the port is not a number"))?;
        let address = address
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| bad("the address is not an IP address"))?;
        Ok(Resolved {
            host: host.to_ascii_lowercase(),
            port,
            address,
        })
    }
}

/// Every name given an address (`--resolve`, `GEECACHE_RESOLVE`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolve(pub Vec<Resolved>);

impl Resolve {
    /// `url` (`http://HOST:PORT...`) with its host replaced by the address
    /// given for its host and port; `url` as it is when none is given.
    pub fn apply(&self, url: &str) -> String {
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.to_owned();
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let Some((host, port)) = authority.rsplit_once(':') else {
            return url.to_owned();
        };
        let Ok(port) = port.parse::<u16>() else {
            return url.to_owned();
        };
        match self
            .0
            .iter()
            .find(|entry| entry.port == port && entry.host.eq_ignore_ascii_case(host))
        {
            Some(entry) => {
                let address = match entry.address {
                    IpAddr::V4(address) => address.to_string(),
                    IpAddr::V6(address) => format!("[{address}]"),
                };
                format!("{scheme}://{address}:{port}{tail}")
            }
            None => url.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_host_and_port_is_reached_at_its_address_and_others_are_left_alone() {
        let resolve = Resolve(vec![
            "nodes-0.nodes:8001:127.0.0.2".parse().unwrap(),
            "Nodes-1.nodes:8001:[::1]".parse().unwrap(),
        ]);
        assert_eq!(
            resolve.apply("http://nodes-0.nodes:8001/api?x=1"),
            "http://127.0.0.2:8001/api?x=1"
        );
        assert_eq!(
            resolve.apply("http://NODES-1.nodes:8001"),
            "http://[::1]:8001"
        );
        // Another port, another host, no port: as given.
        for url in [
            "http://nodes-0.nodes:8002",
            "http://nodes-2.nodes:8001",
            "http://nodes-0.nodes/api",
            "nodes-0.nodes:8001",
        ] {
            assert_eq!(resolve.apply(url), url);
        }
    }

    #[test]
    fn a_malformed_entry_says_what_is_wrong() {
        for (text, says) in [
            ("nodes-0.nodes:8001", "three parts"),
            (":8001:127.0.0.2", "no host"),
            ("nodes-0:port:127.0.0.2", "the port is not a number"),
            ("nodes-0:8001:nodes-1", "not an IP address"),
        ] {
            let error = text.parse::<Resolved>().unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
            assert!(error.contains("HOST:PORT:ADDR"), "{error}");
        }
    }
}
