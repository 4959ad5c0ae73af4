#include "validator/probe/starttls.h"

#include <iterator>
#include <string>
#include <vector>

namespace ck::validator {
namespace {

// Complete lines (CRLF or LF ended) of `text`.
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::size_t end; (end = text.find('\n')) != std::string_view::npos;) {
    std::string_view line = text.substr(0, end);
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    lines.push_back(line);
    text.remove_prefix(end + 1);
  }
  return lines;
}

// SMTP (RFC 5321 §4.2): "250-..." continues, "250 ..." ends a reply.
StarttlsStep smtp(int step, std::string_view received) {
  static constexpr std::string_view kExpected[] = {"220", "250", "220"};
  static constexpr std::string_view kNext[] = {"EHLO certkeeper.invalid\r\n", "STARTTLS\r\n", ""};
  if (step < 0 || step >= static_cast<int>(std::size(kExpected))) {
    return {ReplyState::refused, "", false, "no SMTP step " + std::to_string(step)};
  }
  for (std::string_view line : lines_of(received)) {
    if (line.size() >= 4 && line[3] == '-') {
      continue;
    }
    const bool ok = line.starts_with(kExpected[step]);
    return {ok ? ReplyState::ok : ReplyState::refused, std::string(kNext[step]), ok && step == 2,
            std::string(line)};
  }
  return {};
}

// IMAP (RFC 3501 §7.1): the greeting "* OK", then "a1 OK" for STARTTLS.
StarttlsStep imap(int step, std::string_view received) {
  for (std::string_view line : lines_of(received)) {
    if (step == 0) {
      const bool ok = line.starts_with("* OK");
      return {ok ? ReplyState::ok : ReplyState::refused, "a1 STARTTLS\r\n", false,
              std::string(line)};
    }
    if (line.starts_with("a1 ")) {
      const bool ok = line.starts_with("a1 OK");
      return {ok ? ReplyState::ok : ReplyState::refused, "", ok, std::string(line)};
    }
  }
  return {};
}

// POP3 (RFC 2595 §4): "+OK" greeting, then "+OK" to STLS.
StarttlsStep pop3(int step, std::string_view received) {
  for (std::string_view line : lines_of(received)) {
    const bool ok = line.starts_with("+OK");
    return {ok ? ReplyState::ok : ReplyState::refused, step == 0 ? "STLS\r\n" : "", ok && step == 1,
            std::string(line)};
  }
  return {};
}

}  // namespace

Result<StarttlsProtocol> parse_starttls(std::string_view name) {
  if (name.empty())
    return StarttlsProtocol::none;
  if (name == "smtp")
    return StarttlsProtocol::smtp;
  if (name == "imap")
    return StarttlsProtocol::imap;
  if (name == "pop3")
    return StarttlsProtocol::pop3;
  return fail(Errc::invalid_argument,
              "unknown STARTTLS protocol \"" + std::string(name) + "\": use smtp, imap or pop3");
}

StarttlsStep starttls_step(StarttlsProtocol protocol, int step, std::string_view received) {
  switch (protocol) {
    case StarttlsProtocol::smtp: return smtp(step, received);
    case StarttlsProtocol::imap: return imap(step, received);
    case StarttlsProtocol::pop3: return pop3(step, received);
    default: return {ReplyState::ok, "", true, ""};
  }
}

}  // namespace ck::validator
