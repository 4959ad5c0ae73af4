#include <csignal>

#include "core/clock.h"
#include "daemon/cli/cli.h"

int main(int argc, char** argv) {
  // A peer that hangs up mid-write (an ACME validator after its TLS handshake,
  // a client of the control socket) must give EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  ck::SystemClock clock;
  return ck::daemon::run_cli(argc, argv, clock);
}
