#include "core/clock.h"
#include "daemon/cli.h"

int main(int argc, char** argv) {
  ck::SystemClock clock;
  return ck::daemon::run_cli(argc, argv, clock);
}
