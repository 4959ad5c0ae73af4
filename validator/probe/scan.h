#pragma once
// `probe --scan`: which protocol versions and cipher suites a server accepts,
// and its preference among them. Each version's candidate ciphers are offered
// in groups of eight and peeled (offer, take the server's choice out, offer the
// rest) until refused; the same offer forwards and reversed tells whose order
// counts, and a server's own order is peeled too. All of a step's handshakes,
// for every version, run at once through the handshake engine over one TLS
// context. Weak ciphers and legacy protocols become findings.

#include <string>
#include <vector>

#include "validator/probe/handshake.h"
#include "validator/probe/probe.h"

namespace ck::validator {

// What a cipher suite is made of, as OpenSSL describes it.
struct CipherTraits {
  std::string name;
  int key_exchange_nid = NID_undef;    // NID_kx_rsa: no forward secrecy
  int authentication_nid = NID_undef;  // NID_auth_null: anonymous
  int cipher_nid = NID_undef;          // NID_undef: no encryption
  bool cbc = false;                    // a block cipher in CBC mode (MAC-then-encrypt)
};
[[nodiscard]] CipherTraits traits_of(const SSL_CIPHER& cipher);

// Pure: the finding a cipher earns, if any. NULL, EXPORT, anonymous and RC4
// are errors; 3DES and key exchange without forward secrecy are warnings.
[[nodiscard]] std::optional<ProbeFinding> cipher_weakness(const CipherTraits& cipher);

struct VersionScan {
  std::string version;  // "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "SSLv3", "SSLv2"
  // "accepted", "refused", "undecided" (nothing accepted, and not every offer
  // answered), "not testable"
  std::string state;
  std::vector<std::string> ciphers;    // accepted: in the server's order when it has one
  std::vector<std::string> undecided;  // offered, never answered either way
  bool server_preference = false;
  bool preference_undecided = false;  // the order test went unanswered
};

struct ScanReport {
  std::vector<VersionScan> versions;
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
