// A data set the engine owns. Training reads its splits for minutes from other threads, so it never
// reads memory it does not own: the caller's arrays (JavaScript typed arrays, which can be detached or
// transferred at any time) are copied once into a DataStore, shared by every job that uses it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "trainer.h"

namespace nasx {

class DataStore {
 public:
  // Copies the splits `view` points at (the pointers need only be valid during the call). Throws
  // CoreError("out_of_memory", ...) naming the size when the copy cannot fit the memory available.
  static std::shared_ptr<const DataStore> copy(const TrainData& view);

  // The copy, as a TrainData whose pointers stay valid as long as this store lives.
  const TrainData& data() const { return data_; }
  std::int64_t bytes() const { return bytes_; }

  // Bytes a copy of `view` takes.
  static std::int64_t bytes_for(const TrainData& view);

 private:
  struct Split {
    std::vector<float> x, targets;
    std::vector<std::int32_t> labels;
  };
  void take(const DataSplit& from, Split& into, DataSplit& view, std::int64_t features, int outputs, Task task);

  TrainData data_;
  Split train_, validation_, test_;
  std::int64_t bytes_ = 0;
};

}  // namespace nasx
