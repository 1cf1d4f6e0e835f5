// Host mock of the Arduino core: just what hardware/firmware sketches use, so a
// sketch compiles with g++ on a PC and runs against scripted inputs (mock_core.h).
// Not an emulator of any board: time is simulated (or wall-clock with --realtime),
// pins hold scripted values, Serial writes the bytes to stdout.
#pragma once

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef bool boolean;
typedef uint8_t byte;

#define HIGH 0x1
#define LOW 0x0
#define INPUT 0x0
#define OUTPUT 0x1
#define INPUT_PULLUP 0x2

// Analog pin numbers of an Arduino Uno / Nano (A0 = 14).
static const uint8_t A0 = 14, A1 = 15, A2 = 16, A3 = 17, A4 = 18, A5 = 19, A6 = 20, A7 = 21;

uint32_t micros();
uint32_t millis();
void delay(uint32_t ms);
void delayMicroseconds(uint32_t us);
void pinMode(uint8_t pin, uint8_t mode);
int digitalRead(uint8_t pin);
void digitalWrite(uint8_t pin, uint8_t value);
int analogRead(uint8_t pin);
void yield();

// The ESP32 core takes min/max from <algorithm> (same-type arguments): be as strict.
template <class T> constexpr T min(T a, T b) { return b < a ? b : a; }
template <class T> constexpr T max(T a, T b) { return a < b ? b : a; }
template <class T> constexpr T constrain(T x, T lo, T hi) { return x < lo ? lo : (hi < x ? hi : x); }

// Serial port: bytes written go to stdout (while a host is "connected"); bytes read come
// from the script's `rx` events and from stdin (non-blocking).
class HardwareSerial {
 public:
  void begin(unsigned long baud);
  void end() {}
  int available();
  int read();
  int peek();
  int availableForWrite();
  size_t write(uint8_t byte);
  size_t write(const uint8_t *buffer, size_t size);
  size_t write(const char *text) { return write(reinterpret_cast<const uint8_t *>(text), strlen(text)); }
  void flush();
  explicit operator bool() const { return true; }
  unsigned long baud() const { return baud_; }

 private:
  unsigned long baud_ = 0;
};

extern HardwareSerial Serial;

void setup();
void loop();
