// Host mock of the Adafruit BNO055 library's imu::Quaternion (utility/quaternion.h):
// the accessors and norm a sketch uses.
#pragma once

#include <math.h>

namespace imu {

class Quaternion {
 public:
  Quaternion() : w_(1.0), x_(0.0), y_(0.0), z_(0.0) {}
  Quaternion(double w, double x, double y, double z) : w_(w), x_(x), y_(y), z_(z) {}
  double &w() { return w_; }
  double &x() { return x_; }
  double &y() { return y_; }
  double &z() { return z_; }
  double w() const { return w_; }
  double x() const { return x_; }
  double y() const { return y_; }
  double z() const { return z_; }
  double magnitude() const { return sqrt(w_ * w_ + x_ * x_ + y_ * y_ + z_ * z_); }
  void normalize() {
    double m = magnitude();
    w_ /= m; x_ /= m; y_ /= m; z_ /= m;
  }

 private:
  double w_, x_, y_, z_;
};

}  // namespace imu
