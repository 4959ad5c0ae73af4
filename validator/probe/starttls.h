#pragma once
// The plaintext exchange before TLS on mail ports (RFC 3207 SMTP STARTTLS,
// RFC 3501 IMAP STARTTLS, RFC 2595 POP3 STLS), as a pure step function the
// handshake engine drives: given what the server has said so far, is its reply
// complete, and was it a yes?

#include <string>
#include <string_view>

#include "core/error.h"

namespace ck::validator {

enum class StarttlsProtocol { none, smtp, imap, pop3 };
[[nodiscard]] Result<StarttlsProtocol> parse_starttls(std::string_view name);

enum class ReplyState { incomplete, ok, refused };

struct StarttlsStep {
  ReplyState state = ReplyState::incomplete;
  std::string send;    // what to send next when the reply was ok ("" = nothing)
  bool ready = false;  // ok, and TLS starts now
  std::string reply;   // the reply's last line, for errors
};

// Step `step` (0 = the greeting) of `protocol`, given the server's text since
// the previous step.
[[nodiscard]] StarttlsStep starttls_step(StarttlsProtocol protocol, int step,
                                         std::string_view received);

}  // namespace ck::validator
