// Host mock of the Arduino Wire (I2C) library: the bus itself is not simulated; the
// device mocks (Adafruit_BNO055.h) answer directly.
#pragma once

#include "Arduino.h"

class TwoWire {
 public:
  void begin() { began_ = true; }
  void begin(int sda, int scl) { (void)sda; (void)scl; began_ = true; }
  void setClock(uint32_t hz) { clock_hz_ = hz; }
  bool began() const { return began_; }

 private:
  bool began_ = false;
  uint32_t clock_hz_ = 100000;
};

extern TwoWire Wire;
