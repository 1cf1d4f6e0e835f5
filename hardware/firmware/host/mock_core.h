// State of the host mock core (Arduino.h, Wire.h, Adafruit_BNO055.h) and the scripted
// events that drive it. Used by main.cpp; sketches never include it.
//
// Script: one event per line, `<t_ms> <what> <args...>`, `#` starts a comment; events
// apply in file order once the simulated time reaches t_ms (t_ms 0: before setup()).
//   <t_ms> quat <w> <x> <y> <z>          fused quaternion the BNO055 reports (quantised 2^-14)
//   <t_ms> calib <sys> <gyro> <accel> <mag>   CALIB_STAT levels, each 0..3
//   <t_ms> imu present|absent            BNO055 answering on I2C 0x28 (default present)
//   <t_ms> analog <pin> <adc>            raw ADC reading of a pin (A0..A7 or a number)
//   <t_ms> digital <pin> 0|1             level of an input pin (a pressed button to GND: 0)
//   <t_ms> rx <hex bytes...>             bytes the host sends (Serial receive buffer)
//   <t_ms> host on|off                   a host listening (on, default) or bytes lost (off)
//   <t_ms> stall <ms>                    the next loop() starts <ms> late (a blocking call)
#pragma once

#include <stdint.h>

#include <string>

namespace mock {

struct Imu {
  bool present = true;
  double quat[4] = {1.0, 0.0, 0.0, 0.0};  // w, x, y, z
  uint8_t calib[4] = {3, 3, 3, 3};        // system, gyro, accel, mag
};

extern Imu imu;

// Reads a script; on a malformed line prints "error: <file>:<line>: ..." and exits 2.
void load_script(const std::string &path);
// Applies the events due at simulated time `now_us` (64-bit, never wraps).
void apply_due_events(uint64_t now_us);
// Simulated time, us since power-up (64-bit); micros() is its low 32 bits.
uint64_t now_us();
void advance_us(uint64_t us);
void set_realtime(bool on);
// Pending stall (us) requested by the script; cleared by the call.
uint64_t take_stall_us();
// A misuse of the core by the sketch (read of an unconfigured pin, Serial before begin...).
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int warning_count();
uint64_t bytes_written();
uint64_t bytes_lost();

}  // namespace mock
