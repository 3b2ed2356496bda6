// tls.h: what TLS needs to know, for the `tls!host!port` and
// `tls!unix!/path` dial strings of every server and client.
//
// The files are named, not opened: the transport reads them when it
// listens or dials, so an unreadable key fails there with the file's name.
// TLS 1.3 only (OpenSSL), with one of two ways to authenticate:
//   certificates  the server shows --cert/--key, verified against the
//                 client's --ca (or the system's CAs); with --ca on the
//                 server every client must show a certificate it signed
//                 (mutual TLS), checked against --crl when given.
//   PSK           a pre-shared key file (TLS 1.3 external PSK), lines
//                 "KEY" or "USER KEY", KEY at least 32 hex digits.
// The authenticated identity (certificate CN, else its first DNS
// subjectAltName, else its first email subjectAltName; the PSK's USER) is
// the only 9P uname the connection may attach as; see
// man7/ninefold-security.7. No OpenSSL type appears here.
// Thread-safety: plain values.
#ifndef NINEP_TLS_H_
#define NINEP_TLS_H_

#include <cstdlib>
#include <string>
#include <vector>

namespace ninep {

// TLS file names, for a server (all) or a client (cert, key, ca, psk).
struct TlsOptions {
  std::string cert;  // PEM certificate (chain) shown to the peer
  std::string key;   // PEM private key of cert
  std::string ca;    // PEM CA certificates that sign the peer's certificate
  std::string crl;   // server: PEM certificate revocation list of the CA
  std::string psk;   // pre-shared key file
  // Client: the PSK identity to send when the key file's line names none
  // (the attach user). Ignored by servers.
  std::string psk_identity;

  // True when nothing is set (a client then falls back to the environment).
  bool empty() const {
    return cert.empty() && key.empty() && ca.empty() && crl.empty() && psk.empty();
  }
  // True when a server with these options authenticates its clients (a CA
  // to check client certificates, or a pre-shared key).
  bool AuthenticatesClients() const { return !ca.empty() || !psk.empty(); }
};

// The client options from $NINEP_CERT, $NINEP_KEY, $NINEP_CA, $NINEP_PSK.
// (Inline: both the transport and the command-line layer use it.)
inline TlsOptions TlsOptionsFromEnv() {
  auto env = [](const char* n) {
    const char* v = getenv(n);
    return std::string(v != nullptr ? v : "");
  };
  TlsOptions o;
  o.cert = env("NINEP_CERT");
  o.key = env("NINEP_KEY");
  o.ca = env("NINEP_CA");
  o.psk = env("NINEP_PSK");
  return o;
}

// Splits "alice,bob" into names; empty names are dropped.
inline std::vector<std::string> SplitUserList(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace ninep

#endif  // NINEP_TLS_H_
