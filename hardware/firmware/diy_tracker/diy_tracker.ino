// DIY tracked probe and needle: reference firmware for the open DIY protocol v1
// (hardware/PROTOCOL.md). ESP32 or Arduino + BNO055 IMU (probe orientation),
// slide potentiometer (needle depth), three buttons. Wiring: hardware/WIRING.md.
//
// Every 10 ms (100 Hz) it sends: ORIENTATION (tool 0, probe; only once the IMU's
// fusion gives a unit quaternion), DEPTH (tool 1, needle), BUTTONS on a debounced
// change, with every HEARTBEAT and after REQUEST_IDENTITY; HEARTBEAT every second;
// IDENTITY at boot, every 5 s and at the next tick after the host sends
// REQUEST_IDENTITY. Little-endian, CRC-16/CCITT-FALSE. Ticks missed while the loop
// was blocked are skipped, not sent in a burst. Works across the micros() wrap.
//
// Libraries: Adafruit BNO055 (1.5 or newer), Adafruit Unified Sensor (Library Manager).
// Host build and tests without a board: hardware/firmware/host/README.md.

#include <Wire.h>
#include <Adafruit_Sensor.h>
#include <Adafruit_BNO055.h>

// ---- configuration -----------------------------------------------------------
#if defined(ARDUINO_ARCH_ESP32)
const int PIN_DEPTH = 34;
const int PIN_INJECT = 25, PIN_FREEZE = 26, PIN_ASPIRATE = 27;
const int ADC_MAX = 4095;
#else
const int PIN_DEPTH = A0;
const int PIN_INJECT = 2, PIN_FREEZE = 3, PIN_ASPIRATE = 4;
const int ADC_MAX = 1023;
#endif
const float DEPTH_FULL_MM = 100.0f;   // slide travel
const int DEPTH_ADC_AT_0 = 0;         // calibrate: ADC reading with the needle out
const int DEPTH_ADC_AT_FULL = ADC_MAX;  // ... and fully in
const uint32_t PERIOD_US = 10000;     // 100 Hz
const uint32_t HEARTBEAT_US = 1000000UL, IDENTITY_US = 5000000UL;
const uint8_t DEBOUNCE_TICKS = 2;     // a button state counts once read alike on 2 ticks (20 ms)
const float QUAT_NORM_TOLERANCE = 0.01f;  // the host rejects |q| outside 1 +- 0.01

// ---- protocol constants (PROTOCOL.md) -----------------------------------------
const uint8_t SYNC0 = 0xA5, SYNC1 = 0x5A, VERSION = 1;
enum : uint8_t {
  MSG_POSE = 0x01, MSG_ORIENTATION = 0x02, MSG_DEPTH = 0x03, MSG_BUTTONS = 0x04,
  MSG_IDENTITY = 0x05, MSG_HEARTBEAT = 0x06, MSG_ERROR = 0x07, MSG_REQUEST_IDENTITY = 0x10
};
const uint8_t TOOL_PROBE = 0, TOOL_NEEDLE = 1, TOOL_DEVICE = 0xFF;
const uint8_t MAX_PAYLOAD = 128;

Adafruit_BNO055 bno(55, 0x28, &Wire);
bool imuOk = false;
uint16_t seq = 0;
uint16_t sentButtons = 0, readButtons = 0;
uint8_t stableTicks = 0;
bool buttonsDue = true;      // send BUTTONS at the next tick
bool identityDue = true;     // send IDENTITY at the next tick (boot, host request)
uint32_t nextTick = 0, nextHeartbeat = 0, nextIdentity = 0;

// true once `now` has reached `deadline` (modulo 2^32: valid across the micros() wrap
// for deadlines less than 35 min away)
bool reached(uint32_t now, uint32_t deadline) { return (int32_t)(now - deadline) >= 0; }

// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no xorout ("123456789" -> 0x29B1)
uint16_t crc16(const uint8_t *p, size_t n, uint16_t crc = 0xFFFF) {
  while (n--) {
    crc ^= (uint16_t)(*p++) << 8;
    for (uint8_t i = 0; i < 8; i++) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  }
  return crc;
}

