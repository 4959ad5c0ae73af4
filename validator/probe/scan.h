#pragma once
// `probe --scan`: which protocol versions, cipher suites and named groups a
// server accepts, and its preference among the suites. Every ClientHello is
// our own (client_hello.h), so any suite of the IANA registry is offered at
// any version from SSL 3.0 to TLS 1.3, and SSL 2.0 by its own hello, whatever
// the local OpenSSL implements; only the server's first answer is read. Each
// version's suites are offered in groups and peeled (offer, take the server's
// choice out, offer the rest) until refused; the same offer forwards and
// reversed tells whose order counts, and a server's own order is peeled too.
// All of a step's handshakes, for every version, run at once through the
// handshake engine. An offer never answered is undecided, never refused.

#include <optional>
#include <string>
#include <vector>

#include "validator/probe/cipher_suites.h"
#include "validator/probe/handshake.h"
#include "validator/probe/probe.h"

namespace ck::validator {

// Pure: the finding a suite earns, if any. NULL, export-grade, anonymous,
// RC4, single DES and RC2 are errors; 3DES and IDEA (64-bit blocks) and key
// exchange without forward secrecy are warnings.
[[nodiscard]] std::optional<ProbeFinding> cipher_weakness(const CipherTraits& cipher);

struct ScannedSuite {
  std::string name;     // IANA
  std::string openssl;  // OpenSSL's name, "" when it has none
};

struct VersionScan {
  std::string version;  // "SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"
  // "accepted", "refused", "undecided" (nothing accepted, and not every offer answered)
  std::string state;
  std::vector<ScannedSuite> ciphers;   // accepted: in the server's order when it has one
  std::vector<std::string> undecided;  // offered, never answered either way (IANA names)
  bool server_preference = false;
  bool preference_undecided = false;  // the order test went unanswered
};

struct ScanReport {
  std::vector<VersionScan> versions;
  // The groups the server takes, each offered alone, in the order offered;
  // `preferred_group` is the one it chooses when offered all. Read from TLS
  // 1.3's HelloRetryRequest, or else from the ServerKeyExchange of the highest
  // version with an ECDHE or DHE suite (a finite-field group is known there by
  // its prime; a prime of no RFC 7919 group is not listed); `groups_from` says
  // which, "" when neither applies (no TLS 1.3, no ECDHE or DHE suite).
  std::vector<std::string> groups;
  std::string preferred_group;
  std::string groups_from;  // "TLSv1.3", "TLSv1.2"...
  std::vector<ProbeFinding> findings;
  int handshakes = 0;    // retries included
  bool complete = true;  // every offer was answered (accepted or refused)
  double elapsed_ms = 0;
};

// How a scan handshake ended. A timeout, a reset or a connection closed
// before the ServerHello tell nothing of the offer: undecided (and retried),
// never refused.
enum class OfferAnswer { chosen, refused, undecided };
[[nodiscard]] OfferAnswer answer_of(const HandshakeOutcome& outcome);

// Pure: the findings of a version's accepted suites beyond each suite's own
// weakness: the CBC suites it accepts (obsolete, info), and a weak suite as
// the server's first choice (warning).
[[nodiscard]] std::vector<ProbeFinding> version_findings(const VersionScan& version,
                                                         const std::vector<CipherTraits>& accepted);

// Scans the endpoint `connection` reaches (its context, address, SNI, STARTTLS
// and timeout; a probe's, from Prober::connection_of); what it offers is the
// scan's own. `clock` bounds and measures its handshakes.
[[nodiscard]] Result<ScanReport> scan_endpoint(const HandshakeSetup& connection,
                                               const Clock& clock);

}  // namespace ck::validator
