#include "validator/probe/handshake.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "validator/probe/cipher_suites.h"
#include "validator/probe/client_hello.h"
#include "validator/probe/server_hello.h"

namespace ck::validator {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTicketWait{250};
constexpr unsigned char kAlpn[] = "\x02h2\x08http/1.1";

double ms_between(MonoTime from, MonoTime to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

Handshake* owner(const SSL* ssl) {
  return static_cast<Handshake*>(SSL_get_app_data(ssl));
}

void message_callback(int write_p, int, int content_type, const void* buf, std::size_t len,
                      SSL* ssl, void*) {
  if (Handshake* h = owner(ssl)) {
    h->on_message(write_p, content_type, buf, len);
  }
}

// The RFC 7919 group a DHE ServerKeyExchange's prime and generator are, if any:
// OpenSSL recognises its named groups from their parameters.
std::uint16_t finite_field_group(const std::string& prime, const std::string& generator) {
  if (prime.empty()) {
    return 0;
  }
  auto number = [](const std::string& bytes) {
    return ossl::BigNum(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()), nullptr));
  };
  const ossl::BigNum p = number(prime);
  const ossl::BigNum g = number(generator);
  ossl::ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!p || !g || !builder ||
      !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_FFC_P, p.get()) ||
      !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_FFC_G, g.get())) {
    return 0;
  }
  const ossl::Params params(OSSL_PARAM_BLD_to_param(builder.get()));
  ossl::PKeyCtx context(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &raw, EVP_PKEY_KEY_PARAMETERS, params.get()) != 1) {
    ERR_clear_error();
    return 0;
  }
  const ossl::PKey parameters(raw);
  char name[32] = {};
  std::size_t length = 0;
  const bool named = EVP_PKEY_get_utf8_string_param(parameters.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                                    name, sizeof name, &length) == 1;
  ERR_clear_error();
  return named ? group_id(name) : 0;
}

// Instead of OpenSSL's chain building, which probes do not use (see the header):
// the served chain is verified by validator/ afterwards.
int certificate_callback(X509_STORE_CTX*, void*) {
  return 1;
}

int new_session_callback(SSL* ssl, SSL_SESSION* session) {
  if (Handshake* h = owner(ssl)) {
    h->on_session(session);
    return 1;  // the handshake keeps this reference
  }
  return 0;
}

std::string handshake_message_name(const unsigned char* msg, std::size_t len) {
  switch (msg[0]) {
    case 0: return "HelloRequest";
    case 1: return "ClientHello";
    case 2:
      return len >= 38 && std::memcmp(msg + 6, kHelloRetryRandom, 32) == 0 ? "HelloRetryRequest"
                                                                           : "ServerHello";
    case 4: return "NewSessionTicket";
    case 5: return "EndOfEarlyData";
    case 8: return "EncryptedExtensions";
    case 11: return "Certificate";
    case 12: return "ServerKeyExchange";
    case 13: return "CertificateRequest";
    case 14: return "ServerHelloDone";
    case 15: return "CertificateVerify";
    case 16: return "ClientKeyExchange";
    case 20: return "Finished";
    case 22: return "CertificateStatus";
    case 24: return "KeyUpdate";
    default: return "handshake message " + std::to_string(msg[0]);
  }
}

// A setup's version bounds, groups and ticket offer, on `ssl`.
bool apply_offer(SSL& ssl, const HandshakeSetup& setup) {
  if (setup.no_ticket) {
    SSL_set_options(&ssl, SSL_OP_NO_TICKET);
  }
  return (setup.groups.empty() || SSL_set1_groups_list(&ssl, setup.groups.c_str()) == 1) &&
         (setup.min_version == 0 || SSL_set_min_proto_version(&ssl, setup.min_version) == 1) &&
         (setup.max_version == 0 || SSL_set_max_proto_version(&ssl, setup.max_version) == 1);
}

// SSL_set_tlsext_host_name without its C cast.
long set_server_name(SSL* ssl, const std::string& name) {
  return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(name.c_str()));
}

