#pragma once
// The Public Suffix List through libpsl: the newest of its built-in list and
// Debian's /usr/share/publicsuffix copy.

#include <memory>

#include "validator/rules.h"

struct psl_ctx_st;

namespace ck::validator {

class PublicSuffixList final : public PublicSuffixes {
 public:
  PublicSuffixList();
  [[nodiscard]] bool is_public_suffix(std::string_view name) const override;

 private:
  struct Free {
    void operator()(psl_ctx_st* ctx) const;
  };
  std::unique_ptr<psl_ctx_st, Free> psl_;
};

}  // namespace ck::validator
