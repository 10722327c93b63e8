{
  "targets": [
    {
      "target_name": "anemll_quant",
      "sources": ["quant/addon.c", "quant/kernel.c"],
      "cflags": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Wextra"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-fast-math"]
      }
    },
    {
      "target_name": "anemll_kernels",
      "sources": ["kernels/addon.c", "kernels/gemm.c", "kernels/avx2.c", "kernels/pool.c", "kernels/elementwise.c"],
      "cflags": ["-O3", "-std=gnu11", "-pthread", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Wextra"],
      "libraries": ["-lm", "-ldl", "-pthread"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-fast-math"]
      }
    }
  ]
}
