#pragma once
// What `certkeeper verify` adds to the validator engine: the CRL cache over the
// inventory and state directory, revocation wiring, and the report formats.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/cli/cli.h"
#include "daemon/lifecycle/crl_cache.h"
#include "daemon/lifecycle/trust_anchors.h"
#include "validator/revocation.h"

namespace ck::daemon {

// read_certificates for the command-line option `what` ("--cert"), as the
// failure to report: a file that cannot be read is a usage error (exit 2), one
// that does not parse exits `unparseable_exit` (verify: 1, an invalid chain).
[[nodiscard]] std::expected<std::vector<validator::PreparedCertificate>, CommandFailure>
load_certificates(const std::string& path, const std::string& what, bool may_be_empty = false,
                  int unparseable_exit = kExitUsage);

// Checks revocation of the path by `method` (CRLs cached in the state directory
// when it can be opened), each fetch bounded by `fetch_timeout`, and adds the
// findings to `result`.
[[nodiscard]] std::vector<validator::RevocationCheck> check_chain_revocation(
    const CliContext& context, validator::ChainResult& result, validator::RevocationMethod method,
    bool soft_fail, std::int64_t at, std::chrono::seconds fetch_timeout);

[[nodiscard]] nlohmann::json verification_json(
    const validator::ChainResult& result, const std::vector<validator::RevocationCheck>& checks);
[[nodiscard]] std::string verification_text(const validator::ChainResult& result,
                                            const std::vector<validator::RevocationCheck>& checks);

}  // namespace ck::daemon
