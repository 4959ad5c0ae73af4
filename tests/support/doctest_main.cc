// doctest's main, with SIGPIPE ignored as in certkeeper's own main(): the TLS
// peers some tests run in-process write to clients that may have hung up.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return doctest::Context(argc, argv).run();
}