std::string signature_algorithm_of(SSL* ssl) {
  int type = NID_undef;
  int digest = NID_undef;
  if (SSL_get_peer_signature_type_nid(ssl, &type) != 1) {
    return "";
  }
  std::string out = type == EVP_PKEY_EC        ? "ecdsa"
                    : type == EVP_PKEY_RSA_PSS ? "rsa_pss_rsae"
                    : type == EVP_PKEY_RSA     ? "rsa_pkcs1"
                    : type == EVP_PKEY_ED25519 ? "ed25519"
                    : type == EVP_PKEY_ED448   ? "ed448"
                                               : OBJ_nid2sn(type);
  if (SSL_get_peer_signature_nid(ssl, &digest) == 1 && digest != NID_undef &&
      type != EVP_PKEY_ED25519 && type != EVP_PKEY_ED448) {
    std::string name = OBJ_nid2sn(digest);
    std::ranges::transform(name, name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out += "_" + name;
  }
  return out;
}

}  // namespace

Result<ossl::SslCtx> make_probe_context() {
  ossl::SslCtx ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx || SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof kAlpn - 1) != 0) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot create a TLS context"));
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // validator/ verifies (see header)
  SSL_CTX_set_cert_verify_callback(ctx.get(), certificate_callback, nullptr);
  SSL_CTX_set_session_cache_mode(ctx.get(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.get(), new_session_callback);
  return ctx;
}

Handshake::Handshake(HandshakeSetup setup, const Clock& clock)
    : setup_(std::move(setup)), clock_(clock) {}

Handshake::~Handshake() {
  close();
}

void Handshake::close() {
  if (ssl_ && outcome_.completed) {
    // close_notify: a session freed without it is marked not resumable.
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
  ssl_.reset();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void Handshake::fail(Error error) {
  outcome_.error = std::move(error);
  outcome_.completed = false;
  state_ = State::done;
  ERR_clear_error();
  close();
}

void Handshake::start() {
  started_ = clock_.monotonic();
  deadline_ = started_ + setup_.timeout;
  fd_ = ::socket(setup_.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    fail(Error{Errc::network, std::string("socket: ") + std::strerror(errno)});
    return;
  }
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&setup_.address), setup_.address_length) !=
          0 &&
      errno != EINPROGRESS) {
    fail(Error{Errc::network, std::string("connect: ") + std::strerror(errno)});
    return;
  }
  state_ = State::connecting;
  wanted_ = POLLOUT;
}

void Handshake::step(MonoTime now) {
  if (state_ == State::awaiting_ticket) {
    await_ticket(now);
    return;
  }
  if (now >= deadline_ && (state_ == State::requesting || state_ == State::awaiting_answer)) {
    state_ = State::done;  // the handshake completed; the answer never came
    close();
    return;
  }
  if (now >= deadline_) {
    const auto limit = std::to_string(setup_.timeout.count()) + " ms";
    fail(state_ == State::connecting ? Error{Errc::timeout, "no TCP connection within " + limit}
         : state_ == State::starttls
             ? Error{Errc::timeout, "no STARTTLS exchange within " + limit}
             : Error{Errc::timeout, "no TLS handshake within " + limit +
                                        " (the server accepted the connection but did not "
                                        "complete the handshake)"});
    return;
  }
  if (state_ == State::connecting) {
    finish_connect(now);
  } else if (state_ == State::starttls) {
    converse(now);
  } else if (state_ == State::handshaking) {
    drive_handshake(now);
  } else if (state_ == State::writing_early_data) {
    write_early_data(now);
  } else if (state_ == State::reading_server_hello) {
    read_server_answer();
  } else if (state_ == State::requesting) {
    send_request();
  } else if (state_ == State::awaiting_answer) {
    await_answer();
  }
}

void Handshake::finish_connect(MonoTime now) {
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
    fail(Error{Errc::network, std::string("connect: ") + std::strerror(error ? error : errno)});
    return;
  }
  // Read now, not `now`: the loop's time of the poll may be stale by the time
  // this connection's turn comes.
  connected_ = clock_.monotonic();
  outcome_.connected = true;
  outcome_.connect_ms = ms_between(started_, connected_);
  if (setup_.starttls != StarttlsProtocol::none) {
    state_ = State::starttls;
    wanted_ = POLLIN;  // every preamble starts with the server's greeting
    return;
  }
  start_tls(now);
}

