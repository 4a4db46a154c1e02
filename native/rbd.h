// librados/librbd bindings (C API only), built as the separate imaged_rbd
// addon when librbd-dev/librados-dev are installed. Every call that can block
// runs off the event loop: management calls on the libuv threadpool
// (Napi::AsyncWorker), image I/O as rbd_aio_* whose completions (librbd
// threads) are handed back to the loop through one uv_async_t per env.
#pragma once
#include <napi.h>

// Registers the rbd* functions on `exports` (see the table in rbd.cc).
void RbdInit(Napi::Env env, Napi::Object exports);
