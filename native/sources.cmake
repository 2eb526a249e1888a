# The one list of native sources, shared by CMakeLists.txt and native/tests/CMakeLists.txt.
# binding.gyp lists the same files (CPU only); test/build.test.ts checks that the two agree.
set(_nasx_native ${CMAKE_CURRENT_LIST_DIR})
set(NASX_CORE_SOURCES
  ${_nasx_native}/core/parallel.cc
  ${_nasx_native}/core/memory.cc
  ${_nasx_native}/core/data_store.cc
  ${_nasx_native}/core/plan.cc
  ${_nasx_native}/core/network.cc
  ${_nasx_native}/core/loss.cc
  ${_nasx_native}/core/optimizer.cc
  ${_nasx_native}/core/trainer.cc
  ${_nasx_native}/core/proxies.cc
  ${_nasx_native}/core/inherit.cc
  ${_nasx_native}/core/mcts.cc
)
set(NASX_CPU_SOURCES
  ${_nasx_native}/cpu/gemm.cc
  ${_nasx_native}/cpu/gemm_avx512.cc
  ${_nasx_native}/cpu/gemm_avx2.cc
  ${_nasx_native}/cpu/gemm_portable.cc
  ${_nasx_native}/cpu/conv.cc
  ${_nasx_native}/cpu/elementwise.cc
  ${_nasx_native}/cpu/peak.cc
  ${_nasx_native}/cpu/cpu_backend.cc
)
set(NASX_BINDING_SOURCES
  ${_nasx_native}/binding/addon.cc
  ${_nasx_native}/binding/convert.cc
  ${_nasx_native}/binding/engine_thread.cc
  ${_nasx_native}/binding/mcts_binding.cc
)
set(NASX_CUDA_SOURCES ${_nasx_native}/cuda/cuda_devices.cu)
set(NASX_CUDA_STUB_SOURCES ${_nasx_native}/cuda/cuda_devices_stub.cc)
