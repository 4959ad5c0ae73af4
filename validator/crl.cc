#include "validator/crl.h"

#include <openssl/err.h>

#include <algorithm>
#include <limits>
#include <random>

#include "core/x509_info.h"
#include "validator/der.h"

namespace ck::validator {
namespace {

// DER content octets of the OIDs certkeeper looks for (2.5.29.x).
constexpr std::string_view kOidCrlNumber = "\x55\x1d\x14";
constexpr std::string_view kOidReasonCode = "\x55\x1d\x15";
constexpr std::string_view kOidDeltaCrlIndicator = "\x55\x1d\x1b";
constexpr std::string_view kOidIssuingDistributionPoint = "\x55\x1d\x1c";
constexpr std::string_view kOidCertificateIssuer = "\x55\x1d\x1d";
constexpr std::string_view kOidAuthorityKeyId = "\x55\x1d\x23";
constexpr std::string_view kOidFreshestCrl = "\x55\x1d\x2e";

std::string_view strip_leading_zeros(std::string_view serial) {
  while (serial.size() > 1 && serial.front() == '\0') {
    serial.remove_prefix(1);
  }
  return serial;
}

struct Extension {
  std::string_view oid;
  bool critical = false;
  std::string_view value;  // the OCTET STRING's content
};

Result<Extension> read_extension(der::Reader& list) {
  CK_TRY(seq, list.expect(der::kSequence, "an Extension"));
  der::Reader r(seq.content);
  CK_TRY(oid, r.expect(der::kOid, "an extension OID"));
  Extension ext{oid.content, false, {}};
  if (r.peek() == der::kBoolean) {
    CK_TRY(critical, r.next());
    ext.critical = critical.content == "\xff";
  }
  CK_TRY(value, r.expect(der::kOctetString, "an extension value"));
  ext.value = value.content;
  return ext;
}

}  // namespace

std::string_view crl_reason_name(int reason) {
  switch (reason) {
    case 1: return "keyCompromise";
    case 2: return "cACompromise";
    case 3: return "affiliationChanged";
    case 4: return "superseded";
    case 5: return "cessationOfOperation";
    case 6: return "certificateHold";
    case 8: return "removeFromCRL";
    case 9: return "privilegeWithdrawn";
    case 10: return "aACompromise";
    default: return "unspecified";
  }
}

std::string serial_octets(std::string_view hex) {
  std::string out;
  if (hex.size() % 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(0, 1)), nullptr, 16)));
    hex.remove_prefix(1);
  }
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return std::string(strip_leading_zeros(out));
}

Result<std::shared_ptr<const Crl>> Crl::parse(std::string der) {
  std::shared_ptr<Crl> crl(new Crl());
  crl->der_ = std::move(der);
  der::Reader outer(crl->der_);
  CK_TRY(list, outer.expect(der::kSequence, "a CertificateList SEQUENCE"));
  if (!outer.empty()) {
    return fail(Errc::parse, "trailing bytes after the CRL");
  }
  der::Reader r(list.content);
  CK_TRY(tbs, r.expect(der::kSequence, "tbsCertList"));
  CK_TRY(algorithm, r.expect(der::kSequence, "signatureAlgorithm"));
  CK_TRY(signature, r.expect(der::kBitString, "signatureValue"));
  if (!r.empty() || signature.content.empty() || signature.content[0] != 0) {
    return fail(Errc::parse, "malformed signatureValue or trailing fields");
  }
  crl->tbs_ = tbs.encoding;
  crl->algorithm_ = algorithm.encoding;
  crl->signature_ = signature.content.substr(1);
  CK_TRY_STATUS(crl->parse_tbs(tbs.content));
  if (crl->inner_algorithm_ != crl->algorithm_) {
    return fail(Errc::parse, "signatureAlgorithm differs from tbsCertList.signature");
  }
  return std::shared_ptr<const Crl>(std::move(crl));
}

