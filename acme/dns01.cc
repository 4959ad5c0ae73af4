#include "acme/dns01.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "acme/listener.h"
#include "core/base64.h"
#include "core/host_port.h"
#include "core/openssl.h"
#include "core/subprocess.h"

extern char** environ;

namespace ck::acme {
namespace {

using Clock = std::chrono::steady_clock;

// Runs the operator's hook; anything but exit 0 in time is a failure.
Status run_hook(const std::vector<std::string>& argv, const std::vector<std::string>& extra,
                std::chrono::seconds timeout) {
  auto run = run_program(argv, extra, timeout);
  if (!run) {
    return fail(run.error().within("the dns hook (" + argv[1] + ")"));
  }
  if (run->exit_code != 0) {
    return fail(Errc::io,
                "the dns hook failed (" + argv[1] + ", exit " + std::to_string(run->exit_code) +
                    (run->output.empty() ? "" : ": " + run->output.substr(0, 500)) + ")",
                argv[0]);
  }
  return {};
}

std::vector<std::string> hook_environment(const std::string& action, const std::string& domain,
                                          const std::string& value) {
  return {"CERTKEEPER_DNS_ACTION=" + action, "CERTKEEPER_DNS_DOMAIN=" + domain,
          "CERTKEEPER_DNS_RECORD=_acme-challenge." + domain + ".", "CERTKEEPER_DNS_VALUE=" + value};
}

std::string bare_domain(const Identifier& identifier) {
  std::string_view d = identifier.value;
  return std::string(d.starts_with("*.") ? d.substr(2) : d);
}

// Points a resolver state at one "ADDR[:PORT]" server (IPv4).
Status use_resolver(res_state state, const std::string& resolver) {
  CK_TRY(server, parse_host_port(resolver, 53));
  const std::string& host = server.host;
  const int port = server.port;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return fail(Errc::invalid_argument, "resolver must be an IPv4 ADDR[:PORT]", resolver);
  }
  state->nsaddr_list[0] = addr;
  state->nscount = 1;
  return {};
}

}  // namespace

std::string dns01_txt_value(std::string_view key_authorization) {
  return base64url_encode(ossl::sha256(key_authorization));
}

Result<std::vector<std::string>> query_txt(const std::string& name, const std::string& resolver) {
  struct __res_state state {};
  if (res_ninit(&state) != 0) {
    return fail(Errc::network, "cannot initialise the resolver");
  }
  struct Closer {
    res_state s;
    ~Closer() { res_nclose(s); }
  } closer{&state};
  if (!resolver.empty()) {
    CK_TRY_STATUS(use_resolver(&state, resolver));
  }
  unsigned char answer[4096];
  int len = res_nquery(&state, name.c_str(), ns_c_in, ns_t_txt, answer, sizeof answer);
  if (len < 0) {
    return std::vector<std::string>{};  // NXDOMAIN or no answer: nothing there yet
  }
  ns_msg msg;
  if (ns_initparse(answer, len, &msg) != 0) {
    return fail(Errc::protocol, "malformed DNS answer", resolver);
  }
  std::vector<std::string> out;
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt) {
      continue;
    }
    const unsigned char* p = ns_rr_rdata(rr);
    const unsigned char* end = p + ns_rr_rdlen(rr);
    std::string text;
    while (p < end) {  // a TXT record is a sequence of <length><bytes> strings
      const std::size_t n = *p++;
      text.append(reinterpret_cast<const char*>(p), std::min<std::size_t>(n, end - p));
      p += n;
    }
    out.push_back(text);
  }
  return out;
}

Status DnsHookSolver::present(const Identifier& identifier, const Challenge&,
                              const std::string& key_authorization) {
  const std::string domain = bare_domain(identifier);
  const std::string value = dns01_txt_value(key_authorization);
  CK_TRY_STATUS(run_hook({options_.program, "present"}, hook_environment("present", domain, value),
                         options_.hook_timeout));
  records_.emplace_back(domain, value);
  // Propagation: every resolver must serve the value before the CA is told.
  return wait_until_served(
      "_acme-challenge." + domain, value,
      options_.resolvers.empty() ? std::vector<std::string>{""} : options_.resolvers,
      options_.propagation_timeout, options_.stop);
}

Status wait_until_served(const std::string& record, const std::string& value,
                         const std::vector<std::string>& resolvers, std::chrono::seconds timeout,
                         std::stop_token stop) {
  const auto deadline = Clock::now() + timeout;
  for (const auto& resolver : resolvers) {
    for (auto delay = std::chrono::milliseconds(50);;
         delay = std::min(delay * 2, std::chrono::milliseconds(5000))) {
      CK_TRY(values, query_txt(record, resolver));
      if (std::find(values.begin(), values.end(), value) != values.end()) {
        break;
      }
      if (Clock::now() >= deadline) {
        return fail(Errc::timeout,
                    "the TXT record did not appear at " +
                        (resolver.empty() ? "the system resolver" : resolver) + " within " +
                        std::to_string(timeout.count()) + " s",
                    record);
      }
      std::mutex mutex;
      std::condition_variable_any wake;
      std::unique_lock lock(mutex);
      // Returns early when a stop is requested (the predicate never holds).
      static_cast<void>(wake.wait_for(lock, stop, delay, [] { return false; }));
      if (stop.stop_requested()) {
        return fail(Errc::cancelled, "stopped while waiting for the TXT record", record);
      }
    }
  }
  return {};
}

void DnsHookSolver::cleanup(const Identifier& identifier, const Challenge&) {
  const std::string domain = bare_domain(identifier);
  auto it = std::find_if(records_.begin(), records_.end(),
                         [&](const auto& r) { return r.first == domain; });
  if (it == records_.end()) {
    return;
  }
  static_cast<void>(run_hook({options_.program, "cleanup"},
                             hook_environment("cleanup", domain, it->second),
                             options_.hook_timeout));
  records_.erase(it);
}

}  // namespace ck::acme
