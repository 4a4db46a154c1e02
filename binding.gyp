{
  "variables": {
    # imaged_rbd (native/rbd.cc) is built only where the librbd/librados C
    # headers are installed (Debian: librbd-dev librados-dev); imaged_native
    # never depends on them.
    "imaged_have_librbd%": "<!(test -f /usr/include/rbd/librbd.h && test -f /usr/include/rados/librados.h && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "imaged_native",
      "sources": ["native/addon.cc", "native/socket_io.cc", "native/memory.cc", "native/chunked.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=9", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall"]
    }
  ],
  "conditions": [
    ["imaged_have_librbd==1", {
      "targets": [
        {
          "target_name": "imaged_rbd",
          "sources": ["native/rbd.cc"],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
          "defines": ["NAPI_VERSION=9", "NAPI_DISABLE_CPP_EXCEPTIONS"],
          "cflags_cc": ["-std=c++17", "-O2", "-Wall"],
          "libraries": ["-lrados", "-lrbd"]
        }
      ]
    }]
  ]
}