// RFC 5280 §5.1.2.
Status Crl::parse_tbs(std::string_view tbs) {
  der::Reader r(tbs);
  if (r.peek() == der::kInteger) {
    CK_TRY(version, r.next());
    if (version.content != std::string_view("\x01", 1)) {
      return fail(Errc::parse, "unsupported CRL version");
    }
  }
  CK_TRY(inner, r.expect(der::kSequence, "tbsCertList.signature"));
  inner_algorithm_ = inner.encoding;
  CK_TRY(issuer, r.expect(der::kSequence, "the issuer Name"));
  const auto* name = reinterpret_cast<const unsigned char*>(issuer.encoding.data());
  issuer_.reset(d2i_X509_NAME(nullptr, &name, static_cast<long>(issuer.encoding.size())));
  if (!issuer_) {
    return std::unexpected(ossl::error(Errc::parse, "malformed CRL issuer name"));
  }
  CK_TRY(this_update, r.next());
  CK_TRY(this_time, der::parse_time(this_update));
  this_update_ = this_time;
  if (r.peek() == der::kUtcTime || r.peek() == der::kGeneralizedTime) {
    CK_TRY(next_update, r.next());
    CK_TRY(next_time, der::parse_time(next_update));
    next_update_ = next_time;
  }
  if (r.peek() == der::kSequence) {
    CK_TRY(revoked, r.next());
    CK_TRY_STATUS(parse_entries(revoked.content));
  }
  if (r.peek() == der::context_constructed(0)) {
    CK_TRY(wrapper, r.next());
    der::Reader extensions(wrapper.content);
    CK_TRY(list, extensions.expect(der::kSequence, "crlExtensions"));
    CK_TRY_STATUS(parse_extensions(list.content));
  }
  if (!r.empty()) {
    return fail(Errc::parse, "unexpected fields at the end of tbsCertList");
  }
  return {};
}

// RFC 5280 §5.2: the extensions certkeeper acts on; any other critical one,
// or a kind of CRL it does not handle, makes the CRL unusable.
Status Crl::parse_extensions(std::string_view extensions) {
  der::Reader r(extensions);
  while (!r.empty()) {
    CK_TRY(ext, read_extension(r));
    if (ext.oid == kOidCrlNumber) {
      der::Reader value(ext.value);
      CK_TRY(number, value.expect(der::kInteger, "a CRL number"));
      crl_number_hex_ = ossl::hex(strip_leading_zeros(number.content));
    } else if (ext.oid == kOidIssuingDistributionPoint) {
      der::Reader value(ext.value);
      CK_TRY(idp, value.expect(der::kSequence, "an issuingDistributionPoint"));
      der::Reader fields(idp.content);
      while (!fields.empty()) {
        CK_TRY(field, fields.next());
        const bool set = field.content == "\xff";
        if (field.tag == der::context_primitive(1)) {
          only_user_certs_ = set;
        } else if (field.tag == der::context_primitive(2)) {
          only_ca_certs_ = set;
        } else if (field.tag == der::context_primitive(3) ||
                   (field.tag == der::context_primitive(4) && set)) {
          return fail(Errc::unsupported, "partial-reason and indirect CRLs are not supported");
        }
      }
    } else if (ext.oid == kOidDeltaCrlIndicator) {
      return fail(Errc::unsupported, "delta CRLs are not supported");
    } else if (ext.critical && ext.oid != kOidAuthorityKeyId && ext.oid != kOidFreshestCrl) {
      return fail(Errc::unsupported, "the CRL has a critical extension that is not understood");
    }
  }
  return {};
}

// RFC 5280 §5.1.2.6 revokedCertificates and §5.3 entry extensions.
Status Crl::parse_entries(std::string_view revoked) {
  der::Reader r(revoked);
  while (!r.empty()) {
    CK_TRY(entry, r.expect(der::kSequence, "a revoked certificate entry"));
    der::Reader fields(entry.content);
    CK_TRY(serial, fields.expect(der::kInteger, "userCertificate"));
    CK_TRY(date, fields.next());
    CK_TRY(when, der::parse_time(date));
    RevokedEntry e{strip_leading_zeros(serial.content), when, -1};
    if (fields.peek() == der::kSequence) {
      CK_TRY(list, fields.next());
      der::Reader extensions(list.content);
      while (!extensions.empty()) {
        CK_TRY(ext, read_extension(extensions));
        if (ext.oid == kOidReasonCode) {
          der::Reader value(ext.value);
          CK_TRY(reason, value.expect(der::kEnumerated, "a reasonCode"));
          CK_TRY(code, der::parse_small_integer(reason));
          e.reason = static_cast<int>(code);
        } else if (ext.oid == kOidCertificateIssuer) {
          return fail(Errc::unsupported, "indirect CRLs are not supported");
        } else if (ext.critical) {
          return fail(Errc::unsupported, "a CRL entry has a critical extension not understood");
        }
      }
    }
    entries_.push_back(e);
  }
  if (entries_.size() >= std::numeric_limits<std::uint32_t>::max() / 4) {
    return fail(Errc::too_large, "too many CRL entries");
  }
  build_index();
  return {};
}