// little-endian writers (the ESP32 and AVR are little-endian, but be explicit)
size_t putU16(uint8_t *b, uint16_t v) { b[0] = v & 0xFF; b[1] = v >> 8; return 2; }
size_t putU32(uint8_t *b, uint32_t v) { for (int i = 0; i < 4; i++) b[i] = (v >> (8 * i)) & 0xFF; return 4; }
size_t putF32(uint8_t *b, float f) { uint32_t v; memcpy(&v, &f, 4); return putU32(b, v); }
size_t putText(uint8_t *b, const char *s) { uint8_t n = strlen(s); b[0] = n; memcpy(b + 1, s, n); return 1 + n; }

void sendFrame(uint8_t type, uint8_t tool, uint32_t tUs, const uint8_t *payload, uint8_t n) {
  uint8_t frame[12 + MAX_PAYLOAD + 2];
  size_t i = 0;
  frame[i++] = SYNC0; frame[i++] = SYNC1;
  frame[i++] = VERSION; frame[i++] = type; frame[i++] = tool;
  i += putU16(frame + i, seq++);
  i += putU32(frame + i, tUs);
  frame[i++] = n;
  memcpy(frame + i, payload, n); i += n;
  i += putU16(frame + i, crc16(frame + 2, i - 2));  // CRC over version .. payload
  Serial.write(frame, i);
}

void sendIdentity(uint32_t tUs) {
  uint8_t p[MAX_PAYLOAD]; size_t n = 0;
  n += putText(p + n, "DIY rig BNO055");
  n += putText(p + n, "1.0.0");
  p[n++] = 2;                                        // two tools
  p[n++] = TOOL_PROBE;  p[n++] = 0; p[n++] = 1;      // probe, kind probe, orientation only
  n += putText(p + n, "probe");
  p[n++] = TOOL_NEEDLE; p[n++] = 1; p[n++] = 0;      // needle, kind needle
  n += putText(p + n, "needle");
  sendFrame(MSG_IDENTITY, TOOL_DEVICE, tUs, p, n);
}

void sendError(uint32_t tUs, uint8_t code, const char *text) {
  uint8_t p[MAX_PAYLOAD]; size_t n = 0;
  p[n++] = code;
  size_t len = min(strlen(text), (size_t)(MAX_PAYLOAD - 1));
  memcpy(p + n, text, len); n += len;
  sendFrame(MSG_ERROR, TOOL_DEVICE, tUs, p, n);
}

// Host commands: find REQUEST_IDENTITY frames (sync, header, CRC) in the input. As the
// host's decoder does, a candidate that fails skips ONE byte and the hunt goes on, so a
// request right after a truncated or damaged one is still found.
const uint8_t REQUEST_SIZE = 14;  // a zero-payload frame
uint8_t hostBuf[REQUEST_SIZE];
uint8_t hostLen = 0;

bool hostRequestValid() {
  uint16_t crc = hostBuf[12] | (hostBuf[13] << 8);
  return hostBuf[1] == SYNC1 && hostBuf[2] == VERSION && hostBuf[3] == MSG_REQUEST_IDENTITY &&
         hostBuf[11] == 0 && crc == crc16(hostBuf + 2, REQUEST_SIZE - 4);
}

// drop the first byte and everything up to the next SYNC0
void hostSkip() {
  uint8_t from = 1;
  while (from < hostLen && hostBuf[from] != SYNC0) from++;
  memmove(hostBuf, hostBuf + from, hostLen - from);
  hostLen -= from;
}

void pollHost() {
  while (Serial.available() > 0) {
    int c = Serial.read();
    if (c < 0) break;
    if (hostLen == 0 && c != SYNC0) continue;
    hostBuf[hostLen++] = (uint8_t)c;
    while (hostLen >= 2 && hostBuf[1] != SYNC1) hostSkip();
    if (hostLen == REQUEST_SIZE) {
      if (hostRequestValid()) {
        identityDue = true;  // answer at the next tick
        buttonsDue = true;   // a host that (re)connects learns the buttons held
        hostLen = 0;
      } else {
        hostSkip();
      }
    }
  }
}

