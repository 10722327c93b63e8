{
  "targets": [
    {
      "target_name": "anemll_quant",
      "sources": ["quant/addon.c", "quant/kernel.c"],
      "cflags": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Wextra"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-fast-math"]
      }
    }
  ]
}
