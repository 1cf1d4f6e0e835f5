// Host build of the reference firmware: the UNMODIFIED sketch on the mock core.
//
//   g++ -std=c++17 -Wall -Wextra -Werror -I hardware/firmware/host
//       -I hardware/firmware/diy_tracker -include Arduino.h
//       hardware/firmware/host/main.cpp hardware/firmware/host/mock_core.cpp
//       -o diy_tracker_host
// (or hardware.firmware.host_build.build_host_firmware from Python)
//   ./diy_tracker_host [--script FILE] [--duration-ms N] [--step-us N] [--realtime] [--strict]
//
// Calls setup() once, then loop() every --step-us of simulated time (default 1000 us)
// until --duration-ms (default 1000); the device's frames go to stdout. --realtime
// follows the wall clock instead (to connect the Python host to it through a pty).
// --strict: exit status 3 if the sketch misused the core (see mock::warn).
#include "Arduino.h"
#include "mock_core.h"

// The Arduino builder adds `#include <Arduino.h>` and prototypes to a .ino; the
// sketch defines its functions before use, so a plain include is enough (the build
// also passes `-include Arduino.h`, as the builder does, and may name another sketch).
#ifndef SKETCH_FILE
#define SKETCH_FILE "diy_tracker.ino"
#endif
#include SKETCH_FILE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>

namespace {

[[noreturn]] void usage_error(const std::string &msg) {
  fprintf(stderr, "error: %s\nusage: diy_tracker_host [--script FILE] [--duration-ms N] [--step-us N] "
                  "[--realtime] [--strict]\n", msg.c_str());
  exit(2);
}

uint64_t count_arg(int argc, char **argv, int &i, uint64_t lo) {
  if (i + 1 >= argc) usage_error(std::string(argv[i]) + " needs a value");
  const char *text = argv[++i];
  char *end = nullptr;
  unsigned long long v = strtoull(text, &end, 10);
  if (*text == '\0' || *text == '-' || *end != '\0' || v < lo)
    usage_error(std::string(argv[i - 1]) + " '" + text + "': expected an integer >= " + std::to_string(lo));
  return v;
}

}  // namespace

int main(int argc, char **argv) {
  uint64_t duration_us = 1000000, step_us = 1000;
  bool realtime = false, strict = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--script")) {
      if (i + 1 >= argc) usage_error("--script needs a file");
      mock::load_script(argv[++i]);
    } else if (!strcmp(argv[i], "--duration-ms")) {
      duration_us = count_arg(argc, argv, i, 0) * 1000;
    } else if (!strcmp(argv[i], "--step-us")) {
      step_us = count_arg(argc, argv, i, 1);
    } else if (!strcmp(argv[i], "--realtime")) {
      realtime = true;
    } else if (!strcmp(argv[i], "--strict")) {
      strict = true;
    } else {
      usage_error(std::string("unknown argument '") + argv[i] + "'");
    }
  }
  mock::set_realtime(realtime);
  mock::apply_due_events(0);
  setup();
  uint64_t loops = 0;
  while (mock::now_us() < duration_us) {
    mock::apply_due_events(mock::now_us());
    uint64_t stall = mock::take_stall_us();
    if (stall) mock::advance_us(stall);
    loop();
    loops++;
    mock::advance_us(step_us);
  }
  fflush(stdout);
  fprintf(stderr, "mock: %llu loop() calls, %llu bytes written, %llu lost (host off), %d warning(s)\n",
          static_cast<unsigned long long>(loops), static_cast<unsigned long long>(mock::bytes_written()),
          static_cast<unsigned long long>(mock::bytes_lost()), mock::warning_count());
  return strict && mock::warning_count() ? 3 : 0;
}