void setup() {
  Serial.begin(115200);
  pinMode(PIN_INJECT, INPUT_PULLUP);
  pinMode(PIN_FREEZE, INPUT_PULLUP);
  pinMode(PIN_ASPIRATE, INPUT_PULLUP);
  Wire.begin();
  imuOk = bno.begin(OPERATION_MODE_NDOF);
  if (imuOk) bno.setExtCrystalUse(true);
  nextTick = nextHeartbeat = nextIdentity = micros();
}

// advance a periodic deadline by one period; after a stall, restart it from now
// instead of firing once per missed period
void nextPeriod(uint32_t &deadline, uint32_t period, uint32_t now) {
  deadline += period;
  if (reached(now, deadline)) deadline = now + period;
}

void loop() {
  pollHost();
  uint32_t now = micros();
  if (!reached(now, nextTick)) return;
  nextPeriod(nextTick, PERIOD_US, now);
  uint8_t p[32];

  if (identityDue || reached(now, nextIdentity)) {
    sendIdentity(now);
    identityDue = false;
    if (reached(now, nextIdentity)) nextPeriod(nextIdentity, IDENTITY_US, now);
  }
  if (reached(now, nextHeartbeat)) {
    p[0] = imuOk ? 0 : 1;
    sendFrame(MSG_HEARTBEAT, TOOL_DEVICE, now, p, 1);
    if (!imuOk) sendError(now, 1, "BNO055 not found on I2C 0x28");
    buttonsDue = true;  // the buttons held, once a second, for a host that missed a change
    nextPeriod(nextHeartbeat, HEARTBEAT_US, now);
  }

  // probe orientation (quaternion w, x, y, z) + calibration status. Right after
  // power-up (and on an I2C error) the BNO055 reads all zeros: send nothing rather
  // than a quaternion the host must reject.
  if (imuOk) {
    imu::Quaternion q = bno.getQuat();
    float qw = q.w(), qx = q.x(), qy = q.y(), qz = q.z();
    float norm = sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
    if (fabs(norm - 1.0f) <= QUAT_NORM_TOLERANCE) {
      uint8_t sys, gyro, accel, mag;
      bno.getCalibration(&sys, &gyro, &accel, &mag);
      size_t n = 0;
      n += putF32(p + n, qw / norm); n += putF32(p + n, qx / norm);
      n += putF32(p + n, qy / norm); n += putF32(p + n, qz / norm);
      p[n++] = ((sys & 3) << 6) | ((gyro & 3) << 4) | ((accel & 3) << 2) | (mag & 3);
      sendFrame(MSG_ORIENTATION, TOOL_PROBE, now, p, n);
    }
  }

  // needle insertion depth from the slide potentiometer
  int raw = analogRead(PIN_DEPTH);
  float depth = DEPTH_FULL_MM * (float)(raw - DEPTH_ADC_AT_0) / (float)(DEPTH_ADC_AT_FULL - DEPTH_ADC_AT_0);
  depth = constrain(depth, 0.0f, DEPTH_FULL_MM);
  putF32(p, depth);
  sendFrame(MSG_DEPTH, TOOL_NEEDLE, now, p, 4);

  // buttons (active low), debounced: a new state counts once read alike on
  // DEBOUNCE_TICKS ticks in a row; sent on change and when due (heartbeat, request)
  uint16_t buttons = (digitalRead(PIN_INJECT) == LOW ? 1 : 0) |
                     (digitalRead(PIN_FREEZE) == LOW ? 2 : 0) |
                     (digitalRead(PIN_ASPIRATE) == LOW ? 4 : 0);
  if (buttons != readButtons) { readButtons = buttons; stableTicks = 0; }
  if (stableTicks < DEBOUNCE_TICKS) stableTicks++;
  if (stableTicks >= DEBOUNCE_TICKS && readButtons != sentButtons) {
    sentButtons = readButtons;
    buttonsDue = true;
  }
  if (buttonsDue && stableTicks >= DEBOUNCE_TICKS) {  // not before the state is known
    putU16(p, sentButtons);
    sendFrame(MSG_BUTTONS, TOOL_NEEDLE, now, p, 2);
    buttonsDue = false;
  }
}
