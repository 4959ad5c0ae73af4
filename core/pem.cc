#include "core/pem.h"

#include <openssl/pem.h>

#include <optional>

#include "core/base64.h"

namespace ck {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";

// Reads the label of a "-----BEGIN X-----" / "-----END X-----" line, or "".
std::string_view boundary_label(std::string_view line, std::string_view prefix) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  if (!line.starts_with(prefix) || !line.ends_with(kDashes) ||
      line.size() < prefix.size() + kDashes.size()) {
    return {};
  }
  return line.substr(prefix.size(), line.size() - prefix.size() - kDashes.size());
}

std::string where(std::size_t index, const PemBlock& block) {
  return "block " + std::to_string(index + 1) + " (" + block.label + ", line " +
         std::to_string(block.line) + ")";
}

// A line "Name: value" before the body is an RFC 1421 header.
bool is_header_line(std::string_view line) {
  return line.find(':') != std::string_view::npos;
}

Result<ossl::X509Ptr> parse_certificate_block(const PemBlock& block, CertificateCache* cache) {
  if (block.label == "TRUSTED CERTIFICATE") {
    const auto* p = reinterpret_cast<const unsigned char*>(block.der.data());
    ossl::X509Ptr cert(d2i_X509_AUX(nullptr, &p, static_cast<long>(block.der.size())));
    if (!cert) {
      return std::unexpected(ossl::error(Errc::parse, "not a valid X.509 certificate"));
    }
    return cert;
  }
  return cache ? cache->parse(block.der) : ossl::x509_from_der(block.der);
}

Result<ossl::PKey> parse_key_block(const PemBlock& block) {
  if (block.encrypted || block.label == "ENCRYPTED PRIVATE KEY") {
    return fail(Errc::unsupported,
                "encrypted private key; certkeeper needs an unencrypted key file (mode 0600)");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(block.der.data());
  ossl::PKey key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(block.der.size())));
  if (!key) {
    return std::unexpected(ossl::error(Errc::parse, "not a valid private key"));
  }
  return key;
}

bool is_certificate_label(std::string_view label) {
  return label == "CERTIFICATE" || label == "X509 CERTIFICATE" || label == "TRUSTED CERTIFICATE";
}

bool is_private_key_label(std::string_view label) {
  return label == "PRIVATE KEY" || label == "RSA PRIVATE KEY" || label == "EC PRIVATE KEY" ||
         label == "ENCRYPTED PRIVATE KEY";
}

Result<PemBundle> parse_der_certificate(std::string_view data) {
  if (data.empty() || static_cast<unsigned char>(data.front()) != 0x30) {
    return fail(Errc::parse, "neither PEM (no -----BEGIN line) nor DER");
  }
  auto cert = ossl::x509_from_der(data);
  if (!cert) {
    return fail(Errc::parse, "no PEM block, and the DER does not parse as a certificate (" +
                                 cert.error().message + ")");
  }
  PemBundle bundle;
  bundle.certificates.push_back(std::move(*cert));
  return bundle;
}

}  // namespace

Result<std::vector<PemBlock>> parse_pem_blocks(std::string_view text) {
  std::vector<PemBlock> blocks;
  std::optional<PemBlock> open;
  std::string body;
  bool in_headers = false;
  int line_number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    ++line_number;
    if (!open) {
      if (std::string_view label = boundary_label(line, kBegin); !label.empty()) {
        open = PemBlock{std::string(label), {}, line_number, false};
        body.clear();
        in_headers = true;
      }
      continue;
    }
    if (std::string_view label = boundary_label(line, kEnd); !label.empty()) {
      if (label != open->label) {
        return fail(Errc::parse, "line " + std::to_string(line_number) + ": END " +
                                     std::string(label) + " does not match BEGIN " + open->label +
                                     " on line " + std::to_string(open->line));
      }
      auto der = base64_decode(body);
      if (!der) {
        return fail(Errc::parse, where(blocks.size(), *open) + ": " + der.error().message);
      }
      if (der->empty()) {
        return fail(Errc::parse, where(blocks.size(), *open) + ": empty body");
      }
      open->der = std::move(*der);
      blocks.push_back(std::move(*open));
      open.reset();
      continue;
    }
    if (!boundary_label(line, kBegin).empty()) {
      return fail(Errc::parse, "line " + std::to_string(line_number) + ": BEGIN inside " +
                                   open->label + " block opened on line " +
                                   std::to_string(open->line) + " (truncated block?)");
    }
    if (in_headers && is_header_line(line)) {
      open->encrypted = open->encrypted || line.find("ENCRYPTED") != std::string_view::npos;
      continue;
    }
    in_headers = false;
    body.append(line);
  }
  if (open) {
    return fail(Errc::parse, "truncated: BEGIN " + open->label + " on line " +
                                 std::to_string(open->line) + " has no END line");
  }
  return blocks;
}

Result<ossl::X509Ptr> CertificateCache::parse(std::string_view der) {
  if (auto it = cas_.find(std::string(der)); it != cas_.end()) {
    X509_up_ref(it->second.get());
    return ossl::X509Ptr(it->second.get());
  }
  CK_TRY(cert, ossl::x509_from_der(der));
  if ((X509_get_extension_flags(cert.get()) & EXFLAG_CA) != 0 && cas_.size() < capacity_) {
    X509_up_ref(cert.get());
    cas_.emplace(std::string(der), ossl::X509Ptr(cert.get()));
  }
  return cert;
}

Result<PemBundle> parse_pem_bundle(std::string_view data, CertificateCache* cache) {
  if (data.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return fail(Errc::parse, "empty file");
  }
  if (data.find(kBegin) == std::string_view::npos) {
    return parse_der_certificate(data);
  }
  CK_TRY(blocks, parse_pem_blocks(data));
  PemBundle bundle;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const PemBlock& block = blocks[i];
    if (is_certificate_label(block.label)) {
      auto cert = parse_certificate_block(block, cache);
      if (!cert) {
        return fail(Errc::parse, where(i, block) + ": " + cert.error().message);
      }
      bundle.certificates.push_back(std::move(*cert));
    } else if (is_private_key_label(block.label)) {
      auto key = parse_key_block(block);
      if (!key) {
        return fail(key.error().code, where(i, block) + ": " + key.error().message);
      }
      bundle.keys.push_back(std::move(*key));
    } else {
      bundle.ignored_labels.push_back(block.label);
    }
  }
  if (bundle.certificates.empty() && bundle.keys.empty()) {
    return fail(Errc::parse, "no certificate or private key in the file");
  }
  return bundle;
}

Result<std::string> certificate_to_pem(const X509& cert) {
  ossl::Bio out = ossl::output_bio();
  if (!out || PEM_write_bio_X509(out.get(), &cert) != 1) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot encode certificate as PEM"));
  }
  return ossl::bio_contents(out.get());
}

}  // namespace ck
