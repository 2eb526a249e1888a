#include "data_store.h"

#include <algorithm>
#include <new>

#include "memory.h"

namespace nasx {

namespace {

std::int64_t split_bytes(const DataSplit& s, std::int64_t features, int outputs, Task task) {
  if (s.count <= 0) return 0;
  const std::int64_t y = task == Task::Classification ? 4 : static_cast<std::int64_t>(outputs) * 4;
  return s.count * (features * 4 + y);
}

}  // namespace

std::int64_t DataStore::bytes_for(const TrainData& v) {
  const std::int64_t f = v.input.size();
  return split_bytes(v.train, f, v.output_size, v.task) + split_bytes(v.validation, f, v.output_size, v.task) +
         split_bytes(v.test, f, v.output_size, v.task);
}

void DataStore::take(const DataSplit& from, Split& into, DataSplit& view, std::int64_t features, int outputs, Task task) {
  view = DataSplit{};
  if (from.count <= 0) return;
  view.count = from.count;
  into.x.assign(from.x, from.x + from.count * features);
  view.x = into.x.data();
  if (task == Task::Classification) {
    into.labels.assign(from.labels, from.labels + from.count);
    view.labels = into.labels.data();
  } else {
    into.targets.assign(from.targets, from.targets + from.count * outputs);
    view.targets = into.targets.data();
  }
}

std::shared_ptr<const DataStore> DataStore::copy(const TrainData& view) {
  const std::int64_t bytes = bytes_for(view);
  const std::int64_t room = available_memory_bytes();
  const auto too_big = [&] {
    return CoreError("out_of_memory", "copying the data set for the engine needs " + format_bytes(bytes) + " (" + std::to_string(bytes) +
                                          " bytes), more than the " + format_bytes(room) + " of memory available");
  };
  if (bytes > room) throw too_big();
  try {
    auto store = std::shared_ptr<DataStore>(new DataStore());
    store->data_ = view;
    const std::int64_t f = view.input.size();
    store->take(view.train, store->train_, store->data_.train, f, view.output_size, view.task);
    store->take(view.validation, store->validation_, store->data_.validation, f, view.output_size, view.task);
    store->take(view.test, store->test_, store->data_.test, f, view.output_size, view.task);
    store->bytes_ = bytes;
    return store;
  } catch (const std::bad_alloc&) {
    throw too_big();
  }
}

}  // namespace nasx
