#pragma once
// The TLS handshake engine of live probes: one non-blocking client handshake
// as a state machine (connect, handshake, wait for a session ticket), and a
// poll loop that drives many of them at once from one thread, each bounded by
// its deadline. No data is sent over the connection, but for an early-data
// probe's one harmless request (HEAD /), whose answer's first byte is timed.
//
// The engine records what the server did; it does not decide whether to trust
// it. OpenSSL's own peer verification is therefore not used here: the served
// chain is handed to validator/ (ChainVerifier), which verifies it fully and
// reports the result. Nothing is sent that a verification failure could expose.

#include <netdb.h>

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/openssl.h"
#include "validator/probe/starttls.h"

namespace ck::validator {

using SessionPtr = std::unique_ptr<SSL_SESSION, ossl::Deleter<SSL_SESSION_free>>;

// The TLS client context of probes, shared by many handshakes (read-only once
// made). What each handshake offers (versions, ciphers) is set per connection
// from its HandshakeSetup.
[[nodiscard]] Result<ossl::SslCtx> make_probe_context();

struct TraceMessage {
  bool sent = false;  // client to server
  std::string what;   // "ClientHello", "ChangeCipherSpec", "Alert fatal handshake_failure"...
  std::size_t bytes = 0;
  double at_ms = 0;  // since the TCP connection was established
};

struct HandshakeSetup {
  SSL_CTX* context = nullptr;  // borrowed
  sockaddr_storage address{};
  socklen_t address_length = 0;
  std::string sni;                                     // "" sends no server name
  StarttlsProtocol starttls = StarttlsProtocol::none;  // plaintext preamble before TLS
  SSL_SESSION* resume = nullptr;                       // borrowed: offered for resumption
  int min_version = 0;                                 // TLS1_VERSION...; 0 = the context's
  int max_version = 0;           // also the version a raw hello's answer must name
  bool wait_for_ticket = false;  // TLS 1.3: read on until a NewSessionTicket arrives
  // Sent once the handshake is done (or in 0-RTT with `early_data`), and the
  // first byte of the answer waited for; nothing is sent when both are unset.
  std::string request;
  bool send_request = false;  // also for an empty request: 0-RTT with no bytes
  bool early_data = false;    // TLS 1.3: `request` as early data, when `resume` allows it
  // The early data only: nothing is sent after the handshake, no answer awaited
  // (what the handshake costs, not what the server answers).
  bool early_data_only = false;
  std::string groups;      // groups offered, the key share for the first; "" = the context's
  bool no_ticket = false;  // TLS <= 1.2: offer no session ticket (resumption by session ID)
  bool trace = false;
  // Scans: a ClientHello of our own (client_hello.h), sent as it is; no SSL
  // object is made. The server's first answer (ServerHello, HelloRetryRequest
  // or alert) is read by read_server_hello() and the handshake ends there: the
  // suite is known. `sslv2`: the hello is SSL 2.0's, and so is the answer.
  std::string raw_hello;
  bool sslv2 = false;
  bool read_key_exchange = false;  // TLS <= 1.2: read on to the ServerKeyExchange's group
  std::chrono::milliseconds timeout{10'000};
};

struct HandshakeOutcome {
  bool connected = false;
  bool completed = false;
  Error error;  // when not completed
  double connect_ms = 0;
  double handshake_ms = 0;
  int round_trips = 0;  // client flights answered by the server before the handshake completed
  std::string protocol;
  std::string cipher;              // OpenSSL's name; for a raw hello, the IANA name of the answer's
  std::uint16_t cipher_suite = 0;  // raw hello: the suite's value
  std::uint16_t hello_group = 0;   // raw hello: the group its answer names, if any
  std::vector<std::uint32_t> sslv2_ciphers;  // SSL 2.0: the kinds the server shares
  std::string group;
  std::string signature_algorithm;
  std::string alpn;
  std::vector<ossl::X509Ptr> chain;  // as served, leaf first
  std::string stapled_ocsp;          // DER, "" when none
  bool resumed = false;
  // The handshake's own cost, from the message callback: from the first
  // ClientHello to the last handshake message, the part of it spent waiting
  // for the server (from each flight of ours to its answer), and the TLS record
  // bytes each way (early data included, the TCP connection not).
  double exchange_ms = 0;
  double server_ms = 0;
  std::size_t bytes_sent = 0;
  std::size_t bytes_received = 0;
  bool extended_master_secret = false;  // TLS <= 1.2: negotiated (RFC 7627)
  std::string early_data;               // "accepted", "rejected", "not_sent"
  bool answered = false;                // the request's answer began
  double first_byte_ms = 0;             // since the TCP connection: the answer's first byte
  SessionPtr session;                   // to offer on a later connection
  std::vector<TraceMessage> trace;
};

class Handshake {
 public:
  // `clock` (monotonic time: deadlines and timings) must outlive the handshake.
  Handshake(HandshakeSetup setup, const Clock& clock);
  ~Handshake();
  Handshake(const Handshake&) = delete;
  Handshake& operator=(const Handshake&) = delete;

