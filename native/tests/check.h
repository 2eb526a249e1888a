// A minimal test harness for the standalone native test programs: CHECK macros that count, report
// file:line on failure, and a summary line "<suite>: N passed, N failed".
#pragma once

#include <cstdio>
#include <string>

namespace nasx::testing {

inline int& passed() {
  static int n = 0;
  return n;
}
inline int& failed() {
  static int n = 0;
  return n;
}

inline bool check(bool ok, const char* what, const char* file, int line, const std::string& detail = "") {
  if (ok) {
    ++passed();
  } else {
    ++failed();
    if (failed() <= 50)
      std::fprintf(stderr, "%s:%d: CHECK failed: %s%s%s\n", file, line, what, detail.empty() ? "" : " — ", detail.c_str());
  }
  return ok;
}

inline int summary(const char* suite) {
  std::printf("%s: %d passed, %d failed\n", suite, passed(), failed());
  return failed() == 0 ? 0 : 1;
}

}  // namespace nasx::testing

#define CHECK(cond) ::nasx::testing::check((cond), #cond, __FILE__, __LINE__)
#define CHECK_MSG(cond, detail) ::nasx::testing::check((cond), #cond, __FILE__, __LINE__, (detail))
