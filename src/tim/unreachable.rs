//! Connection failures that no retry mends: a certificate this machine does not trust or that
//! is not for the target's host, and a host name that does not resolve.
//!
//! The cause is found by walking the error's source chain down to the TLS library's typed
//! certificate error ([`rustls::Error::InvalidCertificate`]) or to the resolver's I/O error.
//! Every other connection failure (refused, reset, a resolver that timed out) stays transient.

use serde::Serialize;
use std::error::Error;

/// Why the target cannot be reached as it is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreachable {
    /// The certificate chains to no root this machine trusts (self-signed, a private CA, a
    /// proxy that inspects TLS).
    UntrustedCertificate,
    /// The server presents a CA certificate as its own: refused even when that CA is trusted.
    CaAsServerCertificate,
    /// The certificate has expired or is not valid yet.
    CertificateExpired,
    /// The certificate is not issued for the host name of the target URL.
    CertificateName,
    /// Revoked, or invalid some other way.
    CertificateInvalid,
    /// The host name does not resolve (the resolver answered that no such name exists).
    UnknownHost,
}

impl Unreachable {
    /// What it is, for a person.
    pub(crate) fn what(self) -> &'static str {
        match self {
            Unreachable::UntrustedCertificate => {
                "its TLS certificate is not trusted by this machine (self-signed, or issued by a CA that is not among the system's roots)"
            }
            Unreachable::CaAsServerCertificate => {
                "it presents a CA certificate as its own server certificate (typical of a self-signed certificate made with CA:TRUE)"
            }
            Unreachable::CertificateExpired => {
                "its TLS certificate has expired or is not valid yet"
            }
            Unreachable::CertificateName => {
                "its TLS certificate is not issued for this host name"
            }
            Unreachable::CertificateInvalid => "its TLS certificate is invalid",
            Unreachable::UnknownHost => "the host name does not resolve",
        }
    }

    /// What to do about it, for a person.
    pub(crate) fn advice(self) -> &'static str {
        match self {
            Unreachable::UntrustedCertificate => TRUST_ADVICE,
            Unreachable::CaAsServerCertificate => {
                "a CA certificate is refused as a server's even when trusted: give the server (or proxy) a certificate issued by that CA, or a self-signed one that is not a CA (openssl req -x509 … -addext basicConstraints=critical,CA:FALSE), and trust that (SSL_CERT_FILE=/path/ca-bundle.pem, a PEM bundle that replaces the system's roots, so include them; or add it to the system store)"
            }
            Unreachable::CertificateExpired => {
                "renew the server's certificate, or check this machine's clock (date -u)"
            }
            Unreachable::CertificateName => {
                "use the host name the certificate names in [target] url (or --target), or give the server a certificate for the name you use"
            }
            Unreachable::CertificateInvalid => {
                "give the server a valid certificate; retrying does not help"
            }
            Unreachable::UnknownHost => {
                "check [target] url (or --target): a region name (china, singapore, seoul, tokyo, frankfurt, silicon-valley, jakarta, …) or the exact host, and this machine's DNS (getent hosts HOST)"
            }
        }
    }
}

/// How to trust a private CA: reqwest's rustls verifier reads the system's roots through
/// rustls-native-certs, which takes `SSL_CERT_FILE` (or `SSL_CERT_DIR`) instead of the system
/// store when set.
const TRUST_ADVICE: &str = "trust the CA that issued it (a self-signed certificate: the certificate itself): add it to the system store (Debian/Ubuntu: copy ca.crt to /usr/local/share/ca-certificates/ and run update-ca-certificates), or run with SSL_CERT_FILE=/path/ca-bundle.pem — a PEM bundle that replaces the system's roots, so include them: cat /etc/ssl/certs/ca-certificates.crt ca.pem > ca-bundle.pem";