// Reads the server's reply to the current STARTTLS step and answers it.
void Handshake::converse(MonoTime now) {
  char buffer[4096];
  const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
    fail(Error{Errc::protocol, "the server closed the connection before STARTTLS"});
    return;
  }
  if (n < 0) {
    return;
  }
  received_.append(buffer, static_cast<std::size_t>(n));
  if (received_.size() > 64 * 1024) {
    fail(Error{Errc::protocol, "the server's STARTTLS preamble is too long"});
    return;
  }
  const StarttlsStep step = starttls_step(setup_.starttls, starttls_step_, received_);
  if (step.state == ReplyState::incomplete) {
    return;
  }
  if (step.state == ReplyState::refused) {
    fail(Error{Errc::protocol, "STARTTLS refused: the server said \"" + step.reply + "\""});
    return;
  }
  received_.clear();
  ++starttls_step_;
  if (!step.send.empty() && ::send(fd_, step.send.data(), step.send.size(), MSG_NOSIGNAL) !=
                                static_cast<ssize_t>(step.send.size())) {
    fail(Error{Errc::network, std::string("send: ") + std::strerror(errno)});
    return;
  }
  if (step.ready) {
    start_tls(now);
  }
}

void Handshake::start_tls(MonoTime now) {
  if (!setup_.raw_hello.empty()) {
    send_raw_hello();
    return;
  }
  ssl_.reset(SSL_new(setup_.context));
  if (!ssl_ || SSL_set_fd(ssl_.get(), fd_) != 1 ||
      (!setup_.sni.empty() && set_server_name(ssl_.get(), setup_.sni) != 1) ||
      SSL_set_tlsext_status_type(ssl_.get(), TLSEXT_STATUSTYPE_ocsp) != 1 ||
      (setup_.resume && SSL_set_session(ssl_.get(), setup_.resume) != 1) ||
      !apply_offer(*ssl_, setup_)) {
    fail(ossl::error(Errc::crypto, "cannot set up the TLS client"));
    return;
  }
  SSL_set_app_data(ssl_.get(), this);
  SSL_set_msg_callback(ssl_.get(), message_callback);
  if (setup_.early_data && setup_.send_request && setup_.resume &&
      SSL_SESSION_get_max_early_data(setup_.resume) > 0) {
    state_ = State::writing_early_data;
    write_early_data(now);
    return;
  }
  state_ = State::handshaking;
  drive_handshake(now);
}

// The ClientHello and the request after it in the first flight (RFC 8446 §2.3).
void Handshake::write_early_data(MonoTime now) {
  ERR_clear_error();
  std::size_t written = 0;
  if (SSL_write_early_data(ssl_.get(), setup_.request.data(), setup_.request.size(), &written) ==
      1) {
    state_ = State::handshaking;
    drive_handshake(now);
    return;
  }
  switch (SSL_get_error(ssl_.get(), 0)) {
    case SSL_ERROR_WANT_READ: wanted_ = POLLIN; return;
    case SSL_ERROR_WANT_WRITE: wanted_ = POLLOUT; return;
    default: fail(ossl::error(Errc::tls, "cannot send early data"));
  }
}

void Handshake::after_handshake(MonoTime now) {
  if (setup_.send_request) {
    const int status = SSL_get_early_data_status(ssl_.get());
    outcome_.early_data = status == SSL_EARLY_DATA_ACCEPTED   ? "accepted"
                          : status == SSL_EARLY_DATA_REJECTED ? "rejected"
                                                              : "not_sent";
  }
  if (setup_.send_request && !setup_.early_data_only) {
    state_ = outcome_.early_data == "accepted" ? State::awaiting_answer : State::requesting;
    state_ == State::requesting ? send_request() : await_answer();
    return;
  }
  if (setup_.wait_for_ticket && SSL_version(ssl_.get()) == TLS1_3_VERSION && !outcome_.session) {
    state_ = State::awaiting_ticket;
    ticket_deadline_ = std::min(deadline_, now + kTicketWait);
    await_ticket(now);
    return;
  }
  state_ = State::done;
  close();
}

