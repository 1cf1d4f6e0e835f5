// Host mock of the Adafruit Unified Sensor base class (only what Adafruit_BNO055.h needs).
#pragma once

#include "Arduino.h"

class Adafruit_Sensor {
 public:
  virtual ~Adafruit_Sensor() = default;
};
