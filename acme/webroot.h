#pragma once
// http-01 by webroot (RFC 8555 §8.3): writes WEBROOT/.well-known/acme-challenge/TOKEN
// for a web server that already serves WEBROOT, and removes it afterwards.

#include <filesystem>
#include <vector>

#include "acme/issuance.h"

namespace ck::acme {

class WebrootSolver final : public ChallengeSolver {
 public:
  explicit WebrootSolver(std::filesystem::path webroot) : webroot_(std::move(webroot)) {}
  [[nodiscard]] std::string_view type() const override { return "http-01"; }
  [[nodiscard]] Status present(const Identifier& identifier, const Challenge& challenge,
                               const std::string& key_authorization) override;
  void cleanup(const Identifier& identifier, const Challenge& challenge) override;

 private:
  [[nodiscard]] std::filesystem::path token_path(const Challenge& challenge) const;
  std::filesystem::path webroot_;
  std::vector<std::filesystem::path> created_;  // folders it made, outermost first
};

}  // namespace ck::acme