// The request after the handshake: not sent early, or sent early and refused.
void Handshake::send_request() {
  if (setup_.request.empty()) {
    state_ = State::done;  // nothing to ask: an empty early-data probe
    close();
    return;
  }
  ERR_clear_error();
  const int r =
      SSL_write(ssl_.get(), setup_.request.data(), static_cast<int>(setup_.request.size()));
  if (r > 0) {
    state_ = State::awaiting_answer;
    await_answer();
    return;
  }
  switch (SSL_get_error(ssl_.get(), r)) {
    case SSL_ERROR_WANT_READ: wanted_ = POLLIN; return;
    case SSL_ERROR_WANT_WRITE: wanted_ = POLLOUT; return;
    default: state_ = State::done; close();  // the handshake itself completed
  }
}

// The answer's first byte (tickets that come before it are taken on the way).
void Handshake::await_answer() {
  if (setup_.request.empty()) {
    state_ = State::done;
    close();
    return;
  }
  char buffer[1024];
  ERR_clear_error();
  const int r = SSL_read(ssl_.get(), buffer, sizeof buffer);
  if (r > 0) {
    outcome_.answered = true;
    const MonoTime now = clock_.monotonic();
    outcome_.first_byte_ms = ms_between(connected_, now);
    if (setup_.wait_for_ticket && !outcome_.session) {  // a server that answers first
      state_ = State::awaiting_ticket;
      ticket_deadline_ = std::min(deadline_, now + kTicketWait);
      await_ticket(now);
      return;
    }
  } else if (const int e = SSL_get_error(ssl_.get(), r);
             e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    wanted_ = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    return;
  }
  ERR_clear_error();
  state_ = State::done;
  close();
}

void Handshake::drive_handshake(MonoTime now) {
  ERR_clear_error();
  const int r = SSL_connect(ssl_.get());
  if (r == 1) {
    collect();
    after_handshake(now);
    return;
  }
  switch (SSL_get_error(ssl_.get(), r)) {
    case SSL_ERROR_WANT_READ: wanted_ = POLLIN; return;
    case SSL_ERROR_WANT_WRITE: wanted_ = POLLOUT; return;
    default: {
      std::string why = ossl::drain_errors();
      fail(Error{Errc::tls, why.empty() ? "the server closed the connection during the handshake"
                                        : "TLS handshake failed: " + why});
      return;
    }
  }
}

void Handshake::await_ticket(MonoTime now) {
  char buffer[1024];
  while (!outcome_.session) {
    ERR_clear_error();
    const int r = SSL_read(ssl_.get(), buffer, sizeof buffer);
    if (r > 0) {
      continue;  // application data is not expected; it is skipped
    }
    if (!outcome_.session && SSL_get_error(ssl_.get(), r) == SSL_ERROR_WANT_READ &&
        now < ticket_deadline_) {
      wanted_ = POLLIN;
      return;
    }
    break;  // closed, failed or out of time: the handshake itself completed
  }
  ERR_clear_error();
  state_ = State::done;
  close();
}

