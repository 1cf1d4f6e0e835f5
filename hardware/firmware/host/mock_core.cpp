// Host mock of the Arduino core and of the BNO055 / Wire libraries; see mock_core.h.
#include "mock_core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "Adafruit_BNO055.h"
#include "Arduino.h"
#include "Wire.h"

#if defined(ARDUINO_ARCH_ESP32)
static const int kAdcMax = 4095;
#else
static const int kAdcMax = 1023;
#endif

namespace mock {

Imu imu;

namespace {

struct Event {
  uint64_t t_us;
  std::string what;
  std::vector<std::string> args;
  std::string where;  // file:line, for messages
};

std::vector<Event> g_events;
size_t g_next_event = 0;
uint64_t g_time_us = 0;
bool g_realtime = false;
std::chrono::steady_clock::time_point g_t0 = std::chrono::steady_clock::now();
uint64_t g_stall_us = 0;
int g_warnings = 0;
bool g_host_on = true;
uint64_t g_written = 0, g_lost = 0;
std::deque<uint8_t> g_rx;
bool g_stdin_open = true;
bool g_serial_begun = false;

int8_t g_pin_mode[256];
int16_t g_digital[256];  // scripted level, -1 unset
int16_t g_analog[256];
bool g_pins_init = false;

void init_pins() {
  if (g_pins_init) return;
  for (int i = 0; i < 256; i++) {
    g_pin_mode[i] = -1;
    g_digital[i] = -1;
    g_analog[i] = 0;
  }
  g_pins_init = true;
}

[[noreturn]] void script_error(const std::string &where, const std::string &what) {
  fprintf(stderr, "error: %s: %s\n", where.c_str(), what.c_str());
  exit(2);
}

double number(const Event &e, size_t i, double lo, double hi) {
  if (i >= e.args.size()) script_error(e.where, e.what + ": missing argument " + std::to_string(i + 1));
  char *end = nullptr;
  double v = strtod(e.args[i].c_str(), &end);
  if (end == e.args[i].c_str() || *end != '\0' || !(v >= lo && v <= hi)) {
    std::ostringstream msg;
    msg << e.what << ": argument " << (i + 1) << " is '" << e.args[i] << "', expected a number in ["
        << lo << ", " << hi << "]";
    script_error(e.where, msg.str());
  }
  return v;
}

int pin_number(const Event &e) {
  if (e.args.empty()) script_error(e.where, e.what + ": missing pin");
  const std::string &s = e.args[0];
  if (s.size() == 2 && (s[0] == 'A' || s[0] == 'a') && s[1] >= '0' && s[1] <= '7') return A0 + (s[1] - '0');
  return static_cast<int>(number(e, 0, 0, 255));
}

void expect_args(const Event &e, size_t n) {
  if (e.args.size() != n)
    script_error(e.where, e.what + ": expected " + std::to_string(n) + " argument(s), got " +
                              std::to_string(e.args.size()));
}

void apply(const Event &e) {
  init_pins();
  if (e.what == "quat") {
    expect_args(e, 4);
    for (int i = 0; i < 4; i++) imu.quat[i] = number(e, i, -2.0, 2.0);
  } else if (e.what == "calib") {
    expect_args(e, 4);
    for (int i = 0; i < 4; i++) imu.calib[i] = static_cast<uint8_t>(number(e, i, 0, 3));
  } else if (e.what == "imu") {
    expect_args(e, 1);
    if (e.args[0] != "present" && e.args[0] != "absent")
      script_error(e.where, "imu: expected 'present' or 'absent', got '" + e.args[0] + "'");
    imu.present = e.args[0] == "present";
  } else if (e.what == "analog") {
    expect_args(e, 2);
    g_analog[pin_number(e)] = static_cast<int16_t>(number(e, 1, 0, kAdcMax));
  } else if (e.what == "digital") {
    expect_args(e, 2);
    g_digital[pin_number(e)] = static_cast<int16_t>(number(e, 1, 0, 1));
  } else if (e.what == "rx") {
    for (const std::string &h : e.args) {
      char *end = nullptr;
      long v = strtol(h.c_str(), &end, 16);
      if (h.empty() || *end != '\0' || v < 0 || v > 255)
        script_error(e.where, "rx: '" + h + "' is not a hex byte");
      g_rx.push_back(static_cast<uint8_t>(v));
    }
  } else if (e.what == "host") {
    expect_args(e, 1);
    if (e.args[0] != "on" && e.args[0] != "off")
      script_error(e.where, "host: expected 'on' or 'off', got '" + e.args[0] + "'");
    g_host_on = e.args[0] == "on";
  } else if (e.what == "stall") {
    expect_args(e, 1);
    g_stall_us += static_cast<uint64_t>(number(e, 0, 0, 1e7) * 1000.0);
  } else {
    script_error(e.where, "unknown event '" + e.what +
                              "' (expected quat, calib, imu, analog, digital, rx, host, stall)");
  }
}

void poll_stdin() {
  if (!g_stdin_open) return;
  static bool nonblocking = false;
  if (!nonblocking) {
    int flags = fcntl(0, F_GETFL);
    if (flags < 0 || fcntl(0, F_SETFL, flags | O_NONBLOCK) < 0) {
      g_stdin_open = false;
      return;
    }
    nonblocking = true;
  }
  uint8_t buf[256];
  ssize_t n = ::read(0, buf, sizeof buf);
  if (n > 0) {
    g_rx.insert(g_rx.end(), buf, buf + n);
  } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    g_stdin_open = false;  // EOF or not readable: only scripted bytes from now on
  }
}

}  // namespace