std::size_t Crl::home_slot(std::string_view serial) const {
  std::uint64_t h = seed_ ^ serial.size();
  for (char c : serial) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;  // FNV-1a step
  }
  // Fibonacci hashing: the top slot_bits_ bits of the product.
  return static_cast<std::size_t>((h * 0x9e3779b97f4a7c15ULL) >> (64 - slot_bits_));
}

void Crl::build_index() {
  slot_bits_ = 4;
  while ((std::size_t{1} << slot_bits_) < entries_.size() * 2) {
    ++slot_bits_;
  }
  const std::size_t size = std::size_t{1} << slot_bits_;
  seed_ = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  slots_.assign(size, 0);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    std::size_t slot = home_slot(entries_[i].serial);
    while (slots_[slot] != 0) {
      slot = (slot + 1) & (size - 1);
    }
    slots_[slot] = static_cast<std::uint32_t>(i + 1);
  }
}

const RevokedEntry* Crl::find(std::string_view serial) const {
  serial = strip_leading_zeros(serial);
  if (slots_.empty()) {
    return nullptr;
  }
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t slot = home_slot(serial); slots_[slot] != 0; slot = (slot + 1) & mask) {
    const RevokedEntry& e = entries_[slots_[slot] - 1];
    if (e.serial == serial) {
      return &e;
    }
  }
  return nullptr;
}

std::string Crl::issuer_text() const {
  return name_to_string(issuer_.get());
}

Status Crl::verify_issued_by(const X509& issuer) const {
  if (X509_NAME_cmp(issuer_.get(), X509_get_subject_name(&issuer)) != 0) {
    return fail(Errc::crypto, "the CRL's issuer is not the certificate's issuer");
  }
  X509* mutable_issuer = const_cast<X509*>(&issuer);  // extension flags are cached
  if ((X509_get_extension_flags(mutable_issuer) & EXFLAG_KUSAGE) &&
      (X509_get_key_usage(mutable_issuer) & KU_CRL_SIGN) == 0) {
    return fail(Errc::crypto, "the CRL's issuer may not sign CRLs (no cRLSign key usage)");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(algorithm_.data());
  std::unique_ptr<X509_ALGOR, ossl::Deleter<X509_ALGOR_free>> algorithm(
      d2i_X509_ALGOR(nullptr, &p, static_cast<long>(algorithm_.size())));
  int digest_nid = NID_undef;
  int key_nid = NID_undef;
  const int algorithm_nid = algorithm ? OBJ_obj2nid(algorithm->algorithm) : NID_undef;
  if (algorithm_nid == NID_rsassaPss ||
      OBJ_find_sigid_algs(algorithm_nid, &digest_nid, &key_nid) != 1) {
    return std::unexpected(ossl::error(Errc::unsupported, "unsupported CRL signature algorithm"));
  }
  const EVP_MD* digest = digest_nid == NID_undef ? nullptr : EVP_get_digestbynid(digest_nid);
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY* key = X509_get0_pubkey(&issuer);
  if (!ctx || !key || EVP_DigestVerifyInit(ctx.get(), nullptr, digest, nullptr, key) != 1) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot check the CRL signature"));
  }
  const int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature_.data()), signature_.size(),
      reinterpret_cast<const unsigned char*>(tbs_.data()), tbs_.size());
  ERR_clear_error();
  if (ok != 1) {
    return fail(Errc::crypto, "the CRL's signature does not verify with its issuer's key");
  }
  return {};
}

bool Crl::covers(const CertificateFacts& cert) const {
  return !(only_user_certs_ && cert.is_ca) && !(only_ca_certs_ && !cert.is_ca);
}

}  // namespace ck::validator
