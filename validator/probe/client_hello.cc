#include "validator/probe/client_hello.h"

#include <algorithm>

namespace ck::validator {
namespace {

// A growing message whose length prefixes are filled in once their contents are known.
class Writer {
 public:
  void u8(unsigned value) { out_.push_back(static_cast<char>(value & 0xff)); }
  void u16(unsigned value) {
    u8(value >> 8);
    u8(value);
  }
  void u24(unsigned value) {
    u8(value >> 16);
    u16(value & 0xffff);
  }
  void bytes(std::span<const unsigned char> data) { out_.append(data.begin(), data.end()); }
  void text(const std::string& data) { out_ += data; }
  // Opens a length prefix of `width` bytes; close() fills it.
  std::size_t open(int width) {
    const std::size_t at = out_.size();
    out_.append(static_cast<std::size_t>(width), '\0');
    widths_.push_back(width);
    return at;
  }
  void close(std::size_t at) {
    const int width = widths_.back();
    widths_.pop_back();
    std::size_t length = out_.size() - at - static_cast<std::size_t>(width);
    for (int i = width - 1; i >= 0; --i, length >>= 8) {
      out_[at + static_cast<std::size_t>(i)] = static_cast<char>(length & 0xff);
    }
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::vector<int> widths_;
};

struct Group {
  std::uint16_t id;
  const char* name;
};
constexpr Group kGroups[] = {
    {0x11EC, "X25519MLKEM768"}, {0x001D, "x25519"},    {0x0017, "secp256r1"}, {0x0018, "secp384r1"},
    {0x0019, "secp521r1"},      {0x001E, "x448"},      {0x0100, "ffdhe2048"}, {0x0101, "ffdhe3072"},
    {0x0102, "ffdhe4096"},      {0x0103, "ffdhe6144"}, {0x0104, "ffdhe8192"},
};

// Everything a TLS 1.2 server may sign with (RFC 8446 §4.2.3, RFC 5246 §7.4.1.4.1).
constexpr std::uint16_t kSignatureAlgorithms[] = {
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B,
    0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0203, 0x0201, 0x0202};

void extension(Writer& w, unsigned type, auto&& body) {
  w.u16(type);
  const auto at = w.open(2);
  body();
  w.close(at);
}

}  // namespace

std::vector<std::uint16_t> all_named_groups() {
  std::vector<std::uint16_t> ids;
  for (const Group& g : kGroups) {
    ids.push_back(g.id);
  }
  return ids;
}

std::string group_name(std::uint16_t group) {
  for (const Group& g : kGroups) {
    if (g.id == group) {
      return g.name;
    }
  }
  char text[8];
  std::snprintf(text, sizeof text, "0x%04X", group);
  return text;
}

std::uint16_t group_id(std::string_view name) {
  for (const Group& g : kGroups) {
    if (g.name == name) {
      return g.id;
    }
  }
  return 0;
}

std::string build_client_hello(const HelloOffer& offer, std::span<const unsigned char, 32> random) {
  const bool tls13 = offer.version >= 0x0304;
  const bool extensions = offer.version >= 0x0301;  // SSL 3.0 servers may choke on them
  Writer w;
  w.u8(22);                                          // handshake record
  w.u16(offer.version == 0x0300 ? 0x0300 : 0x0301);  // what old servers expect of a first record
  const auto record = w.open(2);
  w.u8(1);  // client_hello
  const auto message = w.open(3);
  w.u16(std::min<std::uint16_t>(offer.version, 0x0303));  // legacy_version
  w.bytes(random);
  w.u8(0);  // no session to resume
  const auto suites = w.open(2);
  for (std::uint16_t suite : offer.suites) {
    w.u16(suite);
  }
  w.close(suites);
  w.u8(1);  // compression: null only
  w.u8(0);
  if (extensions) {
    const auto all = w.open(2);
    if (!offer.server_name.empty()) {
      extension(w, 0x0000, [&] {
        const auto list = w.open(2);
        w.u8(0);  // host_name
        const auto name = w.open(2);
        w.text(offer.server_name);
        w.close(name);
        w.close(list);
      });
    }
    if (!offer.groups.empty()) {
      extension(w, 0x000A, [&] {
        const auto list = w.open(2);
        for (std::uint16_t g : offer.groups) {
          w.u16(g);
        }
        w.close(list);
      });
      extension(w, 0x000B, [&] {  // ec_point_formats: uncompressed
        w.u8(1);
        w.u8(0);
      });
    }
    if (offer.version >= 0x0303) {
      extension(w, 0x000D, [&] {
        const auto list = w.open(2);
        for (std::uint16_t s : kSignatureAlgorithms) {
          w.u16(s);
        }
        w.close(list);
      });
    }
    extension(w, 0x0017, [] {});             // extended_master_secret
    extension(w, 0xFF01, [&] { w.u8(0); });  // renegotiation_info: a first handshake
    if (tls13) {
      extension(w, 0x002B, [&] {  // supported_versions: TLS 1.3 only
        w.u8(2);
        w.u16(0x0304);
      });
      extension(w, 0x002D, [&] {  // psk_key_exchange_modes: psk_dhe_ke
        w.u8(1);
        w.u8(1);
      });
      extension(w, 0x0033, [&] { w.u16(0); });  // key_share: none, so ask for one
    }
    w.close(all);
  }
  w.close(message);
  w.close(record);
  return w.take();
}

std::string build_sslv2_client_hello(std::span<const std::uint32_t> ciphers,
                                     std::span<const unsigned char, 16> challenge) {
  Writer body;
  body.u8(1);                                           // CLIENT-HELLO
  body.u16(0x0002);                                     // SSL 2.0
  body.u16(static_cast<unsigned>(ciphers.size() * 3));  // cipher specs
  body.u16(0);                                          // no session id
  body.u16(static_cast<unsigned>(challenge.size()));
  for (std::uint32_t c : ciphers) {
    body.u24(c);
  }
  body.bytes(challenge);
  const std::string message = body.take();
  Writer w;
  w.u16(0x8000 | static_cast<unsigned>(message.size()));  // a 2-byte header, no padding
  w.text(message);
  return w.take();
}

Sslv2Reading read_sslv2_server_hello(std::span<const unsigned char> bytes) {
  Sslv2Reading r;
  if (bytes.size() < 2) {
    return r;
  }
  if ((bytes[0] & 0x80) == 0) {
    r.kind = Sslv2Reading::Kind::refused;  // a TLS record (an alert) or nothing of SSL 2.0
    return r;
  }
  const std::size_t length = (std::size_t{bytes[0]} & 0x7f) << 8 | bytes[1];
  if (bytes.size() < 2 + length) {
    return r;
  }
  auto m = bytes.subspan(2, length);
  auto malformed = [&](const char* what) {
    r.kind = Sslv2Reading::Kind::malformed;
    r.problem = what;
    return r;
  };
  if (!m.empty() && m[0] == 0) {  // an SSL 2.0 ERROR: no cipher in common
    r.kind = Sslv2Reading::Kind::refused;
    return r;
  }
  if (m.empty() || m[0] != 4) {
    return malformed("not an SSL 2.0 SERVER-HELLO");
  }
  if (m.size() < 11) {
    return malformed("SSL 2.0 SERVER-HELLO too short");
  }
  const std::size_t certificate = std::size_t{m[5]} << 8 | m[6];
  const std::size_t specs = std::size_t{m[7]} << 8 | m[8];
  const std::size_t connection_id = std::size_t{m[9]} << 8 | m[10];
  if (specs % 3 != 0 || 11 + certificate + specs + connection_id > m.size()) {
    return malformed("SSL 2.0 SERVER-HELLO lengths do not add up");
  }
  for (std::size_t at = 11 + certificate; at < 11 + certificate + specs; at += 3) {
    r.ciphers.push_back(std::uint32_t{m[at]} << 16 | std::uint32_t{m[at + 1]} << 8 | m[at + 2]);
  }
  r.kind = Sslv2Reading::Kind::hello;
  return r;
}

}  // namespace ck::validator
