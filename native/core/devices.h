// Accelerators visible to the engine. The CUDA build reports the GPUs it finds; the CPU-only build,
// or a machine without a driver, reports none, and training runs on the CPU backend.
#pragma once

#include <string>
#include <vector>

namespace nasx {

struct DeviceInfo {
  std::string name;
  double memory_gib = 0;
  int major = 0, minor = 0;
};

// Never throws: a missing driver or runtime yields an empty list and a reason in `why_none`.
std::vector<DeviceInfo> cuda_devices(std::string* why_none);

}  // namespace nasx
