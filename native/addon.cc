// imaged_native module init. Each native module registers its exports through
// an XxxInit(env, exports) call below; keep this a flat list.
#include <napi.h>

#include "chunked.h"
#include "memory.h"
#include "socket_io.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  SocketIoInit(env, exports);
  MemoryInit(env, exports);
  ChunkedInit(env, exports);
  return exports;
}

NODE_API_MODULE(imaged_native, Init)