  // Opens the socket and starts connecting; the deadline starts now.
  void start();
  [[nodiscard]] bool done() const { return state_ == State::done; }
  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] short wanted_events() const { return wanted_; }
  [[nodiscard]] MonoTime deadline() const {
    return state_ == State::awaiting_ticket ? ticket_deadline_ : deadline_;
  }
  // Advances on readiness, or fails the handshake once its deadline has passed.
  void step(MonoTime now);
  [[nodiscard]] HandshakeOutcome& outcome() { return outcome_; }

  // OpenSSL callbacks (C linkage needs them public).
  void on_message(int write_p, int content_type, const void* buf, std::size_t len);
  void on_session(SSL_SESSION* session);

 private:
  enum class State {
    idle,
    connecting,
    starttls,
    handshaking,
    writing_early_data,
    reading_server_hello,
    awaiting_ticket,
    requesting,
    awaiting_answer,
    done
  };
  void finish_connect(MonoTime now);
  void start_tls(MonoTime now);
  void converse(MonoTime now);
  void drive_handshake(MonoTime now);
  void read_server_answer();
  void read_sslv2_answer(bool closed);
  void send_raw_hello();
  void await_ticket(MonoTime now);
  void write_early_data(MonoTime now);
  void send_request();
  void await_answer();
  void after_handshake(MonoTime now);
  void collect();
  void fail(Error error);
  void close();

  HandshakeSetup setup_;
  const Clock& clock_;
  State state_ = State::idle;
  int fd_ = -1;
  short wanted_ = 0;
  MonoTime started_{};
  MonoTime connected_{};
  MonoTime deadline_{};
  MonoTime ticket_deadline_{};
  ossl::Ssl ssl_;
  HandshakeOutcome outcome_;
  bool last_flight_sent_ = false;
  double first_hello_at_ = -1;  // ms since connected_
  double last_sent_at_ = 0;
  int starttls_step_ = 0;
  std::string received_;  // plaintext of the current STARTTLS reply, or the server's answer
};

// Drives handshakes to their end from one poll loop, at most `concurrency`
// connections open at a time: takes each from `next` (null when there is none
// for now; it is asked again after each handshake ends) and tells `done` when
// it has finished. The caller owns the handshakes; each must live until `done`
// has been called for it. Returns when all are done and `next` has no more.
// `clock` is the handshakes' own.
void run_handshakes(const std::function<Handshake*()>& next, std::size_t concurrency,
                    const std::function<void(Handshake&)>& done, const Clock& clock);
// The same over handshakes the caller owns.
void run_handshakes(std::span<Handshake* const> handshakes, std::size_t concurrency,
                    const Clock& clock);

}  // namespace ck::validator