/// The unmendable cause of a connection failure `error`, if it is one, found anywhere in its
/// source chain.
pub(crate) fn cause(error: &(dyn Error + 'static)) -> Option<Unreachable> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(found) = of_one(e) {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// The cause one link of the chain gives. An I/O error's `source()` skips the error it wraps
/// (it returns the wrapped error's source), so the wrapped one is walked here: the TLS
/// connector's failure comes as an I/O error wrapping an I/O error wrapping the TLS error.
fn of_one(e: &(dyn Error + 'static)) -> Option<Unreachable> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return of_tls(tls);
    }
    let io = e.downcast_ref::<std::io::Error>()?;
    if let Some(found) = io.get_ref().and_then(|inner| cause(inner)) {
        return Some(found);
    }
    unknown_host(&io.to_string()).then_some(Unreachable::UnknownHost)
}

/// A certificate refused by the verifier; other TLS failures are left alone.
fn of_tls(e: &rustls::Error) -> Option<Unreachable> {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(cert) = e else {
        return None;
    };
    Some(match cert {
        C::UnknownIssuer | C::BadSignature | C::UnhandledCriticalExtension => {
            Unreachable::UntrustedCertificate
        }
        C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
            Unreachable::CertificateExpired
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => Unreachable::CertificateName,
        // webpki's own errors come wrapped as `Other`; its type is not ours to name, its
        // Debug form is its variant's name.
        C::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
            Unreachable::CaAsServerCertificate
        }
        _ => Unreachable::CertificateInvalid,
    })
}

/// Whether a resolver's error says the name does not exist. Rust's standard library reports
/// getaddrinfo's failures with no error kind of their own, only the text
/// "failed to lookup address information: <gai_strerror>"; EAI_AGAIN ("Temporary failure in
/// name resolution": the DNS server did not answer) is transient and stays retried.
fn unknown_host(text: &str) -> bool {
    const NO_SUCH_NAME: &[&str] = &[
        "Name or service not known",           // glibc EAI_NONAME
        "No address associated with hostname", // glibc EAI_NODATA
        "nodename nor servname provided",      // BSD, macOS EAI_NONAME
        "Name does not resolve",               // musl EAI_NONAME
    ];
    text.contains("failed to lookup address information")
        && NO_SUCH_NAME.iter().any(|s| text.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::CertificateError as C;
    use std::sync::Arc;

    fn wrapped(cert: C) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(cert),
        )
    }

    /// An error that wraps another, as hyper's and reqwest's do.
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("client error (Connect)")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn each_certificate_problem_is_named_through_the_chain() {
        let cases = [
            (C::UnknownIssuer, Unreachable::UntrustedCertificate),
            (C::BadSignature, Unreachable::UntrustedCertificate),
            (C::Expired, Unreachable::CertificateExpired),
            (C::NotValidYet, Unreachable::CertificateExpired),
            (C::NotValidForName, Unreachable::CertificateName),
            (C::Revoked, Unreachable::CertificateInvalid),
        ];
        for (cert, want) in cases {
            let e = Outer(wrapped(cert));
            assert_eq!(cause(&e), Some(want), "{e:?}");
        }
    }

    #[test]
    fn the_connectors_double_wrapping_is_walked() {
        // As hyper's connector gives it: Other(InvalidData(rustls::Error)).
        let e = Outer(std::io::Error::other(wrapped(C::UnknownIssuer)));
        assert_eq!(cause(&e), Some(Unreachable::UntrustedCertificate));
    }

    #[test]
    fn a_ca_used_as_the_server_certificate_is_named() {
        #[derive(Debug)]
        struct CaUsedAsEndEntity;
        impl std::fmt::Display for CaUsedAsEndEntity {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("CaUsedAsEndEntity")
            }
        }
        impl Error for CaUsedAsEndEntity {}
        let other = rustls::OtherError(Arc::new(CaUsedAsEndEntity));
        let e = Outer(wrapped(C::Other(other)));
        assert_eq!(cause(&e), Some(Unreachable::CaAsServerCertificate));
    }

    #[test]
    fn a_name_that_does_not_exist_is_not_retried_but_a_resolver_timeout_is() {
        let gai = |detail: &str| {
            std::io::Error::other(format!("failed to lookup address information: {detail}"))
        };
        let e = Outer(gai("Name or service not known"));
        assert_eq!(cause(&e), Some(Unreachable::UnknownHost));
        let again = Outer(gai("Temporary failure in name resolution"));
        assert_eq!(cause(&again), None);
    }

    #[test]
    fn other_failures_stay_transient() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(cause(&Outer(refused)), None);
        let alert = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::HandshakeNotComplete,
        );
        assert_eq!(cause(&alert), None);
    }

    #[test]
    fn the_advice_says_how_to_trust_a_ca() {
        let advice = Unreachable::UntrustedCertificate.advice();
        assert!(advice.contains("SSL_CERT_FILE="), "{advice}");
        assert!(Unreachable::UnknownHost.advice().contains("[target] url"));
    }
}
