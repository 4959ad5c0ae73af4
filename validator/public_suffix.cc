#include "validator/public_suffix.h"

#include <libpsl.h>

#include <string>

namespace ck::validator {

void PublicSuffixList::Free::operator()(psl_ctx_st* ctx) const {
  psl_free(ctx);
}

PublicSuffixList::PublicSuffixList() : psl_(psl_latest(nullptr)) {}

bool PublicSuffixList::is_public_suffix(std::string_view name) const {
  // Without a list every name is treated as a suffix: wildcards then match nothing.
  const psl_ctx_t* list = psl_ ? psl_.get() : psl_builtin();
  if (!list) {
    return true;
  }
  const std::string text(name);
  return psl_is_public_suffix2(list, text.c_str(), PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
}

}  // namespace ck::validator
