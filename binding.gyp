{
  "targets": [
    {
      "target_name": "nasx",
      "sources": [
        "native/core/parallel.cc",
        "native/core/memory.cc",
        "native/core/data_store.cc",
        "native/core/plan.cc",
        "native/core/network.cc",
        "native/core/loss.cc",
        "native/core/optimizer.cc",
        "native/core/trainer.cc",
        "native/core/proxies.cc",
        "native/core/inherit.cc",
        "native/core/mcts.cc",
        "native/cpu/gemm.cc",
        "native/cpu/gemm_avx512.cc",
        "native/cpu/gemm_avx2.cc",
        "native/cpu/gemm_portable.cc",
        "native/cpu/conv.cc",
        "native/cpu/elementwise.cc",
        "native/cpu/peak.cc",
        "native/cpu/cpu_backend.cc",
        "native/cuda/cuda_devices_stub.cc",
        "native/binding/addon.cc",
        "native/binding/convert.cc",
        "native/binding/engine_thread.cc",
        "native/binding/mcts_binding.cc"
      ],
      "include_dirs": ["native"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++14"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } }
    }
  ]
}