void load_script(const std::string &path) {
  std::ifstream in(path);
  if (!in) script_error(path, "cannot open the script");
  std::string line;
  int lineno = 0;
  double last_t = 0.0;
  while (std::getline(in, line)) {
    lineno++;
    std::string where = path + ":" + std::to_string(lineno);
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    std::string t_text, what;
    if (!(words >> t_text)) continue;
    if (!(words >> what)) script_error(where, "expected '<t_ms> <event> <args...>'");
    char *end = nullptr;
    double t_ms = strtod(t_text.c_str(), &end);
    if (*end != '\0' || !(t_ms >= 0.0)) script_error(where, "time '" + t_text + "' is not a number of ms >= 0");
    if (t_ms < last_t) script_error(where, "events must be in time order");
    last_t = t_ms;
    Event e{static_cast<uint64_t>(t_ms * 1000.0 + 0.5), what, {}, where};
    std::string arg;
    while (words >> arg) e.args.push_back(arg);
    g_events.push_back(e);
  }
}

void apply_due_events(uint64_t now) {
  while (g_next_event < g_events.size() && g_events[g_next_event].t_us <= now) apply(g_events[g_next_event++]);
}

uint64_t now_us() {
  if (g_realtime) {
    auto dt = std::chrono::steady_clock::now() - g_t0;
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(dt).count());
  }
  return g_time_us;
}

void advance_us(uint64_t us) {
  if (g_realtime)
    std::this_thread::sleep_for(std::chrono::microseconds(us));
  else
    g_time_us += us;
}

void set_realtime(bool on) {
  g_realtime = on;
  g_t0 = std::chrono::steady_clock::now();
}

uint64_t take_stall_us() {
  uint64_t s = g_stall_us;
  g_stall_us = 0;
  return s;
}

void warn(const char *fmt, ...) {
  g_warnings++;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "mock: warning: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
}

int warning_count() { return g_warnings; }
uint64_t bytes_written() { return g_written; }
uint64_t bytes_lost() { return g_lost; }

}  // namespace mock

// ---- Arduino core --------------------------------------------------------------------
HardwareSerial Serial;
TwoWire Wire;

uint32_t micros() { return static_cast<uint32_t>(mock::now_us()); }
uint32_t millis() { return static_cast<uint32_t>(mock::now_us() / 1000); }
void delay(uint32_t ms) { mock::advance_us(static_cast<uint64_t>(ms) * 1000); }
void delayMicroseconds(uint32_t us) { mock::advance_us(us); }
void yield() {}

void pinMode(uint8_t pin, uint8_t mode) {
  mock::init_pins();
  if (mode != INPUT && mode != OUTPUT && mode != INPUT_PULLUP) mock::warn("pinMode(%u, %u): unknown mode", pin, mode);
  mock::g_pin_mode[pin] = static_cast<int8_t>(mode);
}

int digitalRead(uint8_t pin) {
  mock::init_pins();
  int mode = mock::g_pin_mode[pin];
  if (mode < 0) mock::warn("digitalRead(%u): the pin was never set with pinMode", pin);
  if (mode == OUTPUT) mock::warn("digitalRead(%u): the pin is an OUTPUT", pin);
  if (mock::g_digital[pin] >= 0) return mock::g_digital[pin];
  if (mode == INPUT) mock::warn("digitalRead(%u): a floating INPUT pin (no pull-up, nothing scripted)", pin);
  return mode == INPUT_PULLUP ? HIGH : LOW;
}

