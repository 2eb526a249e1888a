// Built when the addon is compiled without CUDA.
#include "../core/devices.h"

namespace nasx {

std::vector<DeviceInfo> cuda_devices(std::string* why_none) {
  if (why_none) *why_none = "nasx was built without CUDA (no CUDA compiler found, or NASX_CUDA=OFF)";
  return {};
}

}  // namespace nasx
