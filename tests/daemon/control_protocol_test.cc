// The control socket's protocol, pure: framing, parsing, who may do what.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "daemon/service/control_protocol.h"

using namespace ck;
using namespace ck::daemon;
using nlohmann::json;

TEST_CASE("control protocol: requests as DESIGN.md writes them, and what is refused") {
  auto good = parse_request(R"({"id": 1, "cmd": "status", "args": {}})");
  REQUIRE(good);
  CHECK(good->id == 1);
  CHECK(good->cmd == "status");
  auto string_id = parse_request(R"({"id": "x", "cmd": "renew", "args": {"name": "www"}})");
  REQUIRE(string_id);
  CHECK(string_id->args["name"] == "www");
  CHECK(parse_request(R"({"cmd": "list"})"));  // id and args are optional

  const std::pair<const char*, Errc> bad[] = {
      {"", Errc::parse},
      {"not json", Errc::parse},
      {"[1, 2]", Errc::parse},
      {R"({"id": 1})", Errc::invalid_argument},
      {R"({"id": 1, "cmd": 7})", Errc::invalid_argument},
      {R"({"id": [1], "cmd": "status"})", Errc::invalid_argument},
      {R"({"id": 1, "cmd": "status", "args": "all"})", Errc::invalid_argument},
      {"{\"id\": 1, \"cmd\": \"st\xff\"}", Errc::parse},
  };
  for (const auto& [line, code] : bad) {
    CAPTURE(line);
    auto r = parse_request(line);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == code);
  }
  CHECK(id_of(R"({"id": 9, "cmd": 7})") == 9);
  CHECK(id_of("garbage").is_null());
}

TEST_CASE("control protocol: each command's arguments, by name and JSON type") {
  for (const char* fine :
       {R"({"cmd": "status", "args": {"limit": 0, "name": "www"}})",
        R"({"cmd": "renew", "args": {"name": "www", "force": true}})",
        R"({"cmd": "revoke", "args": {"certificate": "www", "reason": "keyCompromise",
            "server": "", "ca_file": "", "with_certificate_key": false,
            "timeout_seconds": 30}})",
        R"({"cmd": "alerts", "args": {"open": true, "name": "www", "limit": 5}})",
        R"({"cmd": "nosuch", "args": {"anything": 1}})"}) {  // unknown: the server says so
    CAPTURE(std::string(fine));
    CHECK(parse_request(fine));
  }
  // A handler reading these with json::value() would have thrown (and stopped the service).
  for (const char* wrong : {R"({"cmd": "show", "args": {"certificate": 5}})",
                            R"({"cmd": "renew", "args": {"name": "www", "force": "yes"}})",
                            R"({"cmd": "status", "args": {"limit": -1}})",
                            R"({"cmd": "status", "args": {"limit": "all"}})",
                            R"({"cmd": "revoke", "args": {"certificate": ["www"]}})",
                            R"({"cmd": "revoke", "args": {"timeout_seconds": -5}})",
                            R"({"cmd": "probe", "args": {"name": null}})"}) {
    CAPTURE(std::string(wrong));
    auto r = parse_request(wrong);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid_argument);
    CHECK(r.error().message.find("must be") != std::string::npos);
  }
  // Not known is refused, not ignored.
  auto unknown = parse_request(R"({"cmd": "renew", "args": {"name": "www", "froce": true}})");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message == "renew takes no argument \"froce\"");
  CHECK_FALSE(parse_request(R"({"cmd": "reload", "args": {"now": true}})"));
}

TEST_CASE("control protocol: responses are one JSON line each") {
  const std::string ok = ok_response(3, {{"a", 1}});
  CHECK(ok.back() == '\n');
  CHECK(std::count(ok.begin(), ok.end(), '\n') == 1);
  CHECK(json::parse(ok) == json{{"id", 3}, {"ok", true}, {"result", {{"a", 1}}}});
  const json err = json::parse(error_response("x", "forbidden", "no"));
  CHECK(err["ok"] == false);
  CHECK(err["error"]["code"] == "forbidden");
  // Invalid UTF-8 from a message cannot break the line.
  CHECK_NOTHROW(json::parse(error_response(nullptr, "parse", "bad \xff byte")));
}

TEST_CASE("control protocol: lines framed, partial kept, oversized refused") {
  std::string buffer = "{\"cmd\":\"a\"}\n{\"cmd\":\"b\"}\n{\"cmd\"";
  auto lines = take_lines(buffer);
  REQUIRE(lines);
  CHECK(lines->size() == 2);
  CHECK(buffer == "{\"cmd\"");
  buffer += ":\"c\"}\n";
  CHECK(take_lines(buffer)->size() == 1);
  CHECK(buffer.empty());

  std::string huge(kMaxRequestBytes + 1, 'x');
  auto too_long_unfinished = take_lines(huge);
  REQUIRE_FALSE(too_long_unfinished);
  CHECK(too_long_unfinished.error().code == Errc::too_large);
  std::string huge_line = std::string(kMaxRequestBytes + 1, 'x') + "\n";
  CHECK_FALSE(take_lines(huge_line));
}

TEST_CASE("control protocol: the group reads, only root and the service user change") {
  const ServiceIdentity service{500, 500};
  struct Case {
    std::string name;
    Peer peer;
    bool read;
    bool change;
  };
  const Case cases[] = {
      {"good_root", {0, 0, {}}, true, true},
      {"good_service_user", {500, 500, {}}, true, true},
      {"good_group_member_reads_only", {1000, 1000, {1000, 500}}, true, false},
      {"good_primary_group_reads_only", {1001, 500, {}}, true, false},
      {"bad_stranger", {1002, 1002, {1002}}, false, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(may(c.peer, service, Access::read) == c.read);
    CHECK(may(c.peer, service, Access::change) == c.change);
  }
  CHECK(access_of("status") == Access::read);
  CHECK(access_of("renew") == Access::change);
  CHECK(access_of("reload") == Access::change);
  CHECK_FALSE(access_of("shutdown"));
}
