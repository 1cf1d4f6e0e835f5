// Host mock of the Adafruit BNO055 library (API of version >= 1.5: the operation modes
// are at namespace scope). The "chip" is the scripted state of mock_core.h: present or
// absent on the bus, the fused quaternion (quantised to the chip's 14-bit fixed point,
// as getQuat() reads it) and the CALIB_STAT levels.
#pragma once

#include "Arduino.h"
#include <Wire.h>
#include <Adafruit_Sensor.h>
#include "utility/imumaths.h"

#define BNO055_ADDRESS_A (0x28)
#define BNO055_ADDRESS_B (0x29)
#define BNO055_ID (0xA0)

typedef enum {
  OPERATION_MODE_CONFIG = 0X00,
  OPERATION_MODE_ACCONLY = 0X01,
  OPERATION_MODE_MAGONLY = 0X02,
  OPERATION_MODE_GYRONLY = 0X03,
  OPERATION_MODE_ACCMAG = 0X04,
  OPERATION_MODE_ACCGYRO = 0X05,
  OPERATION_MODE_MAGGYRO = 0X06,
  OPERATION_MODE_AMG = 0X07,
  OPERATION_MODE_IMUPLUS = 0X08,
  OPERATION_MODE_COMPASS = 0X09,
  OPERATION_MODE_M4G = 0X0A,
  OPERATION_MODE_NDOF_FMC_OFF = 0X0B,
  OPERATION_MODE_NDOF = 0X0C
} adafruit_bno055_opmode_t;

class Adafruit_BNO055 : public Adafruit_Sensor {
 public:
  Adafruit_BNO055(int32_t sensorID = -1, uint8_t address = BNO055_ADDRESS_A, TwoWire *theWire = &Wire);
  bool begin(adafruit_bno055_opmode_t mode = OPERATION_MODE_NDOF);
  void setMode(adafruit_bno055_opmode_t mode);
  adafruit_bno055_opmode_t getMode() { return mode_; }
  void setExtCrystalUse(boolean usextal);
  void getCalibration(uint8_t *system, uint8_t *gyro, uint8_t *accel, uint8_t *mag);
  bool isFullyCalibrated();
  imu::Quaternion getQuat();

 private:
  int32_t sensor_id_;
  uint8_t address_;
  TwoWire *wire_;
  bool began_ = false;
  adafruit_bno055_opmode_t mode_ = OPERATION_MODE_CONFIG;
};
