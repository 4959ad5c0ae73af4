#pragma once
// The certificates the validator's tests make, with fixed dates around kT0:
// a CA valid for years, a leaf for 90 days, each changed case by case.

#include <string>
#include <vector>

#include "core/x509_build.h"
#include "tests/support/test_support.h"

namespace ck::test {

inline CertificateSpec ca_spec(const std::string& cn, int path_length = -1) {
  CertificateSpec spec;
  spec.common_name = cn;
  spec.organization = "certkeeper validator tests";
  spec.is_ca = true;
  spec.path_length = path_length;
  spec.not_before = kT0 - 365 * kDay;
  spec.not_after = kT0 + 5 * 365 * kDay;
  return spec;
}

// Its common name is its first DNS name.
inline CertificateSpec leaf_spec(std::vector<std::string> dns_names) {
  CertificateSpec spec;
  spec.common_name = dns_names.empty() ? "no-name" : dns_names.front();
  spec.dns_names = std::move(dns_names);
  spec.not_before = kT0 - kDay;
  spec.not_after = kT0 + 89 * kDay;
  return spec;
}

}  // namespace ck::test