void Handshake::collect() {
  SSL* ssl = ssl_.get();
  outcome_.completed = true;
  // The handshake ended when SSL_connect said so, which may be long after the
  // poll that started this step: a client descheduled after its ClientHello
  // finds the server's whole flight waiting and completes in one call.
  outcome_.handshake_ms = ms_between(connected_, clock_.monotonic());
  outcome_.protocol = SSL_get_version(ssl);
  outcome_.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
  const int group = static_cast<int>(SSL_get_negotiated_group(ssl));
  const char* group_name = group > 0 ? SSL_group_to_name(ssl, group) : nullptr;
  outcome_.group = group_name ? group_name : "";
  outcome_.signature_algorithm = signature_algorithm_of(ssl);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_length);
  outcome_.alpn.assign(reinterpret_cast<const char*>(alpn), alpn ? alpn_length : 0);
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      X509* cert = sk_X509_value(chain, i);
      X509_up_ref(cert);
      outcome_.chain.emplace_back(cert);
    }
  }
  const unsigned char* ocsp = nullptr;
  const long ocsp_length = SSL_get_tlsext_status_ocsp_resp(ssl, &ocsp);
  if (ocsp && ocsp_length > 0) {
    outcome_.stapled_ocsp.assign(reinterpret_cast<const char*>(ocsp),
                                 static_cast<std::size_t>(ocsp_length));
  }
  outcome_.resumed = SSL_session_reused(ssl) == 1;
  outcome_.extended_master_secret = SSL_get_extms_support(ssl) == 1;
  if (!outcome_.session && SSL_version(ssl) != TLS1_3_VERSION) {
    outcome_.session.reset(SSL_get1_session(ssl));  // TLS 1.2: the session is known now
  }
}

void Handshake::on_message(int write_p, int content_type, const void* buf, std::size_t len) {
  const bool sent = write_p == 1;
  const bool handshaking = state_ == State::handshaking || state_ == State::writing_early_data;
  const auto* bytes = static_cast<const unsigned char*>(buf);
  if (content_type == SSL3_RT_HEADER) {
    if (handshaking && len == SSL3_RT_HEADER_LENGTH) {  // type, version, length: a TLS record
      (sent ? outcome_.bytes_sent : outcome_.bytes_received) +=
          SSL3_RT_HEADER_LENGTH + (std::size_t{bytes[3]} << 8 | bytes[4]);
    }
    return;
  }
  if (content_type != SSL3_RT_HANDSHAKE && content_type != SSL3_RT_CHANGE_CIPHER_SPEC &&
      content_type != SSL3_RT_ALERT) {
    return;  // TLS 1.3 inner content types
  }
  const double at = ms_between(connected_, clock_.monotonic());
  if (handshaking) {
    if (first_hello_at_ < 0 && sent) {
      first_hello_at_ = at;
    }
    if (first_hello_at_ >= 0) {
      outcome_.exchange_ms = at - first_hello_at_;
    }
    if (sent) {
      last_flight_sent_ = true;
      last_sent_at_ = at;
    } else if (last_flight_sent_) {
      ++outcome_.round_trips;  // the server answered a flight of ours
      outcome_.server_ms += at - last_sent_at_;
      last_flight_sent_ = false;
    }
  }
  if (!setup_.trace || len == 0) {
    return;
  }
  std::string what;
  if (content_type == SSL3_RT_HANDSHAKE) {
    what = handshake_message_name(bytes, len);
  } else if (content_type == SSL3_RT_CHANGE_CIPHER_SPEC) {
    what = "ChangeCipherSpec";
  } else if (len >= 2) {
    what = std::string("Alert ") + SSL_alert_type_string_long(bytes[0] << 8) + " " +
           SSL_alert_desc_string_long(bytes[1]);
  }
  outcome_.trace.push_back({sent, std::move(what), len, at});
}