void digitalWrite(uint8_t pin, uint8_t value) {
  mock::init_pins();
  if (mock::g_pin_mode[pin] != OUTPUT) mock::warn("digitalWrite(%u): the pin is not an OUTPUT", pin);
  mock::g_digital[pin] = value ? HIGH : LOW;
}

int analogRead(uint8_t pin) {
  mock::init_pins();
  if (mock::g_pin_mode[pin] == OUTPUT) mock::warn("analogRead(%u): the pin is an OUTPUT", pin);
  return mock::g_analog[pin];
}

void HardwareSerial::begin(unsigned long baud) {
  baud_ = baud;
  mock::g_serial_begun = true;
}

int HardwareSerial::available() {
  mock::poll_stdin();
  return static_cast<int>(mock::g_rx.size());
}

int HardwareSerial::read() {
  if (!mock::g_serial_begun) mock::warn("Serial.read() before Serial.begin()");
  mock::poll_stdin();
  if (mock::g_rx.empty()) return -1;
  int c = mock::g_rx.front();
  mock::g_rx.pop_front();
  return c;
}

int HardwareSerial::peek() {
  mock::poll_stdin();
  return mock::g_rx.empty() ? -1 : mock::g_rx.front();
}

int HardwareSerial::availableForWrite() { return 64; }

size_t HardwareSerial::write(uint8_t byte) { return write(&byte, 1); }

size_t HardwareSerial::write(const uint8_t *buffer, size_t size) {
  if (!mock::g_serial_begun) mock::warn("Serial.write() before Serial.begin()");
  if (mock::g_host_on) {
    fwrite(buffer, 1, size, stdout);
    if (mock::g_realtime) fflush(stdout);
    mock::g_written += size;
  } else {
    mock::g_lost += size;
  }
  return size;
}

void HardwareSerial::flush() { fflush(stdout); }

// ---- Adafruit BNO055 -----------------------------------------------------------------
Adafruit_BNO055::Adafruit_BNO055(int32_t sensorID, uint8_t address, TwoWire *theWire)
    : sensor_id_(sensorID), address_(address), wire_(theWire) {}

bool Adafruit_BNO055::begin(adafruit_bno055_opmode_t mode) {
  if (wire_ == nullptr || !wire_->began()) mock::warn("Adafruit_BNO055::begin() before Wire.begin()");
  if (!mock::imu.present || address_ != BNO055_ADDRESS_A) {
    delay(1000);  // the library waits for the chip id once more before giving up
    return false;
  }
  delay(50);  // reset and mode switches (the real library waits longer)
  began_ = true;
  setMode(mode);
  return true;
}

void Adafruit_BNO055::setMode(adafruit_bno055_opmode_t mode) {
  mode_ = mode;
  delay(30);
}

void Adafruit_BNO055::setExtCrystalUse(boolean usextal) {
  (void)usextal;
  if (!began_) mock::warn("Adafruit_BNO055::setExtCrystalUse() before a successful begin()");
  delay(10);
}

void Adafruit_BNO055::getCalibration(uint8_t *system, uint8_t *gyro, uint8_t *accel, uint8_t *mag) {
  if (!began_) mock::warn("Adafruit_BNO055::getCalibration() before a successful begin()");
  bool ok = began_ && mock::imu.present;
  if (system) *system = ok ? mock::imu.calib[0] : 0;
  if (gyro) *gyro = ok ? mock::imu.calib[1] : 0;
  if (accel) *accel = ok ? mock::imu.calib[2] : 0;
  if (mag) *mag = ok ? mock::imu.calib[3] : 0;
}

bool Adafruit_BNO055::isFullyCalibrated() {
  uint8_t s, g, a, m;
  getCalibration(&s, &g, &a, &m);
  return s == 3 && g == 3 && a == 3 && m == 3;
}

imu::Quaternion Adafruit_BNO055::getQuat() {
  if (!began_) mock::warn("Adafruit_BNO055::getQuat() before a successful begin()");
  int16_t raw[4] = {0, 0, 0, 0};  // an absent chip reads as zeros, like a failed I2C read
  if (began_ && mock::imu.present) {
    for (int i = 0; i < 4; i++) {
      double v = round(mock::imu.quat[i] * 16384.0);
      raw[i] = static_cast<int16_t>(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
    }
  }
  const double scale = 1.0 / (1 << 14);
  return imu::Quaternion(scale * raw[0], scale * raw[1], scale * raw[2], scale * raw[3]);
}