// A hello of our own fits a socket buffer: a short write is a broken connection.
void Handshake::send_raw_hello() {
  const std::string& hello = setup_.raw_hello;
  if (::send(fd_, hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) {
    fail(Error{Errc::network, std::string("send: ") + std::strerror(errno)});
    return;
  }
  state_ = State::reading_server_hello;
  wanted_ = POLLIN;
}

// SSL 2.0's answer. A server that does not speak it often just closes the
// connection: from an SSL 2.0 hello, that is a refusal, not silence.
void Handshake::read_sslv2_answer(bool closed) {
  const auto answer = read_sslv2_server_hello(
      std::span(reinterpret_cast<const unsigned char*>(received_.data()), received_.size()));
  using Kind = Sslv2Reading::Kind;
  switch (answer.kind) {
    case Kind::incomplete:
      if (closed) {
        fail(Error{Errc::tls, "the server closed the connection on an SSL 2.0 hello"});
      }
      return;
    case Kind::refused: fail(Error{Errc::tls, "refused SSL 2.0"}); return;
    case Kind::malformed: fail(Error{Errc::protocol, answer.problem}); return;
    case Kind::hello: break;
  }
  if (answer.ciphers.empty()) {
    fail(Error{Errc::tls, "refused: no SSL 2.0 cipher in common"});
    return;
  }
  outcome_.sslv2_ciphers = answer.ciphers;
  outcome_.cipher = "SSLv2";  // chosen: the kinds say which
  state_ = State::done;
  close();
}

void Handshake::read_server_answer() {
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::recv(fd_, buffer, sizeof buffer, 0)) > 0) {
    received_.append(buffer, static_cast<std::size_t>(n));
    if (received_.size() > 64 * 1024) {
      break;  // no ServerHello is this long; read_server_hello says what is wrong
    }
  }
  const bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  if (setup_.sslv2) {
    read_sslv2_answer(closed);
    return;
  }
  const auto received =
      std::span(reinterpret_cast<const unsigned char*>(received_.data()), received_.size());
  const auto answer =
      setup_.read_key_exchange ? read_server_key_exchange(received) : read_server_hello(received);
  using Kind = ServerHelloReading::Kind;
  switch (answer.kind) {
    case Kind::incomplete:
      if (closed) {
        fail(Error{Errc::network,
                   "the server closed the connection without answering the ClientHello"});
      }
      return;
    case Kind::alert:
      fail(Error{Errc::tls, std::string("refused: alert ") +
                                SSL_alert_desc_string_long(answer.alert_description)});
      return;
    case Kind::malformed: fail(Error{Errc::protocol, answer.problem}); return;
    case Kind::hello: break;
  }
  if (setup_.max_version != 0 && answer.version != setup_.max_version) {
    fail(Error{Errc::tls, "the server answered with another protocol version"});
    return;
  }
  outcome_.cipher_suite = answer.cipher_suite;
  outcome_.hello_group =
      answer.group != 0 ? answer.group : finite_field_group(answer.dh_prime, answer.dh_generator);
  const CipherSuite* suite = find_cipher_suite(answer.cipher_suite);
  char unknown[8];
  std::snprintf(unknown, sizeof unknown, "0x%04X", answer.cipher_suite);
  outcome_.cipher = suite ? std::string(suite->name) : unknown;
  state_ = State::done;  // as asked: the cipher is known, the rest is not needed
  close();
}

void Handshake::on_session(SSL_SESSION* session) {
  outcome_.session.reset(session);
}

void run_handshakes(const std::function<Handshake*()>& next, std::size_t concurrency,
                    const std::function<void(Handshake&)>& done, const Clock& clock) {
  std::vector<Handshake*> active;
  std::vector<pollfd> fds;
  while (true) {
    // `next` is asked again whenever there is room: `done` may have given it
    // more work (a retry at another address).
    while (active.size() < std::max<std::size_t>(concurrency, 1)) {
      Handshake* h = next();
      if (h == nullptr) {
        break;
      }
      h->start();
      h->done() ? done(*h) : active.push_back(h);
    }
    if (active.empty()) {
      return;
    }
    MonoTime soonest = active.front()->deadline();
    fds.clear();
    for (Handshake* h : active) {
      fds.push_back({h->fd(), h->wanted_events(), 0});
      soonest = std::min(soonest, h->deadline());
    }
    const auto wait = std::chrono::ceil<milliseconds>(soonest - clock.monotonic());
    ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(0, wait.count())));
    const MonoTime now = clock.monotonic();
    for (std::size_t i = 0; i < active.size(); ++i) {
      if (fds[i].revents != 0 || now >= active[i]->deadline()) {
        active[i]->step(now);
      }
    }
    std::erase_if(active, [&](Handshake* h) {
      if (h->done()) {
        done(*h);
        return true;
      }
      return false;
    });
  }
}

void run_handshakes(std::span<Handshake* const> handshakes, std::size_t concurrency,
                    const Clock& clock) {
  std::size_t next = 0;
  run_handshakes([&] { return next < handshakes.size() ? handshakes[next++] : nullptr; },
                 concurrency, [](Handshake&) {}, clock);
}

}  // namespace ck::validator
